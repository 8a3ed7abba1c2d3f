"""Engagement tracking: a snapshot at first sight, then adaptive re-polling of the same posts.

A post is quiet when first seen; whether it spreads shows only in how its likes, shares,
replies and views grow afterwards. Two parts (the first-sight snapshot itself is written
with the mention, by ``store.mentions.snapshot_for``):

* :func:`next_refresh_delay` — pure scheduling. Given the stored snapshots plus the counts
  just read, and the mention's age: re-poll every ``min_interval`` (10 min) while engagement
  grows fast (+50 % or more since the previous reading), keep the previous interval while it
  grows steadily (+10 % or more), double it (up to ``max_interval``, 6 h) while it slows or
  stands still, and stop (``None``) once the mention is older than ``max_age`` (7 days).
* :func:`refresh_due` — the I/O edge: picks mentions whose ``next_refresh_at`` has come,
  groups them by source, calls each connector's ``refresh`` (which batches as its API allows:
  Bluesky getPosts 25 URIs, YouTube videos.list 50 ids), updates the mention's latest counts,
  inserts snapshots and sets the next ``next_refresh_at``.

Compact storage: a refresh inserts a snapshot only when a count (or the author's followers)
changed since the latest stored one; an unchanged reading only moves ``next_refresh_at``. The
series therefore holds the points where the curve bends, and a flat stretch costs no rows.
Snapshots are unique on (mention_id, at) and indexed by it, so a refresh run twice at the same
instant inserts nothing new.

Mentions are scheduled for their first re-poll ``min_interval`` after first sight (the pipeline
stores them with ``next_refresh_at`` unset; ``refresh_due`` schedules the young ones of kinds
that can refresh). Per-source params tune the policy: ``refresh`` (false: never re-poll),
``refresh_min``, ``refresh_max``, ``refresh_max_age`` (durations like ``10m``, ``6h``, ``7d``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.clock import Clock
from earful.config.durations import parse_duration
from earful.config.models import AppConfig, SourceConfig
from earful.errors import EarfulError, SourceError, TransientSourceError
from earful.mention import RawMention, Reading
from earful.sources import KINDS, connector_for
from earful.sources.base import RefreshItem
from earful.sources.http import HttpClient
from earful.store.db import run_in_transaction
from earful.store.mentions import conflict_insert
from earful.store.models import EngagementSnapshot, Mention

logger = logging.getLogger(__name__)

FAST_GROWTH = 0.5  # +50 % since the previous reading: re-poll at the minimum interval
STEADY_GROWTH = 0.1  # +10 %: keep the current interval
SCHEDULE_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class RefreshPolicy:
    min_interval: timedelta = timedelta(minutes=10)
    max_interval: timedelta = timedelta(hours=6)
    max_age: timedelta = timedelta(days=7)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> RefreshPolicy:
        base = cls()
        return cls(
            min_interval=parse_duration(params.get("refresh_min", base.min_interval)),
            max_interval=parse_duration(params.get("refresh_max", base.max_interval)),
            max_age=parse_duration(params.get("refresh_max_age", base.max_age)),
        )


# --------------------------------------------------------------------------- pure core


def next_refresh_delay(
    history: Sequence[Any], age: timedelta, policy: RefreshPolicy | None = None
) -> timedelta | None:
    """How long until the next re-poll, or None to stop tracking.

    ``history``: readings (snapshots or :class:`Reading`) oldest first, the latest reading
    last; ``age``: how old the mention is now.
    """
    policy = policy or RefreshPolicy()
    if age > policy.max_age:
        return None
    if len(history) < 2:
        return policy.min_interval
    last, prev = history[-1], history[-2]
    last_r = last if isinstance(last, Reading) else Reading.of(last)
    prev_r = prev if isinstance(prev, Reading) else Reading.of(prev)
    interval = last_r.at - prev_r.at
    interval = min(policy.max_interval, max(policy.min_interval, interval))
    before, now = prev_r.activity(), last_r.activity()
    growth = (now - before) / max(before, 1.0)
    if growth >= FAST_GROWTH:
        delay = policy.min_interval
    elif growth >= STEADY_GROWTH:
        delay = interval
    else:
        delay = interval * 2
    return min(policy.max_interval, delay)


# --------------------------------------------------------------------------- I/O edge


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _refreshable_kinds() -> dict[str, Any]:
    kinds: dict[str, Any] = {}
    for kind in KINDS:
        try:
            module = connector_for(kind)
        except ImportError:
            continue
        if hasattr(module, "refresh"):
            kinds[kind] = module
    return kinds


def _source_for(config: AppConfig, kind: str, source_name: str | None) -> SourceConfig | None:
    if source_name:
        found = config.source(source_name)
        if found is not None and found.kind == kind:
            return found
    for source in config.sources:
        if source.kind == kind and source.enabled:
            return source
    return None


def _policies(config: AppConfig, kinds: Sequence[str]) -> dict[str, RefreshPolicy]:
    """Kinds with at least one enabled source that re-polls, with the loosest policy among
    them (the scheduling query needs one cut-off per kind)."""
    out: dict[str, RefreshPolicy] = {}
    for kind in kinds:
        sources = [
            s
            for s in config.sources
            if s.kind == kind and s.enabled and s.params.get("refresh", True) is not False
        ]
        if sources:
            policies = [RefreshPolicy.from_params(s.params) for s in sources]
            out[kind] = max(policies, key=lambda p: p.max_age)
    return out


def _schedule_new(
    session: Session,
    policies: dict[str, RefreshPolicy],
    now: datetime,
    skip_sources: Sequence[str] = (),
) -> int:
    """Give young, never-scheduled mentions their first re-poll time (not those of sources
    configured with ``refresh: false``)."""
    m = _table(Mention)
    scheduled = 0
    for kind, policy in policies.items():
        cutoff = now - policy.max_age
        young = or_(
            m.c.published_at >= cutoff, and_(m.c.published_at.is_(None), m.c.fetched_at >= cutoff)
        )
        rows = session.execute(
            select(m.c.id, m.c.fetched_at)
            .where(m.c.source == kind, m.c.next_refresh_at.is_(None), young)
            .where(or_(m.c.source_name.is_(None), m.c.source_name.not_in(list(skip_sources))))
            .limit(SCHEDULE_CHUNK)
        ).all()
        for mid, fetched in rows:
            first = fetched + policy.min_interval
            session.execute(update(m).where(m.c.id == mid).values(next_refresh_at=first))
        scheduled += len(rows)
    return scheduled


@dataclass(slots=True)
class _Due:
    id: int
    source: str
    source_name: str | None
    external_id: str
    url: str | None
    born: datetime


def _due(session: Session, kinds: Sequence[str], now: datetime, limit: int) -> list[_Due]:
    m = _table(Mention)
    rows = session.execute(
        select(
            m.c.id,
            m.c.source,
            m.c.source_name,
            m.c.external_id,
            m.c.url,
            m.c.published_at,
            m.c.fetched_at,
        )
        .where(m.c.next_refresh_at.is_not(None), m.c.next_refresh_at <= now, m.c.source.in_(kinds))
        .order_by(m.c.next_refresh_at)
        .limit(limit)
    ).all()
    return [_Due(r[0], r[1], r[2], r[3], r[4], r[5] if r[5] is not None else r[6]) for r in rows]


def _history(session: Session, ids: Sequence[int]) -> dict[int, list[Reading]]:
    s = _table(EngagementSnapshot)
    out: dict[int, list[Reading]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(s).where(s.c.mention_id.in_(ids[start : start + 500])).order_by(s.c.at)
        ).all()
        for row in rows:
            out[row.mention_id].append(Reading.of(row))
    return out


def _reading(raw: RawMention, at: datetime, previous: Reading | None) -> Reading:
    """What was just read; a count the response leaves out keeps its previous value."""
    eng = raw.engagement

    def pick(value: int | None, name: str) -> int | None:
        return value if value is not None else getattr(previous, name, None)

    return Reading(
        at=at,
        likes=pick(eng.likes, "likes"),
        shares=pick(eng.shares, "shares"),
        comments=pick(eng.comments, "comments"),
        views=pick(eng.views, "views"),
        author_followers=pick(raw.author_followers, "author_followers"),
    )


def _store(
    session: Session,
    due: list[_Due],
    fresh: dict[str, RawMention],
    policy: RefreshPolicy,
    now: datetime,
    *,
    failed_delay: timedelta | None,
) -> int:
    """Write one group's results: counts, snapshots that changed, next refresh times."""
    m, s = _table(Mention), _table(EngagementSnapshot)
    history = _history(session, [d.id for d in due])
    snapshots: list[dict[str, Any]] = []
    refreshed = 0
    for item in due:
        age = now - item.born
        raw = fresh.get(item.external_id)
        if raw is None:
            # Not returned (deleted, private, or the call failed): look again later, slowly.
            wait = failed_delay if failed_delay is not None else policy.max_interval
            nxt = None if age > policy.max_age else now + wait
            session.execute(update(m).where(m.c.id == item.id).values(next_refresh_at=nxt))
            continue
        refreshed += 1
        past = history.get(item.id, [])
        reading = _reading(raw, now, past[-1] if past else None)
        if not past or not reading.same_counts(past[-1]):
            snapshots.append({"mention_id": item.id, "at": now, **_reading_counts(reading)})
        delay = next_refresh_delay([*past, reading], age, policy)
        values: dict[str, Any] = {
            name: value for name, value in _reading_counts(reading).items() if value is not None
        }
        values["updated_at"] = now
        values["next_refresh_at"] = now + delay if delay is not None else None
        session.execute(update(m).where(m.c.id == item.id).values(**values))
    if snapshots:
        stmt = conflict_insert(session, s).on_conflict_do_nothing(
            index_elements=["mention_id", "at"]
        )
        session.execute(stmt, snapshots)
    return refreshed


