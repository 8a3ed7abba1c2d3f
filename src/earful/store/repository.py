"""Storage of mentions and source health. The caller owns the transaction: every function here is
keyword-only after the session and never commits.

Writing mentions (idempotent bulk upserts, ``canonical_url``, ``clean_text``) lives in
:mod:`earful.store.mentions` and is re-exported here.

Source-state helpers keep the poll state (ETag, Last-Modified, cursor), the health (last ok,
last error, consecutive failures), the schedule (``next_poll_at`` with exponential backoff), and
a lease (``claim_source``) so two processes never poll the same source at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlmodel import Session, select
from sqlmodel import select as model_select

from earful.config.models import SourceConfig
from earful.errors import SourceError, SourceGoneError
from earful.store.mentions import CHUNK as CHUNK
from earful.store.mentions import MAX_TEXT_CHARS as MAX_TEXT_CHARS
from earful.store.mentions import BrandHit as BrandHit
from earful.store.mentions import ScoredMention as ScoredMention
from earful.store.mentions import ScoreLike as ScoreLike
from earful.store.mentions import UpsertReport as UpsertReport
from earful.store.mentions import _table, chunks, conflict_insert
from earful.store.mentions import canonical_url as canonical_url
from earful.store.mentions import clean_key as clean_key
from earful.store.mentions import clean_text as clean_text
from earful.store.mentions import upsert_mentions as upsert_mentions
from earful.store.mentions import upsert_stories as upsert_stories
from earful.store.models import Mention, MentionBrand, SourceState

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)


# --------------------------------------------------------------------------- source state


def get_source_state(session: Session, *, name: str) -> SourceState | None:
    return session.exec(model_select(SourceState).where(SourceState.name == name)).first()


def get_or_create_source_state(session: Session, *, name: str, kind: str) -> SourceState:
    """The state row of source ``name``, created (never polled, due at once) when missing."""
    table = _table(SourceState)
    stmt = conflict_insert(session, table).values(
        name=name, kind=kind, enabled=True, consecutive_failures=0
    )
    session.exec(stmt.on_conflict_do_nothing(index_elements=["name"]))
    state = get_source_state(session, name=name)
    assert state is not None
    if state.kind != kind:
        state.kind = kind
    return state


def all_source_states(session: Session) -> dict[str, SourceState]:
    rows = session.exec(model_select(SourceState)).all()
    return {row.name: row for row in rows}


def record_poll_ok(
    session: Session,
    *,
    name: str,
    kind: str,
    now: datetime,
    interval: timedelta,
    etag: str | None = None,
    last_modified: str | None = None,
    cursor: str | None = None,
    not_modified: bool = False,
    item_count: int = 0,
    new_count: int = 0,
    quota_left: int | None = None,
    problems: Sequence[str] = (),
) -> SourceState:
    """A successful poll: failures reset, next poll one interval away.

    A 304 (``not_modified``) keeps the stored validators. ``problems`` (items a parser skipped)
    are kept as the last error while the poll still counts as ok.
    """
    state = get_or_create_source_state(session, name=name, kind=kind)
    state.last_polled_at = now
    state.last_ok_at = now
    state.consecutive_failures = 0
    state.next_poll_at = now + interval
    if not not_modified:
        state.etag = etag
        state.last_modified = last_modified
        state.last_item_count = item_count
        state.last_new_count = new_count
        if item_count:
            state.last_nonempty_at = now
    else:
        state.last_new_count = 0
    if cursor is not None:
        state.cursor = cursor
    if quota_left is not None:
        state.quota_left = quota_left
    if problems:
        state.last_error_at = now
        state.last_error = clean_text(f"{len(problems)} item problem(s): {problems[0]}", 2000)
        state.last_error_reason = "items"
    state.lock_until = None
    state.lock_owner = None
    session.add(state)
    return state


def backoff_delay(interval: timedelta, failures: int, retry_after: float | None) -> timedelta:
    """Exponential backoff: one interval after the first failure, doubling up to 6 hours
    (or the interval itself if longer); a server's Retry-After is honoured when later."""
    cap = max(MAX_BACKOFF, interval)
    factor: int = 2 ** min(max(failures - 1, 0), 16)
    delay: timedelta = min(cap, interval * factor)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


def source_fingerprint(source: SourceConfig) -> str:
    """What decides where a source fetches from (kind, URL, parameters), as a short digest."""
    data = json.dumps(
        {"kind": source.kind, "url": source.url, "params": source.params},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:32]


