"""The API's request and response bodies (pydantic), so ``/openapi.json`` describes them.

Outputs are built from the store's rows by the ``*_out`` functions here; routes never shape
JSON by hand. Datetimes are UTC ISO 8601 (``2025-03-11T14:00:00Z``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from earful.digest.data import safe_link
from earful.escalation.lifecycle import escalation_to_dict
from earful.store.escalations import Escalation, EscalationEvent
from earful.store.inbox import InboxRow

Label = Literal["positive", "neutral", "negative"]
Status = Literal["new", "irrelevant", "spam", "done"]


class ErrorDetail(BaseModel):
    code: str = Field(description="short slug: unauthorized, forbidden, not_found, validation…")
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


class SentimentOut(BaseModel):
    label: str = Field(description="effective label: a person's correction, else the computed")
    compound: float = Field(description="Earful's adjusted VADER compound")
    raw_compound: float = Field(description="stock VADER compound")
    corrected: bool = Field(description="whether a person corrected the label")


class MentionOut(BaseModel):
    id: int
    source: str
    external_id: str
    url: str | None = Field(description="absolute http(s) link, else null")
    title: str | None
    text: str
    author: str | None
    author_followers: int | None
    language: str | None
    published_at: datetime | None
    brands: list[str]
    sentiment: SentimentOut
    status: str = Field(description="new, irrelevant, spam or done")
    tags: list[str]
    assignee: str | None
    note: str | None


class MentionList(BaseModel):
    items: list[MentionOut]
    next: str | None = Field(description="cursor of the next page; null on the last page")


class MentionPatch(BaseModel):
    """Any of these fields; null clears sentiment (back to the computed label), assignee,
    note and tags, and sets status back to new."""

    model_config = ConfigDict(extra="forbid")

    sentiment: Label | None = None
    status: Status | None = None
    tags: list[str] | None = Field(default=None, max_length=50)
    assignee: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=5000)


class EscalationOut(BaseModel):
    id: int
    brand: str
    rule: str | None
    incident: str
    status: str = Field(description="open, acknowledged, resolved or dismissed")
    level: int
    risk: float
    source: str | None
    external_id: str | None
    mention_id: int | None
    opened_at: datetime
    notified_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    dismissed_at: datetime | None
    sla_due_at: datetime | None
    reasons: list[dict[str, object]]
    notify_min: float | None
    ack_min: float | None
    resolve_min: float | None


class EventOut(BaseModel):
    at: datetime
    kind: str
    level: int | None
    actor: str | None
    detail: str | None


class EscalationDetail(EscalationOut):
    owner: str | None = Field(description="the latest assignee, else who acknowledged")
    mention: MentionOut | None
    events: list[EventOut]


class EscalationAction(BaseModel):
    """``note`` (resolve, dismiss), ``reason`` (dismiss; same as note), ``user`` (assign)."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000)
    reason: str | None = Field(default=None, max_length=2000)
    user: str | None = Field(default=None, max_length=100)


class IncidentOut(BaseModel):
    id: int = Field(description="the escalation the incident was looked up by")
    brand: str
    incident: str
    escalations: list[EscalationOut]
    posts: list[MentionOut]


class SourceOut(BaseModel):
    name: str
    kind: str | None
    in_config: bool
    enabled: bool
    status: str = Field(description="ok, failing, recovered, disabled, never_polled, stale, silent")
    detail: str
    last_polled_at: datetime | None
    last_ok_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    last_error_reason: str | None
    consecutive_failures: int
    next_poll_at: datetime | None
    quota_left: int | None
    last_item_count: int | None


class MeOut(BaseModel):
    name: str
    role: str
    csrf_token: str | None = Field(
        description="send as X-CSRF-Token on POST/PATCH with a session cookie; null for tokens"
    )


def mention_out(row: InboxRow) -> MentionOut:
    m = row.mention
    assert m.id is not None
    return MentionOut(
        id=m.id,
        source=m.source,
        external_id=m.external_id,
        url=safe_link(m.url),
        title=m.title,
        text=m.text,
        author=m.author,
        author_followers=m.author_followers,
        language=m.language,
        published_at=m.published_at,
        brands=row.brands,
        sentiment=SentimentOut(
            label=row.label,
            compound=m.sentiment_compound,
            raw_compound=m.raw_compound,
            corrected=row.corrected,
        ),
        status=row.status,
        tags=row.tags,
        assignee=row.assignee,
        note=row.note,
    )


def escalation_out(esc: Escalation) -> EscalationOut:
    return EscalationOut.model_validate(escalation_to_dict(esc))


def event_out(event: EscalationEvent) -> EventOut:
    return EventOut(
        at=event.at, kind=event.kind, level=event.level, actor=event.actor, detail=event.detail
    )
