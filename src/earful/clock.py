"""Injected time: the core asks a clock, never ``datetime.now()``.

Replay and SLA tests run the real code on a :class:`SimulatedClock`.
All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that only moves when told to (replay, tests)."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        when = ensure_utc(when)
        if when < self._now:
            raise ValueError(f"simulated time cannot go backwards: {when} < {self._now}")
        self._now = when

    def advance(self, delta: timedelta) -> None:
        self._now = self._now + delta


def ensure_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (databases such as SQLite drop the offset)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_iso(text: str) -> datetime:
    """An ISO 8601 string (a trailing ``Z`` allowed) as aware UTC; naive is taken as UTC.

    The one reader of outside time strings, so every edge agrees; raises ``ValueError``.
    """
    return ensure_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def isoformat_z(value: datetime) -> str:
    """UTC ISO 8601 with a ``Z`` suffix, seconds precision."""
    return ensure_utc(value).replace(microsecond=0).isoformat().replace("+00:00", "Z")
