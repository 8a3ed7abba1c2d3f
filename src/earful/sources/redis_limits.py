"""The Redis backend of :class:`earful.sources.limits.Limits`: one set of quotas, politeness
gaps and breakers for every Celery worker on one Redis (no Lua; each step is one atomic
command, a MULTI, or a WATCH/MULTI retried on conflict).

Keys, all under ``prefix`` (default ``earful:limits:``):

* ``quota:<key>:<day>`` — units used on ``day`` (the calendar day in the quota's zone). A spend
  is ``INCRBY`` + ``EXPIREAT`` (an hour past the reset) in one MULTI; a spend that went over the
  limit is taken back at once (``DECRBY``) and refused, so the units granted never exceed the
  limit (a racing caller near the limit may be refused a little early, never late).
* ``polite:<host>`` — the time (Redis ``TIME``, µs) of the host's next free slot. A request
  reserves ``max(now, next)`` and moves ``next`` on by the gap under WATCH/MULTI; one clock
  (Redis's) for every worker, expiring once the slot has passed.
* ``breaker:fail:<origin>`` — consecutive failures (``INCR`` + ``EXPIRE`` cooldown; deleted on
  an answer); ``breaker:open:<origin>`` — set with ``PX`` cooldown when the count reaches the
  threshold; its ``PTTL`` is the wait.

Redis being unreachable is a :class:`~earful.errors.TransientSourceError` (``limits``): the poll
is retried later rather than run without its limits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from earful.clock import Clock, SystemClock
from earful.errors import TransientSourceError
from earful.sources.limits import (
    BREAKER_COOLDOWN_S,
    BREAKER_THRESHOLD,
    quota_refusal,
    seconds_until_midnight,
)

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "earful:limits:"
_KEEP_PAST_RESET_S = 3600  # a quota key outlives its day by an hour (late refunds, clock skew)
_WATCH_TRIES = 50


@contextmanager
def _mapped(what: str) -> Iterator[None]:
    """Redis errors become one transient source error (the poll is retried later)."""
    try:
        yield
    except redis.RedisError as exc:
        raise TransientSourceError(
            f"shared limits unavailable ({what}): {exc}", reason="limits"
        ) from exc


class RedisQuota:
    """A :class:`~earful.sources.limits.Quota` whose count lives in Redis."""

    def __init__(
        self,
        client: redis.Redis,
        key: str,
        limit: int,
        *,
        zone: str = "UTC",
        clock: Clock | None = None,
        name: str = "",
        default_cost: int = 1,
    ) -> None:
        if limit < 0 or default_cost < 0:
            raise ValueError("quota limit and cost must be >= 0")
        self.limit = limit
        self.name = name
        self.default_cost = default_cost
        self._client = client
        self._key = key
        self._zone = ZoneInfo(zone)
        self._clock: Clock = clock or SystemClock()

    def _day_key(self, now: datetime) -> str:
        return f"{self._key}:{now.astimezone(self._zone).date().isoformat()}"

    def spend(self, cost: int | None = None) -> int:
        """Reserve ``cost`` units; return the units left. Refuses (QuotaExceededError),
        spending nothing, a call that would go over the limit."""
        units = self.default_cost if cost is None else cost
        now = self._clock.now()
        key = self._day_key(now)
        reset_s = seconds_until_midnight(now, self._zone)
        expire_at = int(now.timestamp() + reset_s) + _KEEP_PAST_RESET_S
        with _mapped("quota"):
            pipe = self._client.pipeline(transaction=True)
            pipe.incrby(key, units)
            pipe.expireat(key, expire_at)
            used = int(pipe.execute()[0])
            if used > self.limit:
                self._client.decrby(key, units)
                left = max(0, self.limit - (used - units))
                raise quota_refusal(self.name, self.limit, left, units, reset_s)
        return self.limit - used

    def refund(self, units: int) -> None:
        """Give back units reserved for a call that was never made (today's count only)."""
        key = self._day_key(self._clock.now())
        with _mapped("quota"):
            if self._client.decrby(key, units) < 0:
                self._client.set(key, 0, keepttl=True)

    def remaining(self) -> int:
        with _mapped("quota"):
            raw = self._client.get(self._day_key(self._clock.now()))
        return self.limit - int(raw or 0)

    def seconds_until_reset(self) -> float:
        return seconds_until_midnight(self._clock.now(), self._zone)


class RedisLimits:
    """:class:`~earful.sources.limits.Limits` shared through one Redis by many processes."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        clock: Clock | None = None,
        breaker_threshold: int = BREAKER_THRESHOLD,
        breaker_cooldown_s: float = BREAKER_COOLDOWN_S,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.breaker_threshold = breaker_threshold
        self.breaker_cooldown_s = breaker_cooldown_s
        self._clock: Clock = clock or SystemClock()

    @classmethod
    def from_url(cls, url: str, **kwargs: object) -> RedisLimits:
        # Two quick retries, then the poll fails transiently: never minutes of backoff inside
        # a poll while Redis restarts.
        client = redis.Redis.from_url(
            url,
            socket_timeout=5,
            socket_connect_timeout=5,
            health_check_interval=30,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.1), 2),
        )
        return cls(client, **kwargs)  # type: ignore[arg-type]

    def quota(self, key: str, limit: int, *, zone: str = "UTC", name: str = "") -> RedisQuota:
        return RedisQuota(
            self.client,
            f"{self.prefix}quota:{key}",
            limit,
            zone=zone,
            clock=self._clock,
            name=name or key,
        )

    def reserve_slot(self, host: str, gap_s: float) -> float:
        if gap_s <= 0:
            return 0.0
        key = f"{self.prefix}polite:{host}"
        gap_us = int(gap_s * 1_000_000)
        with _mapped("politeness"), self.client.pipeline(transaction=True) as pipe:
            for _ in range(_WATCH_TRIES):
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]
                    seconds, micros = pipe.time()
                    now = int(seconds) * 1_000_000 + int(micros)
                    raw = pipe.get(key)
                    slot = max(now, int(raw) if raw else 0)
                    pipe.multi()
                    # Expire once the slot after this one has passed: nothing left to keep.
                    pipe.set(key, slot + gap_us, px=(slot + gap_us - now) // 1000 + 1000)
                    pipe.execute()
                    return (slot - now) / 1_000_000
                except redis.WatchError:
                    continue  # another worker reserved first: read its slot and go after it
        raise TransientSourceError(
            f"{host}: politeness slot still contended after {_WATCH_TRIES} tries",
            reason="limits",
        )

    def breaker_wait(self, origin: str) -> float:
        with _mapped("breaker"):
            left = int(self.client.pttl(f"{self.prefix}breaker:open:{origin}"))
        return left / 1000 if left > 0 else 0.0

    def record(self, origin: str, *, ok: bool) -> None:
        failures = f"{self.prefix}breaker:fail:{origin}"
        with _mapped("breaker"):
            if ok:
                self.client.delete(failures)
                return
            pipe = self.client.pipeline(transaction=True)
            pipe.incr(failures)
            pipe.expire(failures, int(self.breaker_cooldown_s))
            count = int(pipe.execute()[0])
            if count >= self.breaker_threshold:
                pipe = self.client.pipeline(transaction=True)
                pipe.set(
                    f"{self.prefix}breaker:open:{origin}",
                    1,
                    px=int(self.breaker_cooldown_s * 1000),
                )
                pipe.delete(failures)
                pipe.execute()
                logger.warning("circuit opened for %s after %s failures", origin, count)

    def close(self) -> None:
        self.client.close()
