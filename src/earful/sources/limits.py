"""Quotas and rate-limit signals shared by connectors.

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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from earful.clock import Clock, SystemClock
from earful.errors import QuotaExceededError

logger = logging.getLogger(__name__)

# A reset header larger than this is an epoch timestamp, not a delta (GitHub sends epochs,
# Reddit sends seconds-until-reset; ten years of seconds separates them safely).
_EPOCH_THRESHOLD = 10 * 365 * 86400
_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


class DailyQuota:
    """A per-day budget of API units, safe to share between threads.

    ``limit`` units per day; ``default_cost`` is what one call costs unless ``spend`` is told
    otherwise. The day is the calendar day in ``zone`` (reset at its midnight).
    """

    def __init__(
        self,
        limit: int,
        *,
        default_cost: int = 1,
        zone: str = "UTC",
        clock: Clock | None = None,
        name: str = "",
    ) -> None:
        if limit < 0 or default_cost < 0:
            raise ValueError("quota limit and cost must be >= 0")
        self.limit = limit
        self.default_cost = default_cost
        self.name = name
        self._zone = ZoneInfo(zone)
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._day: date | None = None
        self._used = 0

    def _roll(self) -> None:
        today = self._clock.now().astimezone(self._zone).date()
        if today != self._day:
            self._day = today
            self._used = 0

    def spend(self, cost: int | None = None) -> int:
        """Reserve ``cost`` units (default: ``default_cost``); return the units left.

        Raises QuotaExceededError, spending nothing, when the call would go over the limit.
        """
        units = self.default_cost if cost is None else cost
        with self._lock:
            self._roll()
            if self._used + units > self.limit:
                left = self.limit - self._used
                raise QuotaExceededError(
                    f"{self.name or 'source'}: daily quota of {self.limit} units would be "
                    f"exceeded ({left} left, call costs {units}); waiting for the reset in "
                    f"{self.seconds_until_reset_locked():.0f}s",
                    source=self.name,
                    reason="quota",
                )
            self._used += units
            return self.limit - self._used

    def refund(self, units: int) -> None:
        """Give back units reserved for a call that was never made."""
        with self._lock:
            self._used = max(0, self._used - units)

    def remaining(self) -> int:
        with self._lock:
            self._roll()
            return self.limit - self._used

    def observe_remaining(self, remaining: int) -> None:
        """Align with what the API itself reports (another process may share the key)."""
        with self._lock:
            self._roll()
            self._used = max(self._used, self.limit - max(0, remaining))

    def seconds_until_reset(self) -> float:
        with self._lock:
            return self.seconds_until_reset_locked()

    def seconds_until_reset_locked(self) -> float:
        now = self._clock.now().astimezone(self._zone)
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time())
        # Subtract in UTC: same-zone aware subtraction ignores a DST change in between.
        end = midnight.replace(tzinfo=self._zone).astimezone(UTC)
        return max(0.0, (end - now.astimezone(UTC)).total_seconds())


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
