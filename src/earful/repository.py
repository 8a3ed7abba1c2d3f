"""Storage of mentions and source health. The caller owns the transaction: every function here is
keyword-only after the session and never commits.

Writes are idempotent bulk upserts (``INSERT ... ON CONFLICT``) on the unique keys of
:mod:`earful.models`: polling the same feed twice leaves one row per mention; the same canonical
URL carried by two sources is one :class:`Story` linked to both mentions.

Source-state helpers keep the poll state (ETag, Last-Modified, cursor), the health (last ok,
last error, consecutive failures), the schedule (``next_poll_at`` with exponential backoff), and
a lease (``claim_source``) so two processes never poll the same source at once.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Table, and_, bindparam, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select
from sqlmodel import select as model_select

from earful.clock import ensure_utc
from earful.config import SourceConfig
from earful.errors import SourceError, SourceGoneError
from earful.mention import RawMention
from earful.models import EngagementSnapshot, Mention, MentionBrand, SourceState, Story

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Rows per INSERT/SELECT chunk: well under SQLite's bound-parameter limit for ~30 columns.
CHUNK = 500
# Longest text kept for one mention; beyond it the text is cut (VADER and the matcher have
# read the whole text already). Generous, so a 1 MB post is kept whole.
MAX_TEXT_CHARS = 2_000_000
MAX_BACKOFF = timedelta(hours=6)
_TRACKING_PARAMS = frozenset({"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid"})


class ScoreLike(Protocol):
    """What storage needs of a sentiment score (``earful.sentiment.SentimentScore``)."""

    @property
    def neg(self) -> float: ...
    @property
    def neu(self) -> float: ...
    @property
    def pos(self) -> float: ...
    @property
    def compound(self) -> float: ...
    @property
    def label(self) -> str: ...
    @property
    def raw_compound(self) -> float: ...


@dataclass(slots=True)
class BrandHit:
    brand: str
    is_competitor: bool = False


@dataclass(slots=True)
class ScoredMention:
    """A matched, scored mention ready to store."""

    raw: RawMention
    brands: list[BrandHit]
    score: ScoreLike | None = None
    source_name: str | None = None


@dataclass(slots=True)
class UpsertReport:
    new_ids: list[int] = field(default_factory=list)
    updated_ids: list[int] = field(default_factory=list)
    # (source, external_id) -> mention id, for every stored item
    ids: dict[tuple[str, str], int] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers


# http(s)://host/path with no userinfo, port, query or fragment, nothing urlsplit would drop
# or reinterpret (whitespace, controls, backslashes): its canonical form is scheme and host
# lower-cased plus the path without trailing slashes, exactly what the general path returns.
_PLAIN_URL = re.compile(r"(?ai)(https?)://([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(/[!$-;=@-\[\]-~]*)?")


@functools.lru_cache(maxsize=16384)
def canonical_url(url: str | None) -> str | None:
    """The URL that identifies a story: lowercase scheme and host, no fragment, no tracking
    parameters (``utm_*``, ``fbclid``, ``gclid``...), no trailing slash, default ports dropped."""
    if not url:
        return None
    plain = _PLAIN_URL.fullmatch(url)
    if plain is not None:
        scheme, host, path = plain.groups()
        return f"{scheme.lower()}://{host.lower()}{(path or '').rstrip('/')}"
    return _canonical_url_parsed(url)


def _canonical_url_parsed(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and not (
        (parts.scheme.lower() == "http" and port == 80)
        or (parts.scheme.lower() == "https" and port == 443)
    ):
        host = f"{host}:{port}"
    query = parts.query
    if query:
        query = urlencode(
            [
                (k, v)
                for k, v in parse_qsl(query, keep_blank_values=True)
                if not k.lower().startswith("utm_") and k.lower() not in _TRACKING_PARAMS
            ]
        )
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), host, path, query, ""))


def clean_text(value: str | None, limit: int | None = None) -> str | None:
    """Text any database accepts: no NUL (PostgreSQL refuses it), no lone surrogates, cut to
    ``limit`` characters. Markup stays as it is — it is text, escaped where rendered."""
    if value is None:
        return None
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    if limit is not None and len(value) > limit:
        value = value[:limit]
    return value


def clean_key(value: str, limit: int) -> str:
    """An identifier that fits its column; too long ones keep a prefix and a digest so distinct
    keys stay distinct."""
    value = clean_text(value) or ""
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]
    return value[: limit - 33] + "#" + digest


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert(session: Session, table: Table) -> Any:
    """A dialect ``insert`` that supports ``on_conflict_*`` (PostgreSQL and SQLite)."""
    return _dialect_insert(session.get_bind().dialect.name)(table)


def _dialect_insert(name: str) -> Any:
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"upserts are not implemented for the {name} dialect")


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


# --------------------------------------------------------------------------- mentions


@dataclass(frozen=True, slots=True)
class _WriteStatements:
    """The write statements of one dialect, built once: building an ``ON CONFLICT`` statement
    (its ``excluded`` alias proxies every column) costs more than executing it, and one statement
    object lets SQLAlchemy reuse its compiled form."""

    story_insert: Any
    story_select: Any
    mention_upsert: Any
    brand_insert: Any
    snapshot_insert: Any


@functools.lru_cache(maxsize=4)
def _write_statements(dialect: str) -> _WriteStatements:
    insert = _dialect_insert(dialect)
    story = _table(Story)
    mention = _table(Mention)
    upsert = insert(mention)
    ex = upsert.excluded
    upsert = upsert.on_conflict_do_update(
        index_elements=["source", "external_id"],
        set_={
            "likes": func.coalesce(ex.likes, mention.c.likes),
            "shares": func.coalesce(ex.shares, mention.c.shares),
            "comments": func.coalesce(ex.comments, mention.c.comments),
            "views": func.coalesce(ex.views, mention.c.views),
            "author_followers": func.coalesce(ex.author_followers, mention.c.author_followers),
            "story_id": func.coalesce(mention.c.story_id, ex.story_id),
            "updated_at": ex.fetched_at,
        },
    )
    return _WriteStatements(
        story_insert=insert(story)
        .on_conflict_do_nothing(index_elements=["canonical_url"])
        .returning(story.c.canonical_url, story.c.id),
        story_select=select(story.c.canonical_url, story.c.id).where(
            story.c.canonical_url.in_(bindparam("urls", expanding=True))
        ),
        # A new row comes back with updated_at NULL, an existing one with the update's time:
        # new and updated ids without reading the table before and after.
        mention_upsert=upsert.returning(
            mention.c.source, mention.c.external_id, mention.c.id, mention.c.updated_at
        ),
        brand_insert=insert(_table(MentionBrand)).on_conflict_do_nothing(
            index_elements=["mention_id", "brand"]
        ),
        snapshot_insert=insert(_table(EngagementSnapshot)).on_conflict_do_nothing(
            index_elements=["mention_id", "at"]
        ),
    )


def _statements(session: Session) -> _WriteStatements:
    return _write_statements(session.get_bind().dialect.name)


def upsert_stories(session: Session, *, urls: Iterable[str], now: datetime) -> dict[str, int]:
    """Story id for each canonical URL, creating the missing stories."""
    wanted = sorted(set(urls))
    stmts = _statements(session)
    conn = session.connection()
    ids: dict[str, int] = {}
    for part in chunks(wanted):
        rows = conn.execute(
            stmts.story_insert, [{"canonical_url": u, "first_seen_at": now} for u in part]
        )
        ids.update({url: sid for url, sid in rows})
        # Stories that existed already (or that a concurrent writer just created).
        known = [u for u in part if u not in ids]
        if known:
            rows = conn.execute(stmts.story_select, {"urls": known})
            ids.update({url: sid for url, sid in rows})
    return ids


def _mention_row(item: ScoredMention, story_id: int | None, now: datetime) -> dict[str, Any]:
    raw = item.raw
    score = item.score
    eng = raw.engagement
    return {
        "source": clean_key(raw.source, 40),
        "external_id": clean_key(raw.external_id, 500),
        "source_name": clean_text(item.source_name, 200),
        "url": clean_text(raw.url),
        "title": clean_text(raw.title, 10_000),
        "text": clean_text(raw.text, MAX_TEXT_CHARS) or "",
        "author": clean_text(raw.author, 500),
        "author_followers": raw.author_followers,
        "language": clean_text(raw.language, 20),
        "rating": raw.rating,
        "parent_id": clean_text(raw.parent_id, 500),
        "likes": eng.likes,
        "shares": eng.shares,
        "comments": eng.comments,
        "views": eng.views,
        "sentiment_neg": score.neg if score else 0.0,
        "sentiment_neu": score.neu if score else 0.0,
        "sentiment_pos": score.pos if score else 0.0,
        "sentiment_compound": score.compound if score else 0.0,
        "raw_compound": score.raw_compound if score else 0.0,
        "sentiment_label": score.label if score else "neutral",
        "story_id": story_id,
        "published_at": ensure_utc(raw.published_at) if raw.published_at else None,
        "fetched_at": now,
        "updated_at": None,
    }


def upsert_mentions(
    session: Session, items: Sequence[ScoredMention], *, now: datetime
) -> UpsertReport:
    """Store ``items`` idempotently, keyed on (source, external_id).

    New mentions are inserted with their brand links and a first engagement snapshot; mentions
    already stored keep their text and sentiment and take the latest engagement counts (a count
    the new payload does not know keeps the stored value). Items repeated inside ``items`` are
    stored once (the last one wins). Never commits.
    """
    now = ensure_utc(now)
    # Last occurrence of a key wins: one row may not be touched twice by one ON CONFLICT.
    unique: dict[tuple[str, str], ScoredMention] = {}
    for item in items:
        key = (clean_key(item.raw.source, 40), clean_key(item.raw.external_id, 500))
        unique[key] = item
    report = UpsertReport()
    if not unique:
        return report
    keys = list(unique)
    canon = {key: canonical_url(item.raw.url) for key, item in unique.items()}
    story_ids = upsert_stories(session, urls=[u for u in canon.values() if u], now=now)

    rows = [_mention_row(unique[k], story_ids.get(canon[k] or "", None), now) for k in keys]
    stmt = _statements(session).mention_upsert
    conn = session.connection()
    ids: dict[tuple[str, str], int] = {}
    new: set[tuple[str, str]] = set()
    for part in chunks(rows):
        for source, ext, mid, updated_at in conn.execute(stmt, list(part)):
            ids[(source, ext)] = mid
            if updated_at is None:
                new.add((source, ext))
    report.ids = ids
    for key in keys:
        (report.new_ids if key in new else report.updated_ids).append(ids[key])

    _link_brands(session, unique, ids, now)
    new_keys = [k for k in keys if k in new]
    _first_snapshots(session, [(ids[k], unique[k].raw) for k in new_keys], now)
    return report


def _link_brands(
    session: Session,
    unique: dict[tuple[str, str], ScoredMention],
    ids: dict[tuple[str, str], int],
    now: datetime,
) -> None:
    rows: list[dict[str, Any]] = []
    for key, item in unique.items():
        published = ensure_utc(item.raw.published_at) if item.raw.published_at else now
        seen: set[str] = set()
        for hit in item.brands:
            brand = clean_text(hit.brand, 200) or ""
            if not brand or brand in seen:
                continue
            seen.add(brand)
            rows.append(
                {
                    "mention_id": ids[key],
                    "brand": brand,
                    "published_at": published,
                    "is_competitor": hit.is_competitor,
                }
            )
    stmt = _statements(session).brand_insert
    conn = session.connection()
    for part in chunks(rows):
        conn.execute(stmt, list(part))


def _first_snapshots(session: Session, new: list[tuple[int, RawMention]], now: datetime) -> None:
    """The engagement a mention had when first seen: the start of its virality curve."""
    rows: list[dict[str, Any]] = []
    snapshot_for = _engagement_snapshot_for()
    for mention_id, raw in new:
        if snapshot_for is not None:
            snap = snapshot_for(mention_id, raw, now)
            if snap is None:
                continue
            row = _snapshot_row(snap)
        else:
            if raw.engagement.is_empty() and raw.author_followers is None:
                continue
            row = {
                "mention_id": mention_id,
                "at": now,
                "likes": raw.engagement.likes,
                "shares": raw.engagement.shares,
                "comments": raw.engagement.comments,
                "views": raw.engagement.views,
                "author_followers": raw.author_followers,
            }
        rows.append(row)
    stmt = _statements(session).snapshot_insert
    conn = session.connection()
    for part in chunks(rows):
        conn.execute(stmt, list(part))


def _engagement_snapshot_for() -> Any:
    try:
        engagement = importlib.import_module("earful.engagement")
    except ImportError:
        return None
    return getattr(engagement, "snapshot_for", None)


def _snapshot_row(snap: Any) -> dict[str, Any]:
    if isinstance(snap, dict):
        data = dict(snap)
    else:
        data = {
            name: getattr(snap, name)
            for name in (
                "mention_id",
                "at",
                "likes",
                "shares",
                "comments",
                "views",
                "author_followers",
            )
        }
    data.pop("id", None)
    data["at"] = ensure_utc(data["at"])
    return data


# --------------------------------------------------------------------------- source state


def get_source_state(session: Session, *, name: str) -> SourceState | None:
    return session.exec(model_select(SourceState).where(SourceState.name == name)).first()


def get_or_create_source_state(session: Session, *, name: str, kind: str) -> SourceState:
    """The state row of source ``name``, created (never polled, due at once) when missing."""
    table = _table(SourceState)
    stmt = _insert(session, table).values(
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
    now = ensure_utc(now)
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
    now = ensure_utc(now)
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
    now = ensure_utc(now)
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
    """Stored mentions, newest first (by published time, else fetch time).

    ``brand`` matches brand links case-insensitively; ``source`` matches the source kind or
    the configured source name; ``since`` compares the published (else fetched) time;
    ``search`` is a case-insensitive substring of title or text.
    """
    m = _table(Mention)
    mb = _table(MentionBrand)
    when = func.coalesce(m.c.published_at, m.c.fetched_at)
    stmt = model_select(Mention)
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
        conds.append(when >= ensure_utc(since))
    if search:
        pattern = _like_pattern(search)
        conds.append(
            or_(m.c.text.ilike(pattern, escape="\\"), m.c.title.ilike(pattern, escape="\\"))
        )
    if conds:
        stmt = stmt.where(and_(*conds))
    stmt = stmt.order_by(when.desc(), m.c.id.desc()).limit(limit)
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
