"""Writing mentions: idempotent bulk upserts of matched, scored mentions, and the helpers that
make text and keys safe to store. The caller owns the transaction: nothing here commits.

Writes are ``INSERT ... ON CONFLICT`` on the unique keys of :mod:`earful.store.models`: polling the
same feed twice leaves one row per mention; the same canonical URL carried by two sources is
one :class:`Story` linked to both mentions. Per batch the work is four statements (stories,
mentions, brand links, first snapshots), each over all rows at once. On SQLite they run through
the driver (:mod:`earful.store.sqlite_bulk`); elsewhere through SQLAlchemy Core statements built
once per dialect. Both store the same values.

:mod:`earful.store.repository` re-exports the public names.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlmodel import Session

from earful.mention import RawMention
from earful.store.models import EngagementSnapshot, Mention, MentionBrand, Story
from earful.store.sqlite_bulk import Row, SqliteMentionWriter

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Rows per INSERT/SELECT chunk: well under SQLite's bound-parameter limit for ~30 columns.
CHUNK = 500
# Longest text kept for one mention; beyond it the text is cut (VADER and the matcher have
# read the whole text already). Generous, so a 1 MB post is kept whole.
MAX_TEXT_CHARS = 2_000_000
_TRACKING_PARAMS = frozenset({"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid"})


class ScoreLike(Protocol):
    """What storage needs of a sentiment score (``earful.sentiment.analyzer.SentimentScore``)."""

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


def snapshot_for(mention_id: int, raw: RawMention, at: datetime) -> EngagementSnapshot | None:
    """The first-sight snapshot of a new mention; None when the payload knows no counts and
    no followers (a Jetstream post): its first re-poll will record the first real point."""
    eng = raw.engagement
    if eng.is_empty() and raw.author_followers is None:
        return None
    return EngagementSnapshot(
        mention_id=mention_id,
        at=at,
        likes=eng.likes,
        shares=eng.shares,
        comments=eng.comments,
        views=eng.views,
        author_followers=raw.author_followers,
    )


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
    if not value.isascii():  # a lone surrogate is never ASCII
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


def mention_key(raw: RawMention) -> tuple[str, str]:
    """(source, external_id) as stored: the unique key of a mention."""
    return clean_key(raw.source, 40), clean_key(raw.external_id, 500)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def conflict_insert(session: Session, table: Table) -> Any:
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


# --------------------------------------------------------------------------- statements

# Column order of a mention row (see _mention_row).
MENTION_COLUMNS = (
    "source",
    "external_id",
    "source_name",
    "url",
    "title",
    "text",
    "author",
    "author_followers",
    "language",
    "rating",
    "parent_id",
    "likes",
    "shares",
    "comments",
    "views",
    "sentiment_neg",
    "sentiment_neu",
    "sentiment_pos",
    "sentiment_compound",
    "raw_compound",
    "sentiment_label",
    "story_id",
    "published_at",
    "fetched_at",
    "updated_at",
)
BRAND_COLUMNS = ("mention_id", "brand", "published_at", "is_competitor")
SNAPSHOT_COLUMNS = (
    "mention_id",
    "at",
    "likes",
    "shares",
    "comments",
    "views",
    "author_followers",
)
# On a repeat, engagement counts the new payload knows replace the stored ones.
_LATEST_KNOWN = ("likes", "shares", "comments", "views", "author_followers")


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
    updates: dict[str, Any] = {c: func.coalesce(ex[c], mention.c[c]) for c in _LATEST_KNOWN}
    updates["story_id"] = func.coalesce(mention.c.story_id, ex.story_id)
    updates["updated_at"] = ex.fetched_at
    upsert = upsert.on_conflict_do_update(index_elements=["source", "external_id"], set_=updates)
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


@functools.lru_cache(maxsize=8)
def _sqlite_writer(dialect: Dialect) -> SqliteMentionWriter:
    # the same rules as _write_statements, as SQL text
    updates = {c: f'coalesce(excluded."{c}", mention."{c}")' for c in _LATEST_KNOWN}
    updates["story_id"] = 'coalesce(mention."story_id", excluded."story_id")'
    updates["updated_at"] = 'excluded."fetched_at"'
    return SqliteMentionWriter(
        dialect,
        story=_table(Story),
        mention=_table(Mention),
        brand=_table(MentionBrand),
        snapshot=_table(EngagementSnapshot),
        mention_columns=MENTION_COLUMNS,
        mention_update=updates,
        snapshot_columns=SNAPSHOT_COLUMNS,
    )


class _Writer:
    """The session's connection and how to write through it (driver-level on SQLite)."""

    def __init__(self, session: Session, *, fast: bool) -> None:
        self.conn: Connection = session.connection()
        dialect = self.conn.dialect
        self.stmts = _write_statements(dialect.name)
        self.sqlite: SqliteMentionWriter | None = None
        self.dbapi: sqlite3.Connection | None = None
        driver = self.conn.connection.driver_connection
        if fast and dialect.name == "sqlite" and isinstance(driver, sqlite3.Connection):
            self.sqlite = _sqlite_writer(dialect)
            self.dbapi = driver

    def stories(self, urls: Sequence[str], now: datetime) -> dict[str, int]:
        ids: dict[str, int] = {}
        for part in chunks(urls):
            if self.sqlite is not None and self.dbapi is not None:
                rows: Iterable[Row] = self.sqlite.stories.insert_returning(
                    self.dbapi, [(u, now) for u in part]
                )
            else:
                params = [{"canonical_url": u, "first_seen_at": now} for u in part]
                rows = self.conn.execute(self.stmts.story_insert, params)
            ids.update({url: sid for url, sid in rows})
            # Stories that existed already (or that a concurrent writer just created).
            known = [u for u in part if u not in ids]
            if known:
                if self.sqlite is not None and self.dbapi is not None:
                    rows = self.sqlite.select_stories(self.dbapi, known)
                else:
                    rows = self.conn.execute(self.stmts.story_select, {"urls": known})
                ids.update({url: sid for url, sid in rows})
        return ids

    def mentions(self, rows: Sequence[Row]) -> Iterator[Row]:
        """(source, external_id, id, updated_at) of every row inserted or updated."""
        for part in chunks(rows):
            if self.sqlite is not None and self.dbapi is not None:
                yield from self.sqlite.mentions.insert_returning(self.dbapi, part)
            else:
                params = [dict(zip(MENTION_COLUMNS, row, strict=True)) for row in part]
                yield from self.conn.execute(self.stmts.mention_upsert, params)

    def brands(self, rows: Sequence[Row]) -> None:
        self._insert(rows, BRAND_COLUMNS, self.stmts.brand_insert, "brands")

    def snapshots(self, rows: Sequence[Row]) -> None:
        self._insert(rows, SNAPSHOT_COLUMNS, self.stmts.snapshot_insert, "snapshots")

    def _insert(self, rows: Sequence[Row], columns: Sequence[str], stmt: Any, name: str) -> None:
        for part in chunks(rows):
            if self.sqlite is not None and self.dbapi is not None:
                getattr(self.sqlite, name).insert_many(self.dbapi, part)
            else:
                self.conn.execute(stmt, [dict(zip(columns, row, strict=True)) for row in part])


