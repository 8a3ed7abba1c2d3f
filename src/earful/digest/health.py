"""Source health for the digest: every source that could feed this brand, with its status.

A digest must never hide a blind spot, so every relevant source is listed, and anything but
``ok`` is spelled out:

* ``failing`` — the latest polls fail (consecutive failures, last error and reason);
* ``recovered`` — it failed during the period but works again (mentions may be missing);
* ``disabled`` — switched off in config or by Earful (e.g. the source is gone);
* ``never_polled`` — configured but no poll was ever recorded;
* ``stale`` — not polled since the period began (the runner is stopped or stuck);
* ``silent`` — polled, but no item at all since the period began (a broken query or feed?).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Connection

from earful.config.models import SourceConfig
from earful.digest.data import SourceHealth, plain
from earful.store.models import SourceState

logger = logging.getLogger(__name__)

_STATE_COLUMNS = (
    "name", "kind", "enabled", "last_polled_at", "last_ok_at", "last_error_at", "last_error",
    "last_error_reason", "consecutive_failures", "disabled_reason", "last_nonempty_at",
)  # fmt: skip
STATUS_ORDER = ("failing", "disabled", "never_polled", "stale", "silent", "recovered", "ok")


def _fmt(when: datetime | None, zone: ZoneInfo) -> str:
    if when is None:
        return "never"
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def assess_source(
    name: str,
    kind: str | None,
    *,
    configured_enabled: bool,
    state: SourceState | None,
    start: datetime,
    zone: ZoneInfo,
) -> SourceHealth:
    """The health of one source for a period beginning at ``start`` (pure)."""
    if not configured_enabled:
        return SourceHealth(name, kind, "disabled", "disabled in config: nothing is collected")
    if state is None:
        return SourceHealth(name, kind, "never_polled", "no poll recorded yet: a blind spot")
    kind = kind or state.kind
    last_ok, last_err = state.last_ok_at, state.last_error_at
    last_poll, last_items = state.last_polled_at, state.last_nonempty_at
    error = plain(state.last_error)[:200]
    reason = state.last_error_reason or "error"
    if state.disabled_reason or not state.enabled:
        why = state.disabled_reason or "disabled"
        return SourceHealth(name, kind, "disabled", f"disabled by Earful: {why}")
    if state.consecutive_failures > 0:
        detail = (
            f"{state.consecutive_failures} failed poll(s) in a row, last at {_fmt(last_err, zone)}"
            f" ({reason}: {error or 'no message'}); last success {_fmt(last_ok, zone)}"
        )
        return SourceHealth(name, kind, "failing", detail)
    if last_poll is None or last_poll < start:
        return SourceHealth(
            name, kind, "stale", f"not polled during the period (last poll {_fmt(last_poll, zone)})"
        )
    if last_items is None or last_items < start:
        return SourceHealth(
            name,
            kind,
            "silent",
            f"polled but returned no items since {_fmt(start, zone)} "
            f"(last items {_fmt(last_items, zone)})",
        )
    if last_err is not None and last_err >= start:
        return SourceHealth(
            name,
            kind,
            "recovered",
            f"failed at {_fmt(last_err, zone)} ({reason}), working again since "
            f"{_fmt(last_ok, zone)}: mentions from that gap may be missing",
        )
    return SourceHealth(name, kind, "ok", f"last success {_fmt(last_ok, zone)}")


def read_source_health(
    conn: Connection,
    *,
    brand: str,
    sources: Sequence[SourceConfig],
    start: datetime,
    zone: ZoneInfo,
) -> list[SourceHealth]:
    """Health of the configured sources that may carry ``brand`` (all stored sources when the
    config lists none), problems first."""
    t = SourceState.__table__  # type: ignore[attr-defined]
    # Only the columns read here: other features may add columns to source_state.
    cols = [t.c[name] for name in _STATE_COLUMNS]
    states = {
        row.name: SourceState.model_validate(dict(row._mapping))
        for row in conn.execute(select(*cols))
    }
    relevant = [
        s for s in sources if s.brands is None or brand.lower() in {b.lower() for b in s.brands}
    ]
    results: list[SourceHealth]
    if relevant:
        results = [
            assess_source(
                s.name,
                s.kind,
                configured_enabled=s.enabled,
                state=states.get(s.name),
                start=start,
                zone=zone,
            )
            for s in relevant
        ]
    elif not sources:
        results = [
            assess_source(
                st.name, st.kind, configured_enabled=True, state=st, start=start, zone=zone
            )
            for st in states.values()
        ]
    else:
        results = []
    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    results.sort(key=lambda h: (order.get(h.status, 0), h.source))
    return results
