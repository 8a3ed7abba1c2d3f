"""escalation: updates of an open escalation (the story's posts and sources; update rounds)

An open escalation follows its story: ``escalation.posts`` and ``escalation.sources`` hold the
story when last opened, raised or updated. A notification is unique per (escalation, level,
recipient, round): round 0 is the alert of the level, round n a throttled update in the n-th
``update_throttle`` window after it; ``risk`` and ``detail`` keep the moment it describes.

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-03 12:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("escalation") as batch:
        batch.add_column(sa.Column("posts", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("sources", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("notification") as batch:
        batch.add_column(sa.Column("round", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("risk", sa.Float(), nullable=True))
        batch.add_column(sa.Column("detail", sa.Text(), nullable=True))
        batch.drop_constraint("uq_notification_esc_lvl_to", type_="unique")
        batch.create_unique_constraint(
            "uq_notification_esc_lvl_to_round", ["escalation_id", "level", "recipient", "round"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM notification WHERE round > 0")
    with op.batch_alter_table("notification") as batch:
        batch.drop_constraint("uq_notification_esc_lvl_to_round", type_="unique")
        batch.create_unique_constraint(
            "uq_notification_esc_lvl_to", ["escalation_id", "level", "recipient"]
        )
        batch.drop_column("detail")
        batch.drop_column("risk")
        batch.drop_column("round")
    with op.batch_alter_table("escalation") as batch:
        batch.drop_column("sources")
        batch.drop_column("posts")
