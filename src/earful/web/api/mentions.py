"""``/api/mentions``: stored mentions with the inbox's filters, keyset-paged; one mention; edits.

* ``GET /api/mentions`` — ``q`` (the query language), ``brand``, ``source``, ``sentiment``,
  ``status``, ``tag``, ``language``, ``since`` / ``until`` (``YYYY-MM-DD``: days, inclusive,
  in the chosen brand's timezone, as in the inbox; or an ISO 8601 datetime: since inclusive,
  until exclusive), ``limit`` (1-500, default 100), ``cursor`` (the previous page's ``next``)
  → ``{"items": [...], "next": cursor or null}``. Paging is by (published_at, id), newest
  first (``earful.store.inbox.feed_mentions``): following ``next`` lists every matching
  mention once, even while new ones arrive. With ``q`` a page may be short (even empty) with
  a ``next`` when its scan of candidates stopped: keep following ``next`` until it is null.
* ``GET /api/mentions/{id}``; ``PATCH /api/mentions/{id}`` — the inbox's edits
  (``earful.store.annotations.annotate``, logged with who and when), role analyst.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.clock import Clock
from earful.config.models import AppConfig
from earful.matching.grammar import QuerySyntaxError
from earful.store.annotations import AnnotationError, Change, annotate
from earful.store.db import run_in_transaction
from earful.store.inbox import FeedKey, FeedPage, MentionFilter, feed_mentions, get_row
from earful.web.api.access import Analyst, Reader
from earful.web.api.errors import ApiError
from earful.web.api.schemas import Label, MentionList, MentionOut, MentionPatch, Status, mention_out

logger = logging.getLogger(__name__)

MAX_LIMIT = 500


def encode_cursor(key: FeedKey) -> str:
    published, ident = key
    raw = json.dumps([published.isoformat() if published else None, ident])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> FeedKey:
    """The key a cursor of :func:`encode_cursor` holds (422 for anything else)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        published, ident = json.loads(raw)
        if not isinstance(ident, int) or isinstance(ident, bool):
            raise ValueError(ident)
        when = datetime.fromisoformat(published) if published is not None else None
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise ApiError(422, "cursor: not a cursor this API gave out", code="validation") from exc
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when, ident)


def _bound(value: str | None, name: str, zone: ZoneInfo, *, end: bool) -> datetime | None:
    """A day (``YYYY-MM-DD``, local to ``zone``; ``end``: the day after) or a datetime."""
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value) + timedelta(days=1 if end else 0)
            return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ApiError(
            422, f"{name}: use YYYY-MM-DD or an ISO 8601 datetime", code="validation"
        ) from exc
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def api_filter(
    config: AppConfig,
    *,
    q: str | None,
    brand: str | None,
    source: str | None,
    sentiment: str | None,
    status: str | None,
    tag: str | None,
    language: str | None,
    since: str | None,
    until: str | None,
) -> MentionFilter:
    cfg = config.brand(brand) if brand else None
    zone = cfg.zone() if cfg is not None else ZoneInfo("UTC")
    return MentionFilter(
        brand=cfg.name if cfg is not None else (brand or None),
        source=source or None,
        sentiment=sentiment,
        status=status,
        language=language or None,
        since=_bound(since, "since", zone, end=False),
        until=_bound(until, "until", zone, end=True),
        q=q or None,
        tag=tag or None,
    )


def change_of(patch: MentionPatch) -> Change:
    """Only the fields sent change; null clears (status: back to new)."""
    sent = patch.model_fields_set
    return Change(
        status=(patch.status or "new") if "status" in sent else None,
        sentiment=(patch.sentiment or "") if "sentiment" in sent else None,
        tags=",".join(patch.tags or []) if "tags" in sent else None,
        assignee=(patch.assignee or "") if "assignee" in sent else None,
        note=(patch.note or "") if "note" in sent else None,
    )


def _unknown(mention_id: int) -> ApiError:
    return ApiError(404, f"no mention {mention_id}")


def make_mentions_api(*, engine: Engine, config: AppConfig, clock: Clock) -> APIRouter:
    router = APIRouter(tags=["mentions"])

    @router.get("/api/mentions", response_model=MentionList)
    def list_mentions(
        _: Reader,
        q: Annotated[str | None, Query(description="the query language")] = None,
        brand: str | None = None,
        source: str | None = None,
        sentiment: Label | None = None,
        status: Status | None = None,
        tag: str | None = None,
        language: str | None = None,
        since: Annotated[str | None, Query(description="YYYY-MM-DD or ISO datetime")] = None,
        until: Annotated[str | None, Query(description="YYYY-MM-DD or ISO datetime")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
        cursor: Annotated[str | None, Query(description="the previous page's next")] = None,
    ) -> MentionList:
        """Stored mentions, newest first, keyset-paged: follow ``next`` until it is null."""
        flt = api_filter(
            config,
            q=q,
            brand=brand,
            source=source,
            sentiment=sentiment,
            status=status,
            tag=tag,
            language=language,
            since=since,
            until=until,
        )
        after = decode_cursor(cursor) if cursor else None

        def read(session: Session) -> FeedPage:
            return feed_mentions(session, flt, after=after, limit=limit)

        try:
            page = run_in_transaction(engine, read)
        except QuerySyntaxError as exc:
            raise ApiError(
                422, f"q: {exc.problem} at position {exc.position}", code="bad_query"
            ) from exc
        return MentionList(
            items=[mention_out(r) for r in page.rows],
            next=encode_cursor(page.next) if page.next is not None else None,
        )

    @router.get("/api/mentions/{id}", response_model=MentionOut)
    def get_mention(_: Reader, id: int) -> MentionOut:
        mention_id = id
        row = run_in_transaction(engine, lambda s: get_row(s, mention_id))
        if row is None:
            raise _unknown(mention_id)
        return mention_out(row)

    @router.patch("/api/mentions/{id}", response_model=MentionOut)
    def patch_mention(user: Analyst, id: int, patch: MentionPatch) -> MentionOut:
        """The inbox's edits: correct the sentiment, set the status, tags, assignee, note."""
        mention_id, change, now = id, change_of(patch), clock.now()

        def write(session: Session) -> MentionOut:
            if get_row(session, mention_id) is None:
                raise _unknown(mention_id)
            edits = annotate(session, mention_id, change, actor=user.name, now=now)
            session.flush()
            logger.info("%s annotated mention %s (%s fields)", user.name, mention_id, len(edits))
            row = get_row(session, mention_id)
            assert row is not None
            return mention_out(row)

        try:
            return run_in_transaction(engine, write)
        except AnnotationError as exc:
            raise ApiError(422, str(exc), code="validation") from exc

    return router
