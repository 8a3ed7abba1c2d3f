"""Core tables: sources (poll state and health), stories, mentions, brand links, snapshots.

Unique keys make every write idempotent: (kind, external_id) for mentions, canonical URL for
stories, (mention, brand) for brand links, (mention, at) for snapshots.
Datetimes are stored as UTC and read back timezone-aware (``store.types.UTCDateTime``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from earful.store.types import utc_column


class SourceState(SQLModel, table=True):
    """Poll state and health of one configured source (keyed by its config name)."""

    __tablename__ = "source_state"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=200)
    kind: str = Field(max_length=40)
    enabled: bool = True
    etag: str | None = Field(default=None, sa_type=Text)
    last_modified: str | None = Field(default=None, max_length=100)
    cursor: str | None = Field(default=None, sa_type=Text)
    next_poll_at: datetime | None = Field(default=None, sa_column=utc_column(index=True))
    last_polled_at: datetime | None = Field(default=None, sa_column=utc_column())
    last_ok_at: datetime | None = Field(default=None, sa_column=utc_column())
    last_error_at: datetime | None = Field(default=None, sa_column=utc_column())
    last_error: str | None = Field(default=None, sa_type=Text)
    last_error_reason: str | None = Field(default=None, max_length=40)
    consecutive_failures: int = 0
    disabled_reason: str | None = Field(default=None, sa_type=Text)
    # Fingerprint of the source's config when it was disabled (HTTP 410): an edited config
    # (new URL or parameters) enables it again without a manual step.
    disabled_config: str | None = Field(default=None, max_length=64)
    last_item_count: int | None = None
    last_new_count: int | None = None
    last_nonempty_at: datetime | None = Field(default=None, sa_column=utc_column())
    quota_left: int | None = None
    lock_until: datetime | None = Field(default=None, sa_column=utc_column())
    lock_owner: str | None = Field(default=None, max_length=100)


class Story(SQLModel, table=True):
    """One piece of content reachable by one canonical URL, whichever sources carried it."""

    __tablename__ = "story"

    id: int | None = Field(default=None, primary_key=True)
    canonical_url: str = Field(sa_type=Text, unique=True)
    first_seen_at: datetime = Field(sa_column=utc_column(nullable=False))


class MentionBase(SQLModel):
    source: str = Field(max_length=40)
    external_id: str = Field(max_length=500)
    source_name: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, sa_type=Text)
    title: str | None = Field(default=None, sa_type=Text)
    text: str = Field(default="", sa_type=Text)
    author: str | None = Field(default=None, max_length=500)
    author_followers: int | None = None
    language: str | None = Field(default=None, max_length=20)
    rating: float | None = None
    parent_id: str | None = Field(default=None, max_length=500)
    likes: int | None = None
    shares: int | None = None
    comments: int | None = None
    views: int | None = None
    # Sentiment: Earful's adjusted score, and stock VADER's compound kept beside it so the
    # adjustment stays visible and reversible.
    sentiment_neg: float = 0.0
    sentiment_neu: float = 0.0
    sentiment_pos: float = 0.0
    sentiment_compound: float = 0.0
    raw_compound: float = 0.0
    sentiment_label: str = Field(default="neutral", max_length=10)
    risk: float | None = None


class Mention(MentionBase, table=True):
    __tablename__ = "mention"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_mention_source_external_id"),
        Index("ix_mention_published_at", "published_at"),
        Index("ix_mention_story_id", "story_id"),
        Index("ix_mention_next_refresh_at", "next_refresh_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    story_id: int | None = Field(default=None, foreign_key="story.id")
    published_at: datetime | None = Field(default=None, sa_column=utc_column())
    fetched_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_at: datetime | None = Field(default=None, sa_column=utc_column())
    # Engagement tracking: when to re-poll this mention next (None: not tracked any more).
    next_refresh_at: datetime | None = Field(default=None, sa_column=utc_column())


class MentionPublic(MentionBase):
    id: int
    story_id: int | None
    published_at: datetime | None
    fetched_at: datetime
    brands: list[str] = []


class MentionBrand(SQLModel, table=True):
    """Which configured brands (or competitors) a mention matched, with denormalized day data
    so per-brand digests read one index range instead of joining the whole mention table."""

    __tablename__ = "mention_brand"
    __table_args__ = (Index("ix_mention_brand_brand_published", "brand", "published_at"),)

    mention_id: int = Field(foreign_key="mention.id", primary_key=True)
    brand: str = Field(primary_key=True, max_length=200)
    published_at: datetime = Field(sa_column=utc_column(nullable=False))
    is_competitor: bool = False


class EngagementSnapshot(SQLModel, table=True):
    """Cumulative engagement of one mention at one moment: the input of virality."""

    __tablename__ = "engagement_snapshot"
    __table_args__ = (
        UniqueConstraint("mention_id", "at", name="uq_snapshot_mention_at"),
        Index("ix_snapshot_mention_at", "mention_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    mention_id: int = Field(foreign_key="mention.id")
    at: datetime = Field(sa_column=utc_column(nullable=False))
    likes: int | None = None
    shares: int | None = None
    comments: int | None = None
    views: int | None = None
    author_followers: int | None = None