def record_poll_failure(
    session: Session,
    *,
    name: str,
    kind: str,
    now: datetime,
    interval: timedelta,
    error: Exception,
    config_hash: str | None = None,
) -> SourceState:
    """A failed poll: failures counted, next poll backed off; a 410 disables the source
    (``config_hash``, its :func:`source_fingerprint`, lets an edited config enable it again)."""
    state = get_or_create_source_state(session, name=name, kind=kind)
    state.last_polled_at = now
    state.last_error_at = now
    state.last_error = clean_text(str(error), 2000)
    reason = error.reason if isinstance(error, SourceError) else type(error).__name__
    state.last_error_reason = clean_text(reason, 40)
    state.consecutive_failures = (state.consecutive_failures or 0) + 1
    retry_after = getattr(error, "retry_after", None)
    state.next_poll_at = now + backoff_delay(interval, state.consecutive_failures, retry_after)
    if isinstance(error, SourceGoneError) and error.permanent:
        state.enabled = False
        state.disabled_reason = clean_text(str(error), 2000)
        state.disabled_config = config_hash
    state.lock_until = None
    state.lock_owner = None
    session.add(state)
    return state


def enable_source(session: Session, *, name: str) -> bool:
    """Re-enable a source that was disabled (e.g. by a 410) and make it due at once."""
    result = session.exec(
        update(_table(SourceState))
        .where(_table(SourceState).c.name == name)
        .values(
            enabled=True,
            disabled_reason=None,
            disabled_config=None,
            next_poll_at=None,
            consecutive_failures=0,
        )
    )
    return bool(getattr(result, "rowcount", 0))


def claim_source(
    session: Session, name: str, *, owner: str, now: datetime, lease: timedelta
) -> bool:
    """Take the poll lease of source ``name`` until ``now + lease``.

    A conditional UPDATE (free, expired, or already ours), so of two processes racing for the
    same source exactly one wins, whatever the database. The row must exist
    (:func:`get_or_create_source_state`). The lease is released by ``record_poll_*`` or
    :func:`release_source`.
    """
    table = _table(SourceState)
    result = session.exec(
        update(table)
        .where(
            table.c.name == name,
            or_(
                table.c.lock_until.is_(None),
                table.c.lock_until < now,
                table.c.lock_owner == owner,
            ),
        )
        .values(lock_until=now + lease, lock_owner=owner)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def release_source(session: Session, name: str, *, owner: str) -> None:
    table = _table(SourceState)
    session.exec(
        update(table)
        .where(table.c.name == name, table.c.lock_owner == owner)
        .values(lock_until=None, lock_owner=None)
    )


# --------------------------------------------------------------------------- reading mentions


@dataclass(slots=True)
class MentionRow:
    mention: Mention
    brands: list[str]


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_conditions(
    *,
    brand: str | None = None,
    sentiment: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
    search: str | None = None,
) -> list[Any]:
    """The WHERE conditions of :func:`list_mentions` (the CLI's filters), for other readers of
    the same rows (``earful mentions --format csv`` streams them through ``inbox.iter_rows``).

    ``brand`` matches brand links case-insensitively; ``source`` matches the source kind or
    the configured source name; ``since`` compares the published (else fetched) time;
    ``search`` is a case-insensitive substring of title or text.
    """
    m = _table(Mention)
    mb = _table(MentionBrand)
    conds: list[Any] = []
    if brand:
        conds.append(
            m.c.id.in_(select(mb.c.mention_id).where(func.lower(mb.c.brand) == brand.lower()))
        )
    if sentiment:
        conds.append(m.c.sentiment_label == sentiment.lower())
    if source:
        conds.append(or_(m.c.source == source, m.c.source_name == source))
    if since is not None:
        conds.append(func.coalesce(m.c.published_at, m.c.fetched_at) >= since)
    if search:
        pattern = _like_pattern(search)
        conds.append(
            or_(m.c.text.ilike(pattern, escape="\\"), m.c.title.ilike(pattern, escape="\\"))
        )
    return conds


def list_order() -> list[Any]:
    """Newest first, by published time, else fetch time (the order of :func:`list_mentions`)."""
    m = _table(Mention)
    return [func.coalesce(m.c.published_at, m.c.fetched_at).desc(), m.c.id.desc()]


def list_mentions(
    session: Session,
    *,
    brand: str | None = None,
    sentiment: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
    search: str | None = None,
    limit: int = 50,
) -> list[MentionRow]:
    """Stored mentions, newest first (by published time, else fetch time), filtered as
    :func:`list_conditions` says."""
    mb = _table(MentionBrand)
    stmt = model_select(Mention)
    conds = list_conditions(
        brand=brand, sentiment=sentiment, source=source, since=since, search=search
    )
    if conds:
        stmt = stmt.where(and_(*conds))
    stmt = stmt.order_by(*list_order()).limit(limit)
    mentions = list(session.exec(stmt).all())
    ids = [x.id for x in mentions]
    brands: dict[int, list[str]] = {}
    for part in chunks(ids):
        for mid, name in session.exec(
            select(mb.c.mention_id, mb.c.brand).where(mb.c.mention_id.in_(part))
        ):
            brands.setdefault(mid, []).append(name)
    return [MentionRow(x, sorted(brands.get(x.id or 0, []))) for x in mentions]


def count_mentions(session: Session) -> int:
    value = session.exec(select(func.count()).select_from(_table(Mention))).one()
    return int(value)
