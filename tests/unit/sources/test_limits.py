"""Daily quotas (refuse before exceeding, reset at midnight in a zone, thread-safe) and the
rate-limit header reader shared by connectors."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from earful.clock import SimulatedClock
from earful.errors import QuotaExceededError
from earful.sources.limits import (
    DailyQuota,
    as_int,
    param_list,
    read_rate_limit,
    resolve_secret,
)


def test_quota_refuses_the_call_that_would_exceed_and_spends_nothing() -> None:
    clock = SimulatedClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    quota = DailyQuota(250, default_cost=100, clock=clock, name="yt")
    assert quota.spend() == 150
    assert quota.spend() == 50
    with pytest.raises(QuotaExceededError) as info:
        quota.spend()
    assert "daily quota of 250" in str(info.value) and info.value.source == "yt"
    assert quota.remaining() == 50  # the refused call spent nothing
    assert quota.spend(50) == 0


def test_quota_resets_at_utc_midnight() -> None:
    clock = SimulatedClock(datetime(2026, 3, 2, 23, 59, tzinfo=UTC))
    quota = DailyQuota(10, clock=clock)
    quota.spend(10)
    assert quota.seconds_until_reset() == 60
    with pytest.raises(QuotaExceededError):
        quota.spend()
    clock.advance(timedelta(minutes=1))
    assert quota.remaining() == 10
    assert quota.spend() == 9


def test_quota_resets_at_midnight_in_its_zone() -> None:
    # YouTube's quota resets at midnight Pacific: 08:00 UTC in winter
    clock = SimulatedClock(datetime(2026, 1, 10, 7, 30, tzinfo=UTC))
    quota = DailyQuota(5, zone="America/Los_Angeles", clock=clock)
    quota.spend(5)
    assert quota.seconds_until_reset() == 30 * 60
    clock.set(datetime(2026, 1, 10, 7, 59, tzinfo=UTC))
    assert quota.remaining() == 0
    clock.set(datetime(2026, 1, 10, 8, 0, tzinfo=UTC))
    assert quota.remaining() == 5


def test_reset_across_a_dst_change_counts_real_seconds() -> None:
    # 2026-03-08 is the spring-forward day in Los Angeles: that local day has 23 hours
    clock = SimulatedClock(datetime(2026, 3, 8, 8, 0, tzinfo=UTC))  # local midnight, PST
    quota = DailyQuota(5, zone="America/Los_Angeles", clock=clock)
    assert quota.seconds_until_reset() == 23 * 3600


def test_observe_remaining_aligns_with_the_api_and_refund_gives_back() -> None:
    quota = DailyQuota(100, clock=SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    quota.observe_remaining(40)
    assert quota.remaining() == 40
    quota.spend(10)
    quota.refund(10)
    assert quota.remaining() == 40


def test_quota_is_thread_safe() -> None:
    quota = DailyQuota(500, clock=SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    granted: list[int] = []
    refused: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(100):
            try:
                quota.spend()
            except QuotaExceededError:
                with lock:
                    refused.append(1)
            else:
                with lock:
                    granted.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 500 and len(refused) == 300
    assert quota.remaining() == 0


def test_github_headers_reset_is_an_epoch() -> None:
    headers = httpx.Headers(
        {"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000600"}
    )
    rate = read_rate_limit(headers, now_epoch=1_700_000_000)
    assert (rate.limit, rate.remaining, rate.reset_seconds) == (30, 0, 600.0)
    assert rate.exhausted


def test_reddit_headers_are_floats_and_reset_is_a_delta() -> None:
    headers = {
        "x-ratelimit-remaining": "587.0",
        "x-ratelimit-used": "13",
        "x-ratelimit-reset": "412",
    }
    rate = read_rate_limit(headers, now_epoch=1_700_000_000)
    assert (rate.remaining, rate.reset_seconds) == (587, 412.0)
    assert not rate.exhausted


def test_missing_or_bad_headers_are_unknown() -> None:
    rate = read_rate_limit({"X-RateLimit-Remaining": "lots"}, now_epoch=0)
    assert rate.remaining is None and rate.reset_seconds is None and not rate.exhausted


def test_resolve_secret_reads_env_references() -> None:
    env = {"GITHUB_TOKEN": "ghp_x", "EMPTY": ""}
    assert resolve_secret("${GITHUB_TOKEN}", env=env) == "ghp_x"
    assert resolve_secret("${MISSING}", env=env) is None
    assert resolve_secret("${EMPTY}", env=env) is None
    assert resolve_secret("literal", env=env) == "literal"
    assert resolve_secret(None, env=env) is None


def test_param_list_and_as_int() -> None:
    assert param_list({"a": "x, y ,,z"}, "a") == ["x", "y", "z"]
    assert param_list({"a": ["x", " y "]}, "a") == ["x", "y"]
    assert param_list({}, "a") == []
    assert [as_int(v) for v in (3, "42", 7.9, True, "4.2", None, "-1")] == [
        3,
        42,
        7,
        None,
        None,
        None,
        -1,
    ]
