"""What people say about a stored mention: corrections, triage status, tags, assignee, a note.

``mention_state`` holds the current annotation of a mention (one row, only once someone has
touched it); ``mention_edit`` logs every change with who and when. The stored mention itself —
its text, stock VADER compound and Earful's adjusted score — is never changed: a corrected
sentiment sits beside the computed one, and readers take ``effective_label``.

Statuses: ``new`` (default, no row), ``done``, ``irrelevant``, ``spam``. Irrelevant and spam
mentions are left out of digest volume, sentiment mix, share of voice and themes
(``earful.digest.queries`` applies ``EXCLUDED`` in one place).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, Session, SQLModel, col, select

from earful.errors import EarfulError
from earful.store.types import utc_column

logger = logging.getLogger(__name__)

STATUSES = ("new", "done", "irrelevant", "spam")
EXCLUDED = ("irrelevant", "spam")
LABELS = ("positive", "neutral", "negative")
FIELDS = ("status", "sentiment", "tags", "assignee", "note")


class AnnotationError(EarfulError):
    reason = "annotation"


class MentionState(SQLModel, table=True):
    """The current annotation of one mention."""

    __tablename__ = "mention_state"
    __table_args__ = (Index("ix_mention_state_status", "status"),)

    mention_id: int = Field(foreign_key="mention.id", primary_key=True)
    status: str = Field(default="new", max_length=20)
    sentiment: str | None = Field(default=None, max_length=10)  # a person's correction
    tags: str = Field(default="", max_length=500)  # comma-separated, lower case
    assignee: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, sa_type=Text)
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_by: str = Field(max_length=100)


class MentionEdit(SQLModel, table=True):
    """One change of one field of a mention's annotation."""

    __tablename__ = "mention_edit"
    __table_args__ = (Index("ix_mention_edit_mention_at", "mention_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    mention_id: int = Field(foreign_key="mention.id")
    at: datetime = Field(sa_column=utc_column(nullable=False))
    actor: str = Field(max_length=100)
    field: str = Field(max_length=20)
    old: str | None = Field(default=None, sa_type=Text)
    new: str | None = Field(default=None, sa_type=Text)


@dataclass(frozen=True, slots=True)
class Change:
    """Requested new values; ``None`` leaves a field as it is ("" clears it)."""

    status: str | None = None
    sentiment: str | None = None
    tags: str | None = None
    assignee: str | None = None
    note: str | None = None


def normalize_tags(raw: str) -> str:
    tags = [t.strip().casefold()[:40] for t in raw.replace(";", ",").split(",")]
    return ",".join(dict.fromkeys(t for t in tags if t))[:500]


def _validated(change: Change) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    if change.status is not None:
        if change.status not in STATUSES:
            raise AnnotationError(f"status must be one of {', '.join(STATUSES)}")
        out["status"] = change.status
    if change.sentiment is not None:
        if change.sentiment not in (*LABELS, ""):
            raise AnnotationError(f"sentiment must be one of {', '.join(LABELS)}")
        out["sentiment"] = change.sentiment or None
    if change.tags is not None:
        out["tags"] = normalize_tags(change.tags)
    if change.assignee is not None:
        out["assignee"] = change.assignee.strip()[:100] or None
    if change.note is not None:
        out["note"] = change.note.strip()[:5000] or None
    return out


def get_state(session: Session, mention_id: int) -> MentionState | None:
    return session.get(MentionState, mention_id)


def annotate(
    session: Session, mention_id: int, change: Change, *, actor: str, now: datetime
) -> list[MentionEdit]:
    """Apply ``change`` to the mention's annotation; returns the edits logged (only fields
    whose value changed)."""
    values = _validated(change)
    state = session.get(MentionState, mention_id)
    if state is None:
        state = MentionState(mention_id=mention_id, updated_at=now, updated_by=actor)
    edits: list[MentionEdit] = []
    for name, new in values.items():
        old = getattr(state, name)
        if (old or None) == (new or None):
            continue
        setattr(state, name, new if name != "tags" else (new or ""))
        edits.append(
            MentionEdit(mention_id=mention_id, at=now, actor=actor, field=name, old=old, new=new)
        )
    if not edits:
        return []
    state.updated_at, state.updated_by = now, actor
    session.add(state)
    session.add_all(edits)
    return edits


def edits_of(session: Session, mention_id: int) -> list[MentionEdit]:
    return list(
        session.exec(
            select(MentionEdit)
            .where(MentionEdit.mention_id == mention_id)
            .order_by(col(MentionEdit.at).desc(), col(MentionEdit.id).desc())
        ).all()
    )
