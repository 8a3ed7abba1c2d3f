"""The runner over a mocked HTTP transport: polls, health, 304, backoff, due sources, hooks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.clock import SimulatedClock, ensure_utc
from earful.config.models import AppConfig, BrandConfig, SourceConfig
from earful.pipeline import BatchReport, build_context
from earful.run.loop import run_forever
from earful.run.runner import PollReport, due_sources, poll_source, run_once
from earful.settings import get_settings
from earful.sources.http import HttpClient, make_client
from earful.store import repository
from earful.store.models import Mention, SourceState
from tests.conftest import fixture_bytes

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<link>https://n.example/</link>
<item><title>Acme ruined my holiday</title><guid>1</guid><link>https://n.example/1</link>
<description>Terrible, awful Acme service.</description></item>
<item><title>Weather</title><guid>2</guid><link>https://n.example/2</link>
<description>Sunny.</description></item>
</channel></rss>"""


def config(*sources: SourceConfig) -> AppConfig:
    return AppConfig(
        brands=[BrandConfig(name="Acme", queries=['"acme"'])],
        sources=list(sources)
        or [SourceConfig(name="news", kind="rss", url="https://n.example/feed")],
    )


def client(handler: Callable[[httpx.Request], httpx.Response]) -> HttpClient:
    settings = get_settings(max_retries=0)
    return make_client(
        settings,
        transport=httpx.MockTransport(handler),
        sleep=lambda s: None,
        host_min_interval_s=0.0,
    )


def etag_feed(body: bytes = FEED) -> tuple[Callable[[httpx.Request], httpx.Response], list[int]]:
    """A handler answering with an ETag, and 304 to If-None-Match; counts bodies sent."""
    bodies: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304, headers={"ETag": '"v1"'})
        bodies.append(1)
        return httpx.Response(200, content=body, headers={"ETag": '"v1"'})

    return handler, bodies


def state_of(engine: Engine, name: str) -> SourceState:
    with Session(engine) as s:
        st = repository.get_source_state(s, name=name)
        assert st is not None
        return st


def test_poll_stores_then_304(sqlite_engine: Engine) -> None:
    clock = SimulatedClock(NOW)
    cfg = config()
    ctx = build_context(cfg, clock)
    handler, bodies = etag_feed()
    with client(handler) as http:
        first = poll_source(sqlite_engine, http, cfg.sources[0], ctx)
        assert (first.ok, first.fetched, first.new) == (True, 2, 1)
        assert first.rejected["no_brand"] == 1
        clock.advance(timedelta(minutes=20))
        second = poll_source(sqlite_engine, http, cfg.sources[0], ctx)
    assert second.not_modified and second.new == 0 and second.status == "not modified"
    assert len(bodies) == 1
    st = state_of(sqlite_engine, "news")
    assert st.etag == '"v1"' and st.consecutive_failures == 0
    assert ensure_utc(st.next_poll_at) == NOW + timedelta(minutes=35)  # type: ignore[arg-type]
    assert st.lock_owner is None
    with Session(sqlite_engine) as s:
        [m] = s.exec(select(Mention)).all()
        assert m.sentiment_label == "negative" and m.source_name == "news"


def test_poll_real_feed_fixture(sqlite_engine: Engine) -> None:
    body = fixture_bytes("rss", "rss-parser_guardian.rss")
    cfg = AppConfig(
        brands=[BrandConfig(name="Any", queries=["the OR and"])],
        sources=[SourceConfig(name="gn", kind="rss", url="https://www.theguardian.com/uk/rss")],
    )
    ctx = build_context(cfg, SimulatedClock(NOW))
    with client(lambda r: httpx.Response(200, content=body)) as http:
        report = poll_source(sqlite_engine, http, cfg.sources[0], ctx)
    assert report.ok and report.fetched > 0 and report.new > 0


@pytest.mark.parametrize(
    ("status", "reason", "enabled"),
    [(500, "http_500", True), (404, "http_404", True), (410, "http_410", False)],
)
def test_failures_are_recorded_never_raised(
    sqlite_engine: Engine, status: int, reason: str, enabled: bool
) -> None:
    clock = SimulatedClock(NOW)
    cfg = config()
    ctx = build_context(cfg, clock)
    with client(lambda r: httpx.Response(status)) as http:
        report = poll_source(sqlite_engine, http, cfg.sources[0], ctx)
        assert not report.ok and report.reason == reason
        st = state_of(sqlite_engine, "news")
        assert st.consecutive_failures == 1 and st.enabled is enabled
        assert st.last_error and str(status) in st.last_error
        clock.advance(timedelta(minutes=15))
        poll_source(sqlite_engine, http, cfg.sources[0], ctx)
    st = state_of(sqlite_engine, "news")
    assert st.consecutive_failures == 2
    # backoff doubles: the second failure waits two intervals
    assert ensure_utc(st.next_poll_at) == clock.now() + timedelta(minutes=30)  # type: ignore[arg-type]


