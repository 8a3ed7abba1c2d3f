"""The main job (``loop.run_forever``) in a thread, on a simulated clock, against real local
servers: a Mastodon-style instance serving a negative post that spreads, a webhook receiver
checking signatures, and an SMTP server (aiosmtpd) for the scheduled digest.

Each pass the clock moves 30 minutes; the post's likes and reblogs grow; the loop polls it,
re-polls its engagement, escalates it, delivers one signed notification, and sends the digest
once its local send time has passed."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.clock import SimulatedClock
from earful.config.models import AppConfig, BrandConfig, SourceConfig
from earful.demo.live import Post, WebhookReceiver, WorldServer
from earful.run.loop import run_forever
from earful.run.runner import RunReport
from earful.settings import Settings
from earful.sources.http import make_client
from earful.store.digest_runs import DigestRun
from earful.store.escalations import Escalation

pytestmark = pytest.mark.e2e

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # before the 08:00 digest send time
SECRET = "loop-test-secret"


def spreading_post() -> Post:
    post = Post(
        kind="mastodon",
        ident="1001",
        at=START,
        published=START,
        author="angry_parent",
        text="Acme heater exploded and burned my son. Dangerous, defective, we are suing Acme. "
        "Never buy Acme, terrible company.",
    )
    for step in range(16):
        grow = 4**step
        post.curve.append(
            (
                START + timedelta(minutes=30 * step),
                {
                    "likes": 5 * grow,
                    "shares": 3 * grow,
                    "comments": 2 * grow,
                    "author_followers": 150_000,
                },
            )
        )
    return post


def quiet_post() -> Post:
    post = Post(
        kind="mastodon",
        ident="1000",
        at=START - timedelta(hours=1),
        published=START - timedelta(hours=1),
        author="fan",
        text="Acme support fixed my order quickly, thanks!",
    )
    post.curve.append((post.at, {"likes": 1, "author_followers": 40}))
    return post


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def loop_config(world_url: str, hook_url: str) -> AppConfig:
    return AppConfig.model_validate(
        {
            "brands": [BrandConfig(name="Acme", queries=['"acme"'], timezone="UTC")],
            "sources": [
                SourceConfig(
                    name="social",
                    kind="mastodon",
                    params={"instances": [world_url], "hashtags": ["united"]},
                    interval=timedelta(minutes=30),
                ),
                # a source that is down: logged and recorded, the loop goes on
                SourceConfig(name="down", kind="rss", url=f"{world_url}/down.xml"),
            ],
            "escalation": {
                # a long SLA: nothing is raised within the test, so one notification is expected
                "levels": {1: {"name": "service lead", "sla": "12h"}},
                "channels": {
                    "hook": {"kind": "webhook", "url": hook_url, "secret_env": "LOOP_SECRET"}
                },
                "routes": [{"brand": "*", "level": 1, "channel": "hook", "to": "ops"}],
            },
            "digest": {"send_at": "08:00", "recipients": ["marketing@example.org"]},
        }
    )


def test_main_loop_escalates_once_and_sends_the_digest_when_due(
    sqlite_engine: Engine, smtp: tuple[Inbox, int]
) -> None:
    inbox, smtp_port = smtp
    clock = SimulatedClock(START)
    settings = Settings(
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        host_min_interval_s=0.0,
        max_retries=0,
    )  # type: ignore[call-arg]
    stop = threading.Event()
    passes: list[RunReport] = []
    digest_rows_by_pass: list[int] = []

    def on_pass(report: RunReport) -> None:
        passes.append(report)
        with Session(sqlite_engine) as session:
            digest_rows_by_pass.append(len(session.exec(select(DigestRun)).all()))
        clock.advance(timedelta(minutes=30))
        if len(passes) >= 10:
            stop.set()

    with (
        WorldServer(clock, posts=[quiet_post(), spreading_post()], failing={"/down.xml"}) as world,
        WebhookReceiver(SECRET) as receiver,
        make_client(settings, host_min_interval_s=0.0) as http,
    ):
        config = loop_config(world.base_url, receiver.url)
        errors: list[BaseException] = []

        def main() -> None:
            try:
                run_forever(
                    sqlite_engine,
                    lambda: config,
                    settings,
                    clock,
                    stop=stop,
                    http=http,
                    on_pass=on_pass,
                    max_sleep_s=0.01,
                    env={"LOOP_SECRET": SECRET},
                    lockstep=True,  # the clock moves 30 minutes per pass
                )
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        thread = threading.Thread(target=main, daemon=True)
        thread.start()
        thread.join(timeout=120)
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive() and not errors

    assert len(passes) == 10
    assert not any(p.step_errors for p in passes), [p.step_errors for p in passes]
    assert any(p.failed for p in passes)  # the source that is down is reported, not fatal
    # none refused
    assert receiver.refused == 0
    # one signed alert for the spreading post; what follows are throttled updates of that same
    # escalation (its risk rose), never a second alert
    alert, *updates = receiver.deliveries
    assert alert.key.endswith("-l1") and alert.payload.get("update") is None
    assert all(d.key.startswith("earful-") and "-e1-l1-u" in d.key for d in updates)
    assert all(d.payload.get("update") for d in updates)
    payload = alert.payload
    assert payload["brand"] == "Acme" and payload["level"] == 1
    assert "exploded" in payload["text"]
    with Session(sqlite_engine) as session:
        escalations = session.exec(select(Escalation)).all()
        runs = session.exec(select(DigestRun)).all()
    assert len(escalations) == 1 and escalations[0].notified_at is not None
    # the digest run appears once 08:00 UTC has passed (pass 5 starts at 08:00), sent once
    assert digest_rows_by_pass[0] == 0 and digest_rows_by_pass[-1] == 1
    assert [(r.brand, r.day, r.status) for r in runs] == [("Acme", "2026-03-01", "sent")]
    assert len(inbox.messages) == 1


def test_latency_bench_delivers_every_sample() -> None:
    from earful.bench.latency import measure, notify_latency

    values, lost = measure(3)
    assert len(values) == 3 and lost == 0 and all(v > 0 for v in values)
    figures = notify_latency(True)
    assert figures["notify_latency_p50_ms"] is not None
    assert figures["notify_latency_p99_ms"] >= figures["notify_latency_p50_ms"]
    assert "20 of 20 samples arrived" in figures["note"]
