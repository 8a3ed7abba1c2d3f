"""escalation: at most one active (open or acknowledged) escalation per (brand, incident)

A partial unique index, so two workers that judge the same incident at once cannot both open
an escalation: the second insert fails and that worker raises the first one instead.

Revision ID: 0013
Revises: 0002
Create Date: 2026-12-02 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = sa.text("status IN ('open', 'acknowledged')")


def upgrade() -> None:
    # Races before this index could leave several active escalations for one incident: keep
    # the earliest, close the others as merged into it.
    op.execute(
        """
        UPDATE escalation SET status = 'resolved', resolved_at = opened_at,
            sla_due_at = NULL, note = 'merged into the earliest escalation of its incident'
        WHERE status IN ('open', 'acknowledged') AND EXISTS (
            SELECT 1 FROM escalation AS first
            WHERE first.brand = escalation.brand
              AND first.incident_key = escalation.incident_key
              AND first.status IN ('open', 'acknowledged')
              AND first.id < escalation.id
        )
        """
    )
    op.create_index(
        "uq_escalation_active_incident",
        "escalation",
        ["brand", "incident_key"],
        unique=True,
        postgresql_where=_ACTIVE,
        sqlite_where=_ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_escalation_active_incident", table_name="escalation")
