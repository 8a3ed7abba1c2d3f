"""Keeping each brand's window state in step with the store, for all brands of a batch at once.

Contract: :func:`windows_for` hands back the :class:`BrandWindow` of every brand of a batch,
brought up to date with the stored rows — rebuilt when missing or stale (a restart starts
here), else synced with the wanted mentions, the brand's mentions stored since the last sync,
the snapshots taken and the annotations made since (so rows other processes wrote are seen
too). The sync reads are shared by the batch's brands: a feed body that names ten brands
costs one round of queries, not ten. Pure reads: the caller owns the transaction (and holds
the brands' locks, see ``evaluation.lock_brand``).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.config.models import AppConfig
from earful.risk.members import (
    ANNOTATED,
    LATE_SNAPSHOTS,
    NEW_SNAPSHOTS,
    NEWEST_ANNOTATION,
    brand_ids,
    links_above,
    load_members,
    load_members_by_id,
    max_snapshot_id,
)
from earful.risk.window import BrandWindow

# Rows another transaction stored may commit after this process synced past their ids: the
# last ``_COMMIT_LAG`` ids below the high-water mark (and snapshots taken in the last
# ``_LATE_SNAPSHOT``) are looked at again on every sync, on databases that allow it.
_COMMIT_LAG = 2000
_LATE_SNAPSHOT = timedelta(minutes=10)

_WINDOWS: weakref.WeakKeyDictionary[Engine, dict[tuple[object, ...], BrandWindow]] = (
    weakref.WeakKeyDictionary()
)


def forget_windows(engine: Engine) -> None:
    """Drop this process's window states for ``engine`` (the next evaluation rebuilds them
    from the database, as after a restart)."""
    _WINDOWS.pop(engine, None)


def _cache(session: Session) -> dict[tuple[object, ...], BrandWindow]:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return _WINDOWS.setdefault(engine, {})


def _rebuild(session: Session, brand: str, *, now: datetime, config: AppConfig) -> BrandWindow:
    cfg = config.risk
    span = timedelta(hours=cfg.incident_window_h)
    state = BrandWindow(
        window=span,
        phrase_window=timedelta(hours=cfg.phrase_window_h),
        jaccard_min=cfg.near_duplicate_jaccard,
        names=tuple(config.brand_names(brand)),
    )
    state.max_snapshot_id = max_snapshot_id(session)
    newest = session.connection().execute(NEWEST_ANNOTATION).scalar()
    state.annotated_at = newest or state.annotated_at
    members = load_members(session, brand, since=now - span, now=now)
    for m in sorted(members, key=lambda m: (m.published_at, m.key)):
        state.add(m, seen_at=now)
    state.max_mention_id = max([state.max_mention_id, *brand_ids(session, brand, above=0)])
    state.built_from = now - span
    return state


def windows_for(
    session: Session, wanted: Mapping[str, set[int]], *, now: datetime, config: AppConfig
) -> dict[str, BrandWindow]:
    """Each brand's window state, with its ``wanted`` mentions in it (see the module
    docstring)."""
    cfg = config.risk
    cache = _cache(session)
    states: dict[str, BrandWindow] = {}
    syncing: list[str] = []
    for brand in wanted:
        names = tuple(config.brand_names(brand))
        key = (brand, cfg.incident_window_h, cfg.phrase_window_h, cfg.near_duplicate_jaccard, names)
        state = cache.get(key)
        if state is None or state.stale(now):
            cache[key] = states[brand] = _rebuild(session, brand, now=now, config=config)
        else:
            states[brand] = state
            syncing.append(brand)
    if syncing:
        _sync(session, {b: states[b] for b in syncing}, wanted, now=now)
    return states


def _sync(
    session: Session,
    states: Mapping[str, BrandWindow],
    wanted: Mapping[str, set[int]],
    *,
    now: datetime,
) -> None:
    conn = session.connection()
    brands = sorted(states)
    # PostgreSQL hands out ids before commit, so rows can commit below the high-water mark
    # this process already synced past; SQLite's single writer cannot.
    late_rows = session.get_bind().dialect.name != "sqlite"
    lag = _COMMIT_LAG if late_rows else 0
    fresh: dict[str, set[int]] = {b: set() for b in brands}
    floors = {b: max(0, states[b].max_mention_id - lag) for b in brands}
    for mid, brand in conn.execute(links_above(floors)):
        if mid not in states[brand].members:
            fresh[brand].add(int(mid))
    changed: dict[str, set[int]] = {b: set() for b in brands}
    old_snapshots = {b: s.max_snapshot_id for b, s in states.items()}
    new_snaps = conn.execute(NEW_SNAPSHOTS, {"above": min(old_snapshots.values())}).all()
    # Annotations people made since the last sync (irrelevant, spam, a corrected label).
    marks = {b: s.annotated_at for b, s in states.items()}
    annotated = conn.execute(ANNOTATED, {"after": min(marks.values())}).all()
    for brand, state in states.items():
        for r in new_snaps:
            if r.id > old_snapshots[brand]:
                state.max_snapshot_id = max(state.max_snapshot_id, int(r.id))
                if r.mention_id in state.members:
                    changed[brand].add(int(r.mention_id))
        for a in annotated:
            if a.updated_at > marks[brand]:
                state.annotated_at = max(state.annotated_at, a.updated_at)
                if a.mention_id in state.members:
                    changed[brand].add(int(a.mention_id))
    if late_rows:
        late = {
            "above": max(0, min(old_snapshots.values()) - _COMMIT_LAG),
            "upto": max(old_snapshots.values()),
            "since": now - _LATE_SNAPSHOT,
        }
        touched = {int(i) for (i,) in conn.execute(LATE_SNAPSHOTS, late)}
        for brand, state in states.items():
            changed[brand] |= {i for i in touched if i in state.members}
    reload: set[int] = set()
    for brand in brands:
        reload |= wanted.get(brand, set()) | fresh[brand] | changed[brand]
    reload.discard(0)
    loaded = sorted(
        load_members_by_id(session, reload, now=now), key=lambda m: (m.published_at, m.key)
    )
    for brand, state in states.items():
        mine = wanted.get(brand, set()) | fresh[brand] | changed[brand]
        for m in loaded:
            if m.mention_id in mine:
                state.add(m, seen_at=now)