def test_garbage_body_and_missing_url_are_recorded(sqlite_engine: Engine) -> None:
    garbage = SourceConfig(name="garbage", kind="rss", url="https://g.example/f")
    # built without validation: the connector itself must refuse it, and the runner record it
    weird = SourceConfig.model_construct(
        name="weird",
        kind="rss",
        url=None,
        params={},
        interval=timedelta(minutes=5),
        enabled=True,
        brands=None,
    )
    ctx = build_context(config(garbage), SimulatedClock(NOW))
    with client(lambda r: httpx.Response(200, content=b"\x00\x01 not a feed")) as http:
        reports = [poll_source(sqlite_engine, http, s, ctx) for s in (garbage, weird)]
    assert [r.ok for r in reports] == [False, False]
    assert state_of(sqlite_engine, "garbage").consecutive_failures == 1
    assert "url" in (state_of(sqlite_engine, "weird").last_error or "")


def test_due_sources(sqlite_engine: Engine) -> None:
    cfg = config(
        SourceConfig(name="new", kind="rss", url="https://a.example/"),
        SourceConfig(name="later", kind="rss", url="https://b.example/"),
        SourceConfig(name="off", kind="rss", url="https://c.example/", enabled=False),
        SourceConfig(name="gone", kind="rss", url="https://d.example/"),
    )
    with Session(sqlite_engine) as s, s.begin():
        repository.record_poll_ok(s, name="later", kind="rss", now=NOW, interval=timedelta(hours=1))
        st = repository.get_or_create_source_state(s, name="gone", kind="rss")
        st.enabled = False
        repository.get_or_create_source_state(s, name="removed", kind="rss")
    with Session(sqlite_engine) as s:
        assert due_sources(s, cfg, NOW) == ["new"]
        assert due_sources(s, cfg, NOW + timedelta(hours=1)) == ["new", "later"]


def test_claimed_source_is_skipped(sqlite_engine: Engine) -> None:
    cfg = config()
    with Session(sqlite_engine) as s, s.begin():
        repository.get_or_create_source_state(s, name="news", kind="rss")
        assert repository.claim_source(
            s, "news", owner="other", now=NOW, lease=timedelta(minutes=5)
        )
    ctx = build_context(cfg, SimulatedClock(NOW))
    handler, bodies = etag_feed()
    with client(handler) as http:
        report = poll_source(sqlite_engine, http, cfg.sources[0], ctx)
        assert report.skipped and bodies == []
        # the claim holder itself (a worker passing its claim token) may poll
        mine = poll_source(sqlite_engine, http, cfg.sources[0], ctx, owner="other")
    assert mine.ok and not mine.skipped and bodies == [1]
    assert state_of(sqlite_engine, "news").lock_owner is None


def test_run_once_isolates_failures_and_runs_hooks(sqlite_engine: Engine) -> None:
    cfg = config(
        SourceConfig(name="good", kind="rss", url="https://good.example/f"),
        SourceConfig(name="bad", kind="rss", url="https://bad.example/f"),
    )
    clock = SimulatedClock(NOW)
    ctx = build_context(cfg, clock)
    seen: list[BatchReport] = []

    def hook(engine: Engine, batch: BatchReport) -> None:
        with Session(engine) as s:  # rows are committed before hooks run
            assert s.get(Mention, batch.new_ids[0]) is not None
        seen.append(batch)

    def broken_hook(engine: Engine, batch: BatchReport) -> None:
        raise RuntimeError("hook bug")

    ctx.after_batch += [broken_hook, hook]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "bad.example":
            return httpx.Response(503)
        return httpx.Response(200, content=FEED)

    class Progress:
        def __init__(self) -> None:
            self.started: list[str] = []
            self.done_reports: list[PollReport] = []

        def start(self, sources: list[str]) -> None:
            self.started = sources

        def done(self, report: PollReport) -> None:
            self.done_reports.append(report)

    progress = Progress()
    with client(handler) as http:
        report = run_once(
            sqlite_engine, cfg, get_settings(), clock, http=http, progress=progress, ctx=ctx
        )
    assert [(p.source, p.ok) for p in report.polls] == [("bad", False), ("good", True)]
    assert report.new == 1 and report.failed == 1
    assert sorted(progress.started) == ["bad", "good"] and len(progress.done_reports) == 2
    assert len(seen) == 1 and seen[0].source_name == "good"


