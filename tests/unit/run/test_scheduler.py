"""The job pool of ``earful run`` and the loop over it: a hung poll holds only its own thread."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine

from earful.clock import SystemClock
from earful.config.models import SourceConfig
from earful.run.loop import StepTimer, run_forever
from earful.run.runner import RunReport
from earful.run.scheduler import JobPool
from earful.settings import get_settings
from tests.unit.run.test_runner import FEED, client, config


def wait_for(cond: threading.Event, timeout: float = 30) -> None:
    assert cond.wait(timeout)


def test_a_key_is_never_queued_twice_and_outcomes_come_back() -> None:
    pool = JobPool(2)
    gate = threading.Event()
    try:
        assert pool.submit("a", lambda: gate.wait(30) and "a done")
        assert not pool.submit("a", lambda: "again")  # still running: refused
        assert pool.submit("b", lambda: 1 / 0)
        pool.finished.wait(30)
        assert pool.busy() == {"a"}
        gate.set()
        done: dict[str, object] = {}
        while len(done) < 2:
            pool.finished.wait(30)
            done.update({d.key: d.error or d.value for d in pool.drain()})
        assert done["a"] == "a done" and isinstance(done["b"], ZeroDivisionError)
        assert pool.submit("a", lambda: "again")  # finished: may run again
    finally:
        pool.close(5)


def test_close_leaves_a_hung_job_after_the_grace() -> None:
    pool = JobPool(1)
    hang = threading.Event()
    started = threading.Event()
    ran: list[str] = []

    def hung() -> None:
        started.set()
        hang.wait(60)

    pool.submit("hung", hung)
    pool.submit("queued", lambda: ran.append("queued"))
    wait_for(started)
    assert pool.close(0.1) == ["hung"]
    assert not pool.submit("late", lambda: None)
    hang.set()
    pool.close(5)
    assert ran == []  # dropped on close, never started


def test_step_timer() -> None:
    now = [100.0]
    steps = StepTimer({"notify": 5.0, "digest": 30.0}, monotonic=lambda: now[0])
    assert steps.take("notify") and steps.take("digest")
    assert not steps.take("notify")
    assert steps.seconds_to_next() == 5.0
    now[0] += 5
    assert steps.take("notify") and not steps.take("digest")


def test_a_hung_source_stops_neither_the_others_nor_the_steps_nor_stop(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    cfg = config(
        SourceConfig(name="hung", kind="rss", url="https://hung.example/f", interval="1s"),
        SourceConfig(name="good", kind="rss", url="https://good.example/f", interval="1s"),
    )
    release = threading.Event()
    hanging = threading.Event()
    requests: Counter[str] = Counter()

    def handler(request: httpx.Request) -> httpx.Response:
        requests[request.url.host] += 1
        if request.url.host == "hung.example":
            hanging.set()
            release.wait(120)  # no stop flag reaches a mock transport: only the grace helps
        return httpx.Response(200, content=FEED)

    stop = threading.Event()
    reports: list[RunReport] = []
    enough = threading.Event()

    def on_pass(report: RunReport) -> None:
        reports.append(report)
        good = sum(1 for r in reports for p in r.polls if p.source == "good")
        steps = sum(1 for r in reports if not r.polls)
        if hanging.is_set() and good >= 3 and steps >= 3:
            enough.set()

    periods = {"engagement": 0.2, "risk": 0.2, "notify": 0.2, "digest": 0.2}
    with client(handler) as http:
        runner = threading.Thread(
            target=run_forever,
            args=(sqlite_engine, lambda: cfg, get_settings(poll_threads=2), SystemClock()),
            kwargs={
                "stop": stop,
                "http": http,
                "on_pass": on_pass,
                "max_sleep_s": 0.5,
                "periods": periods,
                "stop_grace_s": 0.2,
                "env": {},
            },
            daemon=True,
        )
        runner.start()
        try:
            wait_for(enough, 60)
            stop.set()
            runner.join(30)
            assert not runner.is_alive()  # returned while the hung poll still hangs
            assert requests["hung.example"] == 1  # never polled twice at once
            assert not any(p.source == "hung" for r in reports for p in r.polls)
        finally:
            stop.set()
            release.set()
            runner.join(30)
