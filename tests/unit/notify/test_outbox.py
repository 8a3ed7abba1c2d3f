"""Outbox: delivered once, retried with backoff, failures visible, crash-safe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.clock import SimulatedClock, ensure_utc
from earful.config.models import AppConfig
from earful.errors import NotificationError, TransientNotificationError
from earful.notify.message import Message
from earful.notify.outbox import deliver_due, failures
from earful.risk.scoring import Reason
from earful.settings import Settings
from earful.store.escalations import Escalation, Notification
from earful.store.models import Mention
from tests.unit.escalation_factories import open_escalation

T0 = datetime(2025, 3, 11, 14, 0, tzinfo=UTC)
CONFIG = AppConfig.model_validate(
    {
        "escalation": {
            "channels": {
                "hook": {"kind": "webhook", "url": "http://x"},
                "chat": {"kind": "slack", "url": "http://y"},
            },
            "routes": [
                {"level": 1, "channel": "hook", "to": "ops"},
                {"level": 1, "channel": "chat", "to": "#care"},
            ],
            "max_attempts": 3,
            "retry_base": "30s",
        }
    }
)
SETTINGS = Settings(secret_key="test-secret")  # type: ignore[arg-type]


class Recorder:
    """A real in-memory channel: records what it was given, fails on demand."""

    def __init__(
        self, channel: str, *, idempotent: bool, fail: list[Exception] | None = None
    ) -> None:
        self.channel = channel
        self.idempotent = idempotent
        self.fail = fail or []
        self.sent: list[tuple[str, str, Message]] = []

    def send(self, msg: Message, *, to: str, idempotency_key: str) -> None:
        if self.fail:
            raise self.fail.pop(0)
        self.sent.append((to, idempotency_key, msg))


def _seed(engine: Engine) -> int:
    mention = Mention(
        source="youtube",
        external_id="v1",
        text="United broke my <b>guitar</b>",
        fetched_at=T0,
        author="sonsofmaxwell",
        author_followers=2000,
        sentiment_compound=-0.6,
    )
    return open_escalation(
        engine,
        mention,
        brand="United",
        risk=60,
        reasons=[Reason("velocity", 60, "views ×8 in 2 h")],
        now=T0,
        config=CONFIG,
        incident_key="incident:youtube:v1",
    )


def test_each_row_is_delivered_once(sqlite_engine: Engine) -> None:
    esc_id = _seed(sqlite_engine)
    hook, chat = Recorder("webhook", idempotent=True), Recorder("slack", idempotent=False)
    clock = SimulatedClock(T0 + timedelta(seconds=2))
    senders = {"hook": hook, "chat": chat}
    first = deliver_due(sqlite_engine, senders, clock=clock, config=CONFIG, settings=SETTINGS)
    again = deliver_due(sqlite_engine, senders, clock=clock, config=CONFIG, settings=SETTINGS)
    assert (first.sent, again.sent) == (2, 0)
    assert [s[0] for s in hook.sent] == ["ops"] and [s[0] for s in chat.sent] == ["#care"]
    msg = hook.sent[0][2]
    assert msg.brand == "United" and msg.author_followers == 2000 and "views ×8" in msg.why()
    assert msg.ack_url and "/ack/" in msg.ack_url
    with Session(sqlite_engine) as s:
        esc = s.get(Escalation, esc_id)
        assert esc is not None and ensure_utc(esc.notified_at) == clock.now()  # type: ignore[arg-type]


def test_transient_failures_back_off_then_die_visibly(sqlite_engine: Engine) -> None:
    _seed(sqlite_engine)
    flaky = Recorder(
        "webhook", idempotent=True, fail=[TransientNotificationError("503", reason="http_503")] * 3
    )
    chat = Recorder("slack", idempotent=False, fail=[NotificationError("404", reason="http_404")])
    clock = SimulatedClock(T0)
    senders = {"hook": flaky, "chat": chat}
    r1 = deliver_due(sqlite_engine, senders, clock=clock, config=CONFIG, settings=SETTINGS)
    assert (r1.retried, r1.dead) == (1, 1)  # slack 404 is permanent
    # Not due yet: the first retry waits retry_base (30 s).
    clock.advance(timedelta(seconds=10))
    assert (
        deliver_due(sqlite_engine, senders, clock=clock, config=CONFIG, settings=SETTINGS).retried
        == 0
    )
    clock.advance(timedelta(seconds=25))
    assert (
        deliver_due(sqlite_engine, senders, clock=clock, config=CONFIG, settings=SETTINGS).retried
        == 1
    )
    clock.advance(timedelta(seconds=61))  # second retry waits 60 s
    last = deliver_due(sqlite_engine, senders, clock=clock, config=CONFIG, settings=SETTINGS)
    assert last.dead == 1
    with Session(sqlite_engine) as s:
        dead = failures(s)
        assert {n.channel for n in dead} == {"hook", "chat"}
        assert all(n.last_error for n in dead)


class Crash(Exception):
    pass


def test_crash_between_send_and_commit(sqlite_engine: Engine) -> None:
    _seed(sqlite_engine)
    hook, chat = Recorder("webhook", idempotent=True), Recorder("slack", idempotent=False)
    senders = {"hook": hook, "chat": chat}
    clock = SimulatedClock(T0)

    def crash(row: Notification) -> None:
        raise Crash("killed after send, before commit")

    with pytest.raises(Crash):
        deliver_due(
            sqlite_engine,
            {"hook": hook},
            clock=clock,
            config=CONFIG,
            settings=SETTINGS,
            after_send=crash,
        )
    with pytest.raises(Crash):
        deliver_due(
            sqlite_engine,
            {"chat": chat},
            clock=clock,
            config=CONFIG,
            settings=SETTINGS,
            after_send=crash,
        )
    assert len(hook.sent) == len(chat.sent) == 1
    # Within the lease nothing is touched; after it, the idempotent channel is re-sent with the
    # same key (the receiver drops it), the other is flagged, never re-sent.
    clock.advance(timedelta(minutes=1))
    assert (
        deliver_due(sqlite_engine, senders, clock=clock, config=CONFIG, settings=SETTINGS).sent == 0
    )
    clock.advance(timedelta(minutes=10))
    report = deliver_due(sqlite_engine, senders, clock=clock, config=CONFIG, settings=SETTINGS)
    assert (report.resent_after_crash, report.sent, report.unknown) == (1, 1, 1)
    assert len({key for _, key, _ in hook.sent}) == 1 and len(hook.sent) == 2
    assert len(chat.sent) == 1
    with Session(sqlite_engine) as s:
        statuses = {n.channel: n.status for n in s.exec(select(Notification))}
    assert statuses == {"hook": "sent", "chat": "unknown"}