def test_run_forever_reloads_config_and_stops(sqlite_engine: Engine) -> None:
    stop = threading.Event()
    first = config(SourceConfig(name="a", kind="rss", url="https://a.example/f"))
    both = config(
        SourceConfig(name="a", kind="rss", url="https://a.example/f"),
        SourceConfig(name="b", kind="rss", url="https://b.example/f"),
    )
    polled: list[str] = []

    def load() -> AppConfig:
        return both if "a" in polled else first

    def on_pass(report: object) -> None:
        polled.extend(p.source for p in report.polls)  # type: ignore[attr-defined]
        if "b" in polled:
            stop.set()

    handler, _ = etag_feed()
    clock = SimulatedClock(NOW)
    with client(handler) as http:
        # the simulated clock never moves: "a" is polled once, then only the newly configured
        # source "b" is due
        run_forever(
            sqlite_engine,
            load,
            get_settings(),
            clock,
            stop=stop,
            http=http,
            on_pass=on_pass,
            max_sleep_s=0.01,
        )
    assert polled == ["a", "b"]


def test_gone_source_is_enabled_again_when_its_config_changes(sqlite_engine: Engine) -> None:
    clock = SimulatedClock(NOW)
    old = SourceConfig(name="news", kind="rss", url="https://n.example/old", interval="1m")
    ctx = build_context(config(old), clock)
    with client(lambda r: httpx.Response(410)) as http:
        assert poll_source(sqlite_engine, http, old, ctx).disabled
    clock.advance(timedelta(hours=1))
    with Session(sqlite_engine) as s:
        assert due_sources(s, config(old), clock.now()) == []
    fixed = SourceConfig(name="news", kind="rss", url="https://n.example/new", interval="1m")
    with Session(sqlite_engine) as s, s.begin():
        assert due_sources(s, config(fixed), clock.now()) == ["news"]
    st = state_of(sqlite_engine, "news")
    assert st.enabled and st.disabled_reason is None and st.consecutive_failures == 0


def test_run_pass_isolates_a_failing_step(sqlite_engine: Engine) -> None:
    from earful.run.loop import run_pass

    cfg = config()
    clock = SimulatedClock(NOW)
    ctx = build_context(cfg, clock)
    delivered: list[int] = []

    def broken_deliver(engine: Engine) -> object:
        delivered.append(1)
        raise RuntimeError("smtp down")

    handler, _ = etag_feed()
    with client(handler) as http:
        report = run_pass(
            sqlite_engine,
            cfg,
            get_settings(),
            clock,
            http=http,
            ctx=ctx,
            deliver=broken_deliver,
        )
    assert delivered == [1]
    assert set(report.step_errors) == {"notify"} and "smtp down" in report.step_errors["notify"]
    assert report.new == 1  # the poll before it stored its mention
    assert report.digests  # the digest step after it still ran (no recipients configured)


def test_streamed_sources_run_in_threads_not_polls(sqlite_engine: Engine) -> None:
    stream = SourceConfig(name="firehose", kind="bluesky", params={"mode": "jetstream"})
    cfg = config(SourceConfig(name="news", kind="rss", url="https://n.example/feed"), stream)
    started: list[str] = []
    stopped: list[str] = []
    running = threading.Event()

    def fake_stream(
        engine: Engine, source: SourceConfig, ctx: object, stop: threading.Event
    ) -> None:
        started.append(source.name)
        running.set()
        stop.wait(30)
        stopped.append(source.name)

    stop = threading.Event()
    reports: list[object] = []

    def on_pass(report: object) -> None:
        if report.polls:  # type: ignore[attr-defined]
            reports.append(report)
            assert running.wait(5)
            stop.set()

    handler, _ = etag_feed()
    with client(handler) as http:
        run_forever(
            sqlite_engine,
            lambda: cfg,
            get_settings(),
            SimulatedClock(NOW),
            stop=stop,
            http=http,
            on_pass=on_pass,
            max_sleep_s=0.01,
            run_stream=fake_stream,
        )
    assert started == ["firehose"] and stopped == ["firehose"]  # joined on stop
    report = reports[0]
    assert [p.source for p in report.polls] == ["news"]  # type: ignore[attr-defined]
    assert report.streams == ["firehose"]  # type: ignore[attr-defined]
