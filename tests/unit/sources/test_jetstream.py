"""Jetstream consumer core without a network: cursor handling, batching, dedupe, lag."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from earful.clock import SimulatedClock
from earful.mention import RawMention
from earful.sources.jetstream import _Consumer, make_event, measure_firehose, url_with_cursor
from tests.conftest import fixture_bytes

RECORDED = fixture_bytes("bluesky", "jetstream_events_2024-11-21.jsonl").splitlines()


def consumer(
    clock: SimulatedClock, batch_size: int = 50
) -> tuple[_Consumer, list[list[RawMention]], list[int]]:
    batches: list[list[RawMention]] = []
    cursors: list[int] = []
    c = _Consumer(
        keep=lambda m: True,
        sink=batches.append,
        save_cursor=cursors.append,
        clock=clock,
        batch_size=batch_size,
        flush_interval_s=1.0,
        cursor=None,
    )
    return c, batches, cursors


def test_url_with_cursor_replaces_the_parameter() -> None:
    url = "wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post"
    assert url_with_cursor(url, 1732206349000167) == url + "&cursor=1732206349000167"
    assert url_with_cursor(url + "&cursor=5", 7).count("cursor=") == 1
    assert url_with_cursor(url + "&cursor=5", None) == url


def test_recorded_events_posts_kept_cursor_is_last_event() -> None:
    clock = SimulatedClock(datetime(2024, 11, 21, 16, 25, 50, tzinfo=UTC))
    c, batches, cursors = consumer(clock)
    for line in RECORDED:
        c.handle(line)
    assert batches == []  # batch of 50 not full: nothing handed over yet
    c.flush()
    assert [m.external_id for m in batches[0]] == [
        "at://did:plc:yj3sjq3blzpynh27cumnp5ks/app.bsky.feed.post/3lbhtyteurk2y",
        "at://did:plc:l5o3qjrmfztir54cpwlv2eme/app.bsky.feed.post/3lbhtytjqzk2q",
    ]
    # the cursor is the last event handled, a post or not
    assert cursors == [1732206349001905]
    assert c.stats.events == 5 and c.stats.posts == 2 and c.stats.kept == 2
    # last event at 16:25:49.001905, clock at 16:25:50
    assert c.stats.max_lag_s == pytest.approx(0.998095, abs=1e-6)


def test_batches_are_small_and_replays_are_dropped() -> None:
    clock = SimulatedClock(datetime(2024, 11, 21, tzinfo=UTC))
    c, batches, cursors = consumer(clock, batch_size=3)
    events = [make_event(i, 1_000 + i) for i in range(7)]
    for e in events:
        c.handle(e)
    assert [len(b) for b in batches] == [3, 3]
    assert cursors == [1_002, 1_005]
    for e in events[2:]:  # a rewind replays some of them
        c.handle(e)
    c.flush()
    assert [len(b) for b in batches] == [3, 3, 1]
    assert c.stats.duplicates == 5
    assert cursors[-1] == 1_006


def test_sink_failure_does_not_advance_the_cursor() -> None:
    clock = SimulatedClock(datetime(2024, 11, 21, tzinfo=UTC))
    saved: list[int] = []

    def failing_sink(batch: list[RawMention]) -> None:
        raise RuntimeError("db down")

    c = _Consumer(lambda m: True, failing_sink, saved.append, clock, 1, 1.0, cursor=10)
    with pytest.raises(RuntimeError):
        c.handle(make_event(1, 20))
    assert saved == []


def test_undecodable_and_non_post_messages() -> None:
    clock = SimulatedClock(datetime(2024, 11, 21, tzinfo=UTC))
    c, batches, _ = consumer(clock)
    c.handle(b"not json")
    c.handle(b'["app.bsky.feed.post", "create"]')
    c.handle(make_event(1, 5, like=True))
    delete = orjson.loads(make_event(2, 6))
    delete["commit"]["operation"] = "delete"
    c.handle(orjson.dumps(delete).decode())
    c.flush()
    assert batches == [] and c.stats.posts == 0 and c.handled == 6
    assert list(c.stats.errors) == ["undecodable message skipped", "non-object message skipped"]
    assert c.stats.error_count == 2


def test_a_stream_of_garbage_keeps_only_the_newest_errors() -> None:
    from earful.sources.jetstream import MAX_KEPT_ERRORS

    c, batches, _ = consumer(SimulatedClock(datetime(2024, 11, 21, tzinfo=UTC)))
    for _ in range(MAX_KEPT_ERRORS * 3):
        c.handle(b"not json")
    c.handle(b"[1]")
    assert batches == []
    assert len(c.stats.errors) == MAX_KEPT_ERRORS
    assert c.stats.errors[-1] == "non-object message skipped"
    assert c.stats.error_count == MAX_KEPT_ERRORS * 3 + 1


def test_measure_firehose_reports_the_bench_keys() -> None:
    figures = measure_firehose(200, 1.0)
    assert set(figures) >= {"posts_per_s", "max_lag_s", "cpu_share", "posts"}
    assert figures["posts"] >= 100  # the consumer received the stream (no timing asserted)
    assert figures["kept"] == (figures["posts"] + 2) // 5  # one generated text in five
