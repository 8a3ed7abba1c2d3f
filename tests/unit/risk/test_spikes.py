"""Negative spikes against an hour-of-week baseline, with persistence and cooldown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from earful.risk.spikes import Post, SpikeConfig, detect_spike, poisson_sf, scan_spikes

START = datetime(2025, 3, 3, 0, tzinfo=UTC)  # a Monday


def _history() -> list[Post]:
    """Four weeks: 2 complaints every weekday hour from 9 to 17, 0 at night."""
    posts = []
    for day in range(28):
        for hour in range(9, 18):
            t = START + timedelta(days=day, hours=hour)
            if t.weekday() < 5:
                posts += [
                    Post(t + timedelta(minutes=m), "mastodon", "flight delayed") for m in (5, 35)
                ]
    return posts


def test_poisson_tail() -> None:
    assert poisson_sf(0, 3.0) == 1.0
    assert abs(poisson_sf(1, 2.0) - (1 - 2.718281828**-2)) < 1e-6
    assert poisson_sf(10, 1.0) < 1e-6


def test_busy_daytime_hour_is_not_a_spike_but_night_burst_is() -> None:
    posts = _history()
    now = START + timedelta(weeks=4, hours=10, minutes=50)  # Monday 10:50, usual traffic
    posts += [Post(now - timedelta(minutes=m), "mastodon", "flight delayed") for m in (10, 30)]
    config = SpikeConfig()
    assert detect_spike(posts, now=now, config=config) is None

    night = START + timedelta(weeks=4, hours=3, minutes=45)
    burst = [
        Post(night - timedelta(minutes=m), src, "exploding battery burned my bag on the plane")
        for m, src in zip(range(0, 40, 5), ["twitter", "reddit"] * 4, strict=True)
    ]
    spike = detect_spike(posts + burst, now=night, config=config, names=["Acme"])
    assert spike is not None
    assert spike.count == 8 and spike.expected < 1
    assert spike.sources == {"twitter": 4, "reddit": 4}
    assert "exploding" in spike.top_terms and "battery" in spike.top_terms
    assert spike.examples


def test_persistence_and_cooldown() -> None:
    posts = _history()
    base = START + timedelta(weeks=4, hours=2)
    burst = [Post(base + timedelta(minutes=m), "x", "refund scam") for m in range(0, 60, 6)]
    burst += [
        Post(base + timedelta(hours=1, minutes=m), "x", "refund scam") for m in range(0, 60, 6)
    ]
    posts += burst
    two_hours = SpikeConfig(persistence_hours=2)
    assert detect_spike(posts, now=base + timedelta(minutes=59), config=two_hours) is None
    assert detect_spike(posts, now=base + timedelta(hours=1, minutes=59), config=two_hours)
    found = scan_spikes(posts, start=base, end=base + timedelta(hours=3), config=SpikeConfig())
    assert len(found) == 1  # the second hour is inside the cooldown
