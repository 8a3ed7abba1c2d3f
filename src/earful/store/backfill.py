"""``backfill_progress``: how far a backfill of one source over one window has come.

One row per (source name, since): the connector's opaque cursor of the next page, the pages
and mentions so far, the oldest publication time reached, and whether the window is done. The
row is updated in the same transaction that stores a page's mentions, so an interrupted
backfill resumes at the first page it did not store — never re-reading stored pages, never
skipping one. Repository functions take the caller's session and never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, select

from earful.store.types import utc_column


class BackfillProgress(SQLModel, table=True):
    __tablename__ = "backfill_progress"
    __table_args__ = (UniqueConstraint("source", "since", name="uq_backfill_source_since"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=200)
    kind: str = Field(max_length=40)
    since: datetime = Field(sa_column=utc_column(nullable=False))
    until: datetime | None = Field(default=None, sa_column=utc_column())
    cursor: str | None = Field(default=None, sa_type=Text)
    pages: int = 0
    fetched: int = 0
    new: int = 0
    oldest_at: datetime | None = Field(default=None, sa_column=utc_column())
    done: bool = False
    started_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))
    last_error: str | None = Field(default=None, sa_type=Text)


def get_progress(session: Session, *, source: str, since: datetime) -> BackfillProgress | None:
    return session.exec(
        select(BackfillProgress).where(
            BackfillProgress.source == source, BackfillProgress.since == since
        )
    ).first()


def start_progress(
    session: Session,
    *,
    source: str,
    kind: str,
    since: datetime,
    until: datetime | None,
    now: datetime,
    restart: bool = False,
) -> BackfillProgress:
    """The progress row of (source, since), created when new; ``restart`` (or a different
    ``until``) starts it again from the newest page."""
    row = get_progress(session, source=source, since=since)
    if row is None:
        row = BackfillProgress(
            source=source, kind=kind, since=since, until=until, started_at=now, updated_at=now
        )
    elif restart or row.until != until:
        row.until, row.cursor, row.done, row.last_error = until, None, False, None
        row.pages = row.fetched = row.new = 0
        row.oldest_at = None
        row.started_at = row.updated_at = now
    session.add(row)
    session.flush()
    return row