# --------------------------------------------------------------------------- mentions


def upsert_stories(session: Session, *, urls: Iterable[str], now: datetime) -> dict[str, int]:
    """Story id for each canonical URL, creating the missing stories."""
    return _Writer(session, fast=True).stories(sorted(set(urls)), now)


def _mention_row(
    key: tuple[str, str], item: ScoredMention, story_id: int | None, now: datetime
) -> Row:
    raw = item.raw
    score = item.score
    eng = raw.engagement
    return (
        *key,
        clean_text(item.source_name, 200),
        clean_text(raw.url),
        clean_text(raw.title, 10_000),
        clean_text(raw.text, MAX_TEXT_CHARS) or "",
        clean_text(raw.author, 500),
        raw.author_followers,
        clean_text(raw.language, 20),
        raw.rating,
        clean_text(raw.parent_id, 500),
        eng.likes,
        eng.shares,
        eng.comments,
        eng.views,
        score.neg if score else 0.0,
        score.neu if score else 0.0,
        score.pos if score else 0.0,
        score.compound if score else 0.0,
        score.raw_compound if score else 0.0,
        score.label if score else "neutral",
        story_id,
        raw.published_at,
        now,
        None,
    )


def upsert_mentions(
    session: Session, items: Sequence[ScoredMention], *, now: datetime, fast: bool = True
) -> UpsertReport:
    """Store ``items`` idempotently, keyed on (source, external_id).

    New mentions are inserted with their brand links and a first engagement snapshot; mentions
    already stored keep their text and sentiment and take the latest engagement counts (a count
    the new payload does not know keeps the stored value). Items repeated inside ``items`` are
    stored once (the last one wins). Never commits. ``fast=False`` writes through SQLAlchemy
    Core even on SQLite (the same result; kept to prove it).
    """
    # Last occurrence of a key wins: one row may not be touched twice by one ON CONFLICT.
    unique: dict[tuple[str, str], ScoredMention] = {}
    for item in items:
        unique[mention_key(item.raw)] = item
    report = UpsertReport()
    if not unique:
        return report
    writer = _Writer(session, fast=fast)
    keys = list(unique)
    canon = {key: canonical_url(item.raw.url) for key, item in unique.items()}
    story_ids = writer.stories(sorted({u for u in canon.values() if u}), now)

    rows = [_mention_row(k, unique[k], story_ids.get(canon[k] or "", None), now) for k in keys]
    ids: dict[tuple[str, str], int] = {}
    new: set[tuple[str, str]] = set()
    for source, ext, mid, updated_at in writer.mentions(rows):
        ids[(source, ext)] = mid
        if updated_at is None:
            new.add((source, ext))
    report.ids = ids
    for key in keys:
        (report.new_ids if key in new else report.updated_ids).append(ids[key])

    writer.brands(_brand_rows(unique, ids, now))
    new_keys = [k for k in keys if k in new]
    writer.snapshots(_snapshot_rows([(ids[k], unique[k].raw) for k in new_keys], now))
    return report