def _reading_counts(r: Reading) -> dict[str, int | None]:
    return {
        "likes": r.likes,
        "shares": r.shares,
        "comments": r.comments,
        "views": r.views,
        "author_followers": r.author_followers,
    }


def refresh_due(
    engine: Engine, http: HttpClient, config: AppConfig, clock: Clock, *, limit: int = 500
) -> int:
    """Re-poll up to ``limit`` mentions whose ``next_refresh_at`` has come; returns how many
    were read back. A source error is logged and only delays that group's mentions."""
    now = clock.now()
    modules = _refreshable_kinds()
    policies = _policies(config, list(modules))
    if not policies:
        return 0

    skip = [s.name for s in config.sources if s.params.get("refresh", True) is False]

    def pick(session: Session) -> list[_Due]:
        _schedule_new(session, policies, now, skip)
        return _due(session, list(policies), now, limit)

    due = run_in_transaction(engine, pick)
    groups: dict[str, list[_Due]] = defaultdict(list)
    sources: dict[str, SourceConfig] = {}
    for item in due:
        source = _source_for(config, item.source, item.source_name)
        if source is not None:
            sources[source.name] = source
            groups[source.name].append(item)
    total = 0
    for name, items in groups.items():
        source = sources[name]
        total += _refresh_group(engine, http, modules[source.kind], source, items, now)
    logger.info("engagement: %s of %s due mentions refreshed", total, len(due))
    return total


def _refresh_group(
    engine: Engine,
    http: HttpClient,
    module: Any,
    source: SourceConfig,
    items: list[_Due],
    now: datetime,
) -> int:
    policy = RefreshPolicy.from_params(source.params)
    if source.params.get("refresh", True) is False:
        policy = RefreshPolicy(max_age=timedelta(0))  # stop tracking this source's mentions
    refresh_items = [RefreshItem(i.id, i.source, i.external_id, i.url) for i in items]
    fresh: dict[str, RawMention] = {}
    failed: timedelta | None = None
    if policy.max_age > timedelta(0):
        try:
            for raw in module.refresh(http, source, refresh_items):
                fresh[raw.external_id] = raw
        except TransientSourceError as exc:
            logger.warning("refresh %s: %s", source.name, exc)
            failed = max(policy.min_interval, timedelta(seconds=exc.retry_after or 0))
        except (SourceError, EarfulError) as exc:
            logger.warning("refresh %s failed (%s): %s", source.name, exc.reason, exc)
            failed = policy.max_interval

    def store(session: Session) -> int:
        return _store(session, items, fresh, policy, now, failed_delay=failed)

    return run_in_transaction(engine, store)
