"""The mention inbox: stored mentions, newest first, filtered, searched with the query language.

Filters (brand, source, sentiment, status, language, date range) run in SQL. ``q`` is compiled
with the same compiler as the brand queries (``earful.matching.compile_query``) and evaluated
in Python on the SQL-filtered candidates, newest first, reading at most ``scan_cap`` of them:
correct for every query the language can express, and bounded — a page says when the scan
stopped early (``capped``) so nobody mistakes "not in the newest 5,000" for "nowhere".

:func:`feed_mentions` is the API's keyset paging over the same filters: newest first by
(``published_at`` desc, nulls last; ``id`` desc), each page starting strictly after the
(published_at, id) of the previous page's last row, so rows inserted while a client pages
never shift a page (no duplicate, no gap). With ``q`` a page reads at most ``scan_cap``
candidates; when it stops there its ``next`` key is the last candidate read, so the next page
goes on scanning where this one stopped (a page may then hold fewer than ``limit`` rows).

Sentiment and status are the effective ones: a person's correction (``mention_state``) wins
over the computed label; a mention nobody touched is ``new``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal, or_
from sqlmodel import Session, col, select

from earful.matching.matcher import MatchDoc, Query, compile_query
from earful.store.annotations import MentionState
from earful.store.models import Mention, MentionBrand

logger = logging.getLogger(__name__)

SCAN_CAP = 5000
BATCH = 500


@dataclass(frozen=True, slots=True)
class MentionFilter:
    brand: str | None = None
    source: str | None = None
    sentiment: str | None = None
    status: str | None = None
    language: str | None = None
    since: datetime | None = None  # published at or after
    until: datetime | None = None  # published before
    q: str | None = None
    tag: str | None = None  # one tag, as normalized by ``annotations.normalize_tags``


FeedKey = tuple[datetime | None, int]  # (published_at, id) of a row in feed order


@dataclass(frozen=True, slots=True)
class InboxRow:
    mention: Mention
    label: str  # effective sentiment
    corrected: bool
    status: str
    tags: list[str]
    assignee: str | None
    brands: list[str]
    note: str | None = None


@dataclass(slots=True)
class InboxPage:
    rows: list[InboxRow] = field(default_factory=list)
    page: int = 1
    has_more: bool = False
    scanned: int = 0
    capped: bool = False


@dataclass(slots=True)
class FeedPage:
    rows: list[InboxRow] = field(default_factory=list)
    next: FeedKey | None = None  # where the next page starts (after this key); None: the end
    scanned: int = 0


def effective_label() -> Any:
    return func.coalesce(col(MentionState.sentiment), col(Mention.sentiment_label))


def effective_status() -> Any:
    return func.coalesce(col(MentionState.status), "new")


def _filtered(f: MentionFilter, *, where: Sequence[Any] = (), order: Sequence[Any] = ()) -> Any:
    """The SQL part of ``f`` (all but ``q``), plus ``where`` conditions; newest first unless
    ``order`` says otherwise."""
    stmt = select(Mention, MentionState).outerjoin(
        MentionState, col(MentionState.mention_id) == col(Mention.id)
    )
    if f.brand:
        linked = select(MentionBrand.mention_id).where(
            col(MentionBrand.mention_id) == col(Mention.id), MentionBrand.brand == f.brand
        )
        stmt = stmt.where(linked.exists())
    if f.source:
        stmt = stmt.where(Mention.source == f.source)
    if f.sentiment:
        stmt = stmt.where(effective_label() == f.sentiment)
    if f.status:
        stmt = stmt.where(effective_status() == f.status)
    if f.tag:
        tags = literal(",") + func.coalesce(col(MentionState.tags), "") + literal(",")
        stmt = stmt.where(tags.contains(f",{f.tag.strip().casefold()},", autoescape=True))
    if f.language:
        stmt = stmt.where(func.lower(col(Mention.language)) == f.language.lower())
    if f.since is not None:
        stmt = stmt.where(col(Mention.published_at) >= f.since)
    if f.until is not None:
        stmt = stmt.where(col(Mention.published_at) < f.until)
    for cond in where:
        stmt = stmt.where(cond)
    if order:
        return stmt.order_by(*order)
    return stmt.order_by(col(Mention.published_at).desc().nulls_last(), col(Mention.id).desc())


def _row(mention: Mention, state: MentionState | None, brands: list[str]) -> InboxRow:
    corrected = state is not None and state.sentiment is not None
    return InboxRow(
        mention=mention,
        label=state.sentiment if state is not None and state.sentiment else mention.sentiment_label,
        corrected=corrected,
        status=state.status if state is not None else "new",
        tags=[t for t in (state.tags if state else "").split(",") if t],
        assignee=state.assignee if state else None,
        brands=brands,
        note=state.note if state else None,
    )


def _brands(session: Session, ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if not ids:
        return out
    for mb in session.exec(select(MentionBrand).where(col(MentionBrand.mention_id).in_(ids))):
        out.setdefault(mb.mention_id, []).append(mb.brand)
    return out


def _doc(m: Mention) -> MatchDoc:
    return MatchDoc(m.text or "", title=m.title, author=m.author, url=m.url, language=m.language)


def _scan(
    session: Session, stmt: Any, query: Query, cap: int
) -> Iterator[tuple[Mention, MentionState | None] | None]:
    """Matching rows, newest first; yields None once when ``cap`` candidates were read."""
    read = 0
    while read < cap:
        batch = session.exec(stmt.offset(read).limit(min(BATCH, cap - read))).all()
        for mention, state in batch:
            if query.matches(_doc(mention)):
                yield mention, state
        read += len(batch)
        if len(batch) < BATCH:
            return
    yield None


def search_mentions(
    session: Session,
    f: MentionFilter,
    *,
    page: int = 1,
    per_page: int = 50,
    scan_cap: int = SCAN_CAP,
) -> InboxPage:
    """One page of the inbox; raises ``QuerySyntaxError`` (with a position) for a bad ``q``."""
    page = max(page, 1)
    stmt = _filtered(f)
    found: list[tuple[Mention, MentionState | None]] = []
    result = InboxPage(page=page)
    if f.q and f.q.strip():
        query = compile_query(f.q.strip())
        skip = (page - 1) * per_page
        for hit in _scan(session, stmt, query, scan_cap):
            if hit is None:
                result.capped, result.scanned = True, scan_cap
                break
            if skip:
                skip -= 1
                continue
            found.append(hit)
            if len(found) > per_page:
                break
    else:
        found = list(session.exec(stmt.offset((page - 1) * per_page).limit(per_page + 1)).all())
    result.has_more = len(found) > per_page
    found = found[:per_page]
    brands = _brands(session, [m.id for m, _ in found if m.id is not None])
    result.rows = [_row(m, s, brands.get(m.id or 0, [])) for m, s in found]
    return result


def _after(key: FeedKey) -> Any:
    """Rows strictly after ``key`` in feed order (published_at desc nulls last, id desc)."""
    published, ident = key
    pub, mid = col(Mention.published_at), col(Mention.id)
    if published is None:
        return and_(pub.is_(None), mid < ident)
    return or_(pub < published, and_(pub == published, mid < ident), pub.is_(None))


def _key(mention: Mention) -> FeedKey:
    assert mention.id is not None
    return (mention.published_at, mention.id)


def feed_mentions(
    session: Session,
    f: MentionFilter,
    *,
    after: FeedKey | None = None,
    limit: int = 100,
    scan_cap: int = SCAN_CAP,
) -> FeedPage:
    """One keyset page of the filtered mentions after ``after`` (see the module docstring);
    raises ``QuerySyntaxError`` for a bad ``q``."""
    base = _filtered(f)
    query = compile_query(f.q.strip()) if f.q and f.q.strip() else None
    page = FeedPage()
    found: list[tuple[Mention, MentionState | None]] = []
    position = after
    while True:
        size = limit + 1 if query is None else min(BATCH, scan_cap - page.scanned)
        stmt = base.where(_after(position)) if position is not None else base
        batch = session.exec(stmt.limit(size)).all()
        for mention, state in batch:
            page.scanned += 1
            position = _key(mention)
            if query is None or query.matches(_doc(mention)):
                found.append((mention, state))
                if len(found) > limit:
                    break
        if len(found) > limit:
            found = found[:limit]
            page.next = _key(found[-1][0])
            break
        if len(batch) < size:
            break  # the end: nothing after this page
        if page.scanned >= scan_cap:
            page.next = position  # the scan stopped here: the next page goes on from it
            break
    brands = _brands(session, [m.id for m, _ in found if m.id is not None])
    page.rows = [_row(m, s, brands.get(m.id or 0, [])) for m, s in found]
    return page


def get_row(session: Session, mention_id: int) -> InboxRow | None:
    """One mention as the inbox and the API show it, or None."""
    mention = session.get(Mention, mention_id)
    if mention is None:
        return None
    brands = _brands(session, [mention_id])
    return _row(mention, session.get(MentionState, mention_id), brands.get(mention_id, []))


def iter_rows(
    session: Session,
    f: MentionFilter,
    *,
    where: Sequence[Any] = (),
    order: Sequence[Any] = (),
    limit: int | None = None,
    chunk: int = BATCH,
) -> Iterator[InboxRow]:
    """Every row of the filter (``q`` included, no scan cap), newest first, at most ``limit``.

    Streams: the rows are read ``chunk`` at a time from one cursor (``yield_per``) and their
    brands per chunk, so exporting 100,000 mentions holds one chunk in memory, not all.
    Raises ``QuerySyntaxError`` for a bad ``q`` before the first row.
    """
    query = compile_query(f.q.strip()) if f.q and f.q.strip() else None
    stmt = _filtered(f, where=where, order=order).execution_options(yield_per=chunk)
    left = limit
    for part in session.exec(stmt).partitions():
        found = [(m, s) for m, s in part if query is None or query.matches(_doc(m))]
        if left is not None:
            found = found[:left]
            left -= len(found)
        brands = _brands(session, [m.id for m, _ in found if m.id is not None])
        for m, s in found:
            yield _row(m, s, sorted(brands.get(m.id or 0, [])))
        if left is not None and left <= 0:
            return


def count_rows(session: Session, f: MentionFilter, *, where: Sequence[Any] = ()) -> int:
    """How many rows :func:`iter_rows` would give without a limit (``q`` needs a scan)."""
    if f.q and f.q.strip():
        return sum(1 for _ in iter_rows(session, f, where=where))
    stmt = _filtered(f, where=where).order_by(None).subquery()
    return int(session.exec(select(func.count()).select_from(stmt)).one())


def facets(session: Session) -> dict[str, list[str]]:
    """Values the filter menus offer: brands, sources and languages seen in stored data."""
    brands = session.exec(select(MentionBrand.brand).distinct().order_by(MentionBrand.brand))
    sources = session.exec(select(Mention.source).distinct().order_by(Mention.source))
    langs = session.exec(
        select(Mention.language)
        .where(col(Mention.language).is_not(None))
        .distinct()
        .order_by(Mention.language)
        .limit(100)
    )
    return {
        "brand": [str(b) for b in brands],
        "source": [str(s) for s in sources],
        "language": [str(lang) for lang in langs if lang],
    }