def stored_keys(session: Session, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Those of ``keys`` (see :func:`mention_key`) already stored."""
    table = _table(Mention)
    by_source: dict[str, list[str]] = {}
    for source, ext in set(keys):
        by_source.setdefault(source, []).append(ext)
    found: set[tuple[str, str]] = set()
    conn = session.connection()
    for source, exts in by_source.items():
        for part in chunks(exts):
            rows = conn.execute(
                select(table.c.external_id).where(
                    table.c.source == source, table.c.external_id.in_(part)
                )
            )
            found.update((source, ext) for (ext,) in rows)
    return found


def update_sentiment(session: Session, *, scores: dict[int, ScoreLike]) -> None:
    """Set the sentiment of stored mentions by id (a mention stored without a score)."""
    table = _table(Mention)
    stmt = (
        update(table)
        .where(table.c.id == bindparam("mid"))
        .values(
            sentiment_neg=bindparam("neg"),
            sentiment_neu=bindparam("neu"),
            sentiment_pos=bindparam("pos"),
            sentiment_compound=bindparam("compound"),
            raw_compound=bindparam("raw"),
            sentiment_label=bindparam("label"),
        )
    )
    params = [
        {
            "mid": mid,
            "neg": sc.neg,
            "neu": sc.neu,
            "pos": sc.pos,
            "compound": sc.compound,
            "raw": sc.raw_compound,
            "label": sc.label,
        }
        for mid, sc in scores.items()
    ]
    if params:
        session.connection().execute(stmt, params)


def _brand_rows(
    unique: dict[tuple[str, str], ScoredMention], ids: dict[tuple[str, str], int], now: datetime
) -> list[Row]:
    rows: list[Row] = []
    for key, item in unique.items():
        published = item.raw.published_at or now
        seen: set[str] = set()
        for hit in item.brands:
            brand = clean_text(hit.brand, 200) or ""
            if not brand or brand in seen:
                continue
            seen.add(brand)
            rows.append((ids[key], brand, published, hit.is_competitor))
    return rows


def _snapshot_rows(new: list[tuple[int, RawMention]], now: datetime) -> list[Row]:
    """The engagement a mention had when first seen: the start of its virality curve."""
    rows: list[Row] = []
    for mention_id, raw in new:
        snap = snapshot_for(mention_id, raw, now)
        if snap is not None:
            rows.append(tuple(getattr(snap, c) for c in SNAPSHOT_COLUMNS))
    return rows
