"""``digest_run``: one row per brand and local day, claimed before a scheduled digest is sent.

The unique key (brand, day) makes the send idempotent: a scheduler that runs twice, or two
workers racing, insert the same key and only one wins the claim.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from earful.store.types import utc_column


class DigestRun(SQLModel, table=True):
    __tablename__ = "digest_run"
    __table_args__ = (UniqueConstraint("brand", "day", name="uq_digest_run_brand_day"),)

    id: int | None = Field(default=None, primary_key=True)
    brand: str = Field(max_length=200)
    day: str = Field(max_length=10, description="local date YYYY-MM-DD in the brand's timezone")
    status: str = Field(default="sending", max_length=20)  # sending | sent | failed | no_recipients
    attempts: int = 0
    claimed_at: datetime = Field(sa_column=utc_column(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=utc_column())
    recipients: str | None = Field(default=None, sa_type=Text)
    error: str | None = Field(default=None, sa_type=Text)
    volume: int | None = None
