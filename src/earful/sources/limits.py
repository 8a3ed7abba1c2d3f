"""Quotas, politeness gaps, circuit breakers and rate-limit signals shared by connectors.

* :class:`Limits` — what every HTTP request and quota-spending connector consults: daily quotas
  (:class:`Quota`), the politeness slot of a host, and the circuit breaker of an origin. Two
  backends: :class:`LocalLimits` (this process; ``earful run`` and ``sources test``) and
  :class:`earful.sources.redis_limits.RedisLimits` (one Redis shared by every Celery worker, so
  N workers spend one quota and hit a host as often as one). :func:`make_limits` picks one from
  the settings; the caller passes it into ``make_client`` — there is no process-wide instance.
* :class:`DailyQuota` — a thread-safe budget of API units per day (YouTube's 10,000 units,
  Stack Exchange's 300/10,000 requests, ...). ``spend(cost)`` refuses, with
  :class:`~earful.errors.QuotaExceededError`, a call that would exceed the limit, *before* the
  call is made; the budget resets at midnight in a chosen zone (UTC by default; YouTube resets
  at midnight Pacific). Time comes from an injected clock.
* :func:`read_rate_limit` — ``X-RateLimit-Remaining``/``X-RateLimit-Reset`` (GitHub: reset is an
  epoch), ``X-Ratelimit-Remaining``/``X-Ratelimit-Reset`` (Reddit: reset is seconds from now)
  -> :class:`RateLimit` (remaining, reset_seconds).
* :func:`resolve_secret` / :func:`param_list` / :func:`as_int` — small helpers every connector
  needs to read its ``params`` (``${ENV_VAR}`` secrets, "a, b" or ["a", "b"] lists) and
  payload counts (ints that sometimes arrive as strings).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from earful.clock import Clock, SystemClock
from earful.errors import QuotaExceededError

if TYPE_CHECKING:
    from earful.settings import Settings

logger = logging.getLogger(__name__)

# A reset header larger than this is an epoch timestamp, not a delta (GitHub sends epochs,
# Reddit sends seconds-until-reset; ten years of seconds separates them safely).
_EPOCH_THRESHOLD = 10 * 365 * 86400
_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")

# Consecutive transport failures or 5xx answers of one origin that open its breaker, and how
# long it then stays open.
BREAKER_THRESHOLD = 5
BREAKER_COOLDOWN_S = 300.0


class Quota(Protocol):
    """A daily budget of API units (see :class:`DailyQuota` for the contract)."""

    limit: int
    name: str

    def spend(self, cost: int | None = None) -> int: ...

    def refund(self, units: int) -> None: ...

    def remaining(self) -> int: ...

    def seconds_until_reset(self) -> float: ...


class Limits(Protocol):
    """Quotas, politeness and breakers, shared by everyone holding the same backend.

    * ``quota(key, limit, zone=, name=)`` — the daily budget ``key`` (callers sharing a key,
      e.g. sources with the same API key, share its units); ``name`` labels its errors.
    * ``reserve_slot(host, gap_s)`` — reserve the next request slot of ``host``, at least
      ``gap_s`` after the previous one; returns the seconds to wait before sending.
    * ``breaker_wait(origin)`` — 0 while the breaker of ``origin`` (scheme://host:port) is
      closed, else the seconds until it closes.
    * ``record(origin, ok=)`` — an outcome: ``ok=False`` for a transport failure or a 5xx (the
      only things that count), ``ok=True`` for any other answer (resets the count).
    """

    def quota(self, key: str, limit: int, *, zone: str = "UTC", name: str = "") -> Quota: ...

    def reserve_slot(self, host: str, gap_s: float) -> float: ...

    def breaker_wait(self, origin: str) -> float: ...

    def record(self, origin: str, *, ok: bool) -> None: ...

    def close(self) -> None: ...


def seconds_until_midnight(now: datetime, zone: ZoneInfo) -> float:
    """Real seconds from ``now`` to the next midnight in ``zone`` (a DST day is 23 or 25 h)."""
    local = now.astimezone(zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time())
    # Subtract in UTC: same-zone aware subtraction ignores a DST change in between.
    end = midnight.replace(tzinfo=zone).astimezone(UTC)
    return max(0.0, (end - now.astimezone(UTC)).total_seconds())


def quota_refusal(name: str, limit: int, left: int, units: int, reset_s: float) -> Exception:
    """The one QuotaExceededError every backend raises."""
    return QuotaExceededError(
        f"{name or 'source'}: daily quota of {limit} units would be exceeded ({left} left, "
        f"call costs {units}); waiting for the reset in {reset_s:.0f}s",
        source=name,
        reason="quota",
    )


class _DayCount:
    """Units used on one day, shared by every DailyQuota of one key."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.day: date | None = None
        self.used = 0


class DailyQuota:
    """A per-day budget of API units, safe to share between threads.

    ``limit`` units per day; ``default_cost`` is what one call costs unless ``spend`` is told
    otherwise. The day is the calendar day in ``zone`` (reset at its midnight). Quotas built
    with the same ``count`` (``LocalLimits.quota`` of one key) spend from one count.
    """

    def __init__(
        self,
        limit: int,
        *,
        default_cost: int = 1,
        zone: str = "UTC",
        clock: Clock | None = None,
        name: str = "",
        count: _DayCount | None = None,
    ) -> None:
        if limit < 0 or default_cost < 0:
            raise ValueError("quota limit and cost must be >= 0")
        self.limit = limit
        self.default_cost = default_cost
        self.name = name
        self._zone = ZoneInfo(zone)
        self._clock: Clock = clock or SystemClock()
        self._count = count or _DayCount()
        self._lock = self._count.lock

    def _roll(self) -> None:
        today = self._clock.now().astimezone(self._zone).date()
        if today != self._count.day:
            self._count.day = today
            self._count.used = 0

    def spend(self, cost: int | None = None) -> int:
        """Reserve ``cost`` units (default: ``default_cost``); return the units left.

        Raises QuotaExceededError, spending nothing, when the call would go over the limit.
        """
        units = self.default_cost if cost is None else cost
        with self._lock:
            self._roll()
            if self._count.used + units > self.limit:
                left = self.limit - self._count.used
                raise quota_refusal(
                    self.name, self.limit, left, units, self.seconds_until_reset_locked()
                )
            self._count.used += units
            return self.limit - self._count.used

    def refund(self, units: int) -> None:
        """Give back units reserved for a call that was never made."""
        with self._lock:
            self._count.used = max(0, self._count.used - units)

    def remaining(self) -> int:
        with self._lock:
            self._roll()
            return self.limit - self._count.used

    def observe_remaining(self, remaining: int) -> None:
        """Align with what the API itself reports (another process may share the key)."""
        with self._lock:
            self._roll()
            self._count.used = max(self._count.used, self.limit - max(0, remaining))

    def seconds_until_reset(self) -> float:
        with self._lock:
            return self.seconds_until_reset_locked()

    def seconds_until_reset_locked(self) -> float:
        return seconds_until_midnight(self._clock.now(), self._zone)


class LocalLimits:
    """:class:`Limits` of one process, shared by all its threads (embedded mode).

    Politeness and breaker times come from ``monotonic``; quota days from ``clock``.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        breaker_threshold: int = BREAKER_THRESHOLD,
        breaker_cooldown_s: float = BREAKER_COOLDOWN_S,
    ) -> None:
        self._clock: Clock = clock or SystemClock()
        self._monotonic = monotonic
        self.breaker_threshold = breaker_threshold
        self.breaker_cooldown_s = breaker_cooldown_s
        self._lock = threading.Lock()
        self._counts: dict[str, _DayCount] = {}
        self._next_slot: dict[str, float] = {}
        self._failures: dict[str, int] = {}
        self._open_until: dict[str, float] = {}

    def quota(self, key: str, limit: int, *, zone: str = "UTC", name: str = "") -> DailyQuota:
        with self._lock:
            count = self._counts.setdefault(key, _DayCount())
        return DailyQuota(limit, zone=zone, clock=self._clock, name=name or key, count=count)

    def reserve_slot(self, host: str, gap_s: float) -> float:
        with self._lock:
            now = self._monotonic()
            slot = max(now, self._next_slot.get(host, 0.0))
            self._next_slot[host] = slot + gap_s
        return slot - now

    def breaker_wait(self, origin: str) -> float:
        with self._lock:
            return max(0.0, self._open_until.get(origin, 0.0) - self._monotonic())

    def record(self, origin: str, *, ok: bool) -> None:
        with self._lock:
            if ok:
                self._failures.pop(origin, None)
                return
            count = self._failures.get(origin, 0) + 1
            self._failures[origin] = count
            if count >= self.breaker_threshold:
                self._open_until[origin] = self._monotonic() + self.breaker_cooldown_s
                self._failures[origin] = 0
                logger.warning("circuit opened for %s after %s failures", origin, count)

    def close(self) -> None:
        return None


def make_limits(settings: Settings, *, distributed: bool) -> Limits:
    """The limits a runner shares: Redis (``limits_url``, else the broker) for the Celery
    workers, this process's own for ``earful run`` and the CLI."""
    if not distributed:
        return LocalLimits()
    from earful.sources.redis_limits import RedisLimits

    return RedisLimits.from_url(settings.limits_url or settings.broker_url)


@dataclass(frozen=True, slots=True)
class RateLimit:
    remaining: int | None
    reset_seconds: float | None
    limit: int | None = None

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0


def _header_number(headers: Mapping[str, str], *names: str) -> float | None:
    for name in names:
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            return float(raw.strip())
        except ValueError:
            logger.debug("ignoring non-numeric %s header %r", name, raw)
    return None


def read_rate_limit(headers: Mapping[str, str], *, now_epoch: float) -> RateLimit:
    """Remaining calls and seconds until the window resets, from rate-limit headers.

    Header lookup is case-insensitive when ``headers`` is an ``httpx.Headers``; both the
    ``X-RateLimit-*`` and ``X-Ratelimit-*`` spellings are read. A reset value that looks like
    an epoch is turned into seconds from ``now_epoch``.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    remaining = _header_number(lowered, "x-ratelimit-remaining")
    limit = _header_number(lowered, "x-ratelimit-limit")
    reset = _header_number(lowered, "x-ratelimit-reset")
    reset_seconds: float | None = None
    if reset is not None:
        reset_seconds = max(0.0, reset - now_epoch) if reset > _EPOCH_THRESHOLD else reset
    return RateLimit(
        remaining=int(remaining) if remaining is not None else None,
        reset_seconds=reset_seconds,
        limit=int(limit) if limit is not None else None,
    )


def resolve_secret(value: object, *, env: Mapping[str, str] | None = None) -> str | None:
    """A secret from config params: ``"${NAME}"`` reads the environment, "" or unset is None."""
    if value is None:
        return None
    text = str(value).strip()
    match = _ENV_REF.match(text)
    if match:
        source = os.environ if env is None else env
        text = source.get(match.group(1), "").strip()
    return text or None


def param_list(params: Mapping[str, Any], key: str) -> list[str]:
    """A list param given as a YAML list or a comma-separated string; blanks dropped."""
    value = params.get(key)
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    return [item.strip() for item in items if item.strip()]


def as_int(value: object) -> int | None:
    """An integer count from a payload (ints, floats, digit strings); anything else is None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+", text):
            return int(text)
    return None
