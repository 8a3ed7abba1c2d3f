"""Both Limits backends keep one contract: quotas refuse before exceeding and are shared by
key, politeness slots are a gap apart, breakers open per origin after the threshold and an
answer resets the count. The Redis backend runs on the real Redis (``EARFUL_TEST_REDIS``, db
13 by convention), and is also shared between separate clients, as between workers."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from earful.clock import SimulatedClock
from earful.errors import QuotaExceededError, TransientSourceError
from earful.sources.limits import Limits, LocalLimits
from earful.sources.redis_limits import RedisLimits
from tests.conftest import REDIS_URL, need

NOW = datetime.now(UTC).replace(microsecond=0)


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        need(False, f"Redis at {REDIS_URL} (EARFUL_TEST_REDIS) is not reachable: {exc}")
    return client


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test alone; its keys are deleted afterwards."""
    name = f"earful-test:{uuid.uuid4().hex}:"
    yield name
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        keys = list(client.scan_iter(f"{name}*"))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass
    finally:
        client.close()


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW)


@pytest.fixture(params=["local", "redis"])
def limits(request: pytest.FixtureRequest, prefix: str, clock: SimulatedClock) -> Iterator[Limits]:
    backend: Limits
    if request.param == "local":
        backend = LocalLimits(clock=clock, breaker_threshold=3, breaker_cooldown_s=60)
    else:
        backend = RedisLimits(
            _redis_or_skip(), prefix=prefix, clock=clock, breaker_threshold=3, breaker_cooldown_s=60
        )
    yield backend
    backend.close()


def test_quota_refuses_before_exceeding_and_is_shared_by_key(limits: Limits) -> None:
    first = limits.quota("yt:key1", 250, zone="America/Los_Angeles", name="yt-a")
    second = limits.quota("yt:key1", 250, zone="America/Los_Angeles", name="yt-b")
    assert first.spend(100) == 150
    assert second.spend(100) == 50  # the same key: the same units
    with pytest.raises(QuotaExceededError) as info:
        second.spend(100)
    assert info.value.reason == "quota" and info.value.source == "yt-b"
    assert "daily quota of 250" in str(info.value)
    assert first.remaining() == 50  # the refused call spent nothing
    first.refund(30)
    assert second.remaining() == 80
    assert limits.quota("yt:key2", 250).remaining() == 250  # another key, its own budget
    assert 0 < first.seconds_until_reset() <= 25 * 3600


def test_quota_resets_with_the_day_of_its_zone(limits: Limits, clock: SimulatedClock) -> None:
    quota = limits.quota("daily", 10, zone="UTC")
    quota.spend(10)
    with pytest.raises(QuotaExceededError):
        quota.spend(1)
    clock.advance(timedelta(days=1))
    assert quota.remaining() == 10
    assert quota.spend(1) == 9


def test_politeness_slots_are_a_gap_apart_per_host(limits: Limits) -> None:
    waits = [limits.reserve_slot("api.example.org", 5.0) for _ in range(3)]
    assert waits[0] == pytest.approx(0.0, abs=0.5)
    # Each slot is 5 s after the one before (less the few ms the test itself took).
    assert waits[1] == pytest.approx(5.0, abs=0.5)
    assert waits[2] == pytest.approx(10.0, abs=0.5)
    assert limits.reserve_slot("other.example.org", 5.0) == pytest.approx(0.0, abs=0.5)


def test_breaker_opens_per_origin_and_an_answer_resets_the_count(limits: Limits) -> None:
    sick, healthy = "https://h.example.org:443", "https://h.example.org:8443"
    limits.record(sick, ok=False)
    limits.record(sick, ok=False)
    limits.record(sick, ok=True)  # answered: the count starts again
    limits.record(sick, ok=False)
    limits.record(sick, ok=False)
    assert limits.breaker_wait(sick) == 0
    limits.record(sick, ok=False)  # third in a row
    assert 0 < limits.breaker_wait(sick) <= 60
    assert limits.breaker_wait(healthy) == 0


def test_redis_quota_is_shared_by_separate_clients(prefix: str) -> None:
    # Four clients (as four workers) race for 300 units, 1 unit a call: exactly 300 granted.
    backends = [RedisLimits(_redis_or_skip(), prefix=prefix) for _ in range(4)]
    granted: list[int] = []
    refused: list[int] = []
    lock = threading.Lock()

    def spend(backend: RedisLimits) -> None:
        quota = backend.quota("shared", 300)
        for _ in range(100):
            try:
                quota.spend(1)
            except QuotaExceededError:
                with lock:
                    refused.append(1)
            else:
                with lock:
                    granted.append(1)

    threads = [threading.Thread(target=spend, args=(b,)) for b in backends]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (len(granted), len(refused)) == (300, 100)
    assert backends[0].quota("shared", 300).remaining() == 0
    for backend in backends:
        backend.close()


def test_redis_politeness_is_shared_by_separate_clients(prefix: str) -> None:
    # Slots reserved from four clients at once are all distinct, a gap apart.
    backends = [RedisLimits(_redis_or_skip(), prefix=prefix) for _ in range(4)]
    waits: list[float] = []
    lock = threading.Lock()

    def reserve(backend: RedisLimits) -> None:
        for _ in range(5):
            wait = backend.reserve_slot("shared.example.org", 1.0)
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=reserve, args=(b,)) for b in backends]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slots = sorted(round(w) for w in waits)
    assert slots == list(range(20))
    for backend in backends:
        backend.close()


def test_redis_keys_expire(prefix: str) -> None:
    client = _redis_or_skip()
    backend = RedisLimits(client, prefix=prefix)
    backend.quota("k", 10).spend(1)
    backend.reserve_slot("h.example.org", 2.0)
    backend.record("https://h.example.org:443", ok=False)
    for key in client.scan_iter(f"{prefix}*"):
        assert client.ttl(key) > 0, key  # nothing stays in Redis for ever
    backend.close()


def test_unreachable_redis_is_a_transient_error() -> None:
    client = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    backend = RedisLimits(client)
    with pytest.raises(TransientSourceError) as info:
        backend.reserve_slot("h.example.org", 1.0)
    assert info.value.reason == "limits"
    with pytest.raises(TransientSourceError):
        backend.quota("k", 10).spend(1)
    with pytest.raises(TransientSourceError):
        backend.breaker_wait("https://h.example.org:443")
    backend.close()
