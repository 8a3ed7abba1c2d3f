"""security: install_secret (the generated signing key, one row shared by every worker)

Revision ID: 0014
Revises: 0001
Create Date: 2026-12-02 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("security",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "install_secret",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("install_secret")
