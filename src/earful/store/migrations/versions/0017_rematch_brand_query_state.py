"""rematch: brand_query_state (the fingerprint of each brand's matching config)

``earful run`` re-matches the stored mentions of a brand whose fingerprint changed
(``earful.run.rematch``). Its own branch off the baseline, as every feature's.

Revision ID: 0017_rematch
Revises: 0001
Create Date: 2026-12-04 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_rematch"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("rematch",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "brand_query_state",
        sa.Column("brand", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("brand"),
    )


def downgrade() -> None:
    op.drop_table("brand_query_state")
