"""Scheduling: which brands are due, and one email per brand and local day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.message import EmailMessage

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.clock import SimulatedClock
from earful.config.models import AppConfig
from earful.digest.schedule import DueDigest, due_digests, run_due_digests
from earful.errors import TransientNotificationError
from earful.settings import Settings
from earful.store.digest_runs import DigestRun
from tests.unit.digest.digest_factories import seed_month


def config(**digest: object) -> AppConfig:
    return AppConfig.model_validate(
        {
            "brands": [
                {"name": "Acme", "timezone": "Europe/Paris", "competitors": ["Globex"]},
                {"name": "Globex", "track": False},
                {"name": "Initech", "timezone": "America/Los_Angeles"},
            ],
            # Initech sends late in its (Los Angeles) evening: 23:45 there is 07:45 UTC.
            "digest": {
                "recipients": ["team@example.com"],
                "brands": {"Initech": {"send_at": "23:45"}},
                **digest,
            },
        }
    )


def test_due_at_local_send_time_per_brand() -> None:
    cfg = config(send_at="08:00")
    # 07:30 UTC = 08:30 in Paris (due: the 21st); 23:30 on the 21st in Los Angeles (not yet).
    assert due_digests(cfg, datetime(2026, 11, 22, 7, 30, tzinfo=UTC)) == [
        DueDigest("Acme", date(2026, 11, 21))
    ]
    # 07:50 UTC = 23:50 in Los Angeles: Initech's previous day (the 20th) is due; Globex
    # (track: false) never is.
    due = due_digests(cfg, datetime(2026, 11, 22, 7, 50, tzinfo=UTC))
    assert due == [DueDigest("Acme", date(2026, 11, 21)), DueDigest("Initech", date(2026, 11, 20))]
    assert due_digests(cfg, datetime(2026, 11, 22, 6, 59, tzinfo=UTC)) == []  # 07:59 in Paris


def test_same_day_and_disabled() -> None:
    cfg = config(covers="same_day", brands={"Initech": {"enabled": False}})
    due = due_digests(cfg, datetime(2026, 11, 23, 7, 50, tzinfo=UTC))
    assert due == [DueDigest("Acme", date(2026, 11, 23))]  # the day so far in Paris
    assert due_digests(config(enabled=False), datetime(2026, 11, 22, 23, 0, tzinfo=UTC)) == []


def test_config_rejects_a_bad_send_time() -> None:
    with pytest.raises(ValueError, match="08:00"):
        config(send_at="8 am")


def test_sent_once_per_brand_and_day(sqlite_engine: Engine) -> None:
    seed_month(sqlite_engine)
    sent: list[EmailMessage] = []
    clock = SimulatedClock(datetime(2026, 11, 22, 7, 30, tzinfo=UTC))
    cfg = config()
    settings = Settings(smtp_from="digest@example.com")

    def capture(msg: EmailMessage, _settings: Settings) -> None:
        sent.append(msg)

    first = run_due_digests(sqlite_engine, cfg, settings, clock, sender=capture)
    second = run_due_digests(sqlite_engine, cfg, settings, clock, sender=capture)
    assert [(r.brand, r.day, r.status) for r in first] == [("Acme", "2026-11-21", "sent")]
    assert second == []
    assert len(sent) == 1
    assert sent[0]["To"] == "team@example.com"
    assert "Acme" in sent[0]["Subject"] and "2026-11-21" in sent[0]["Subject"]
    with Session(sqlite_engine) as session:
        run = session.exec(select(DigestRun)).one()
    assert (run.status, run.volume, run.attempts) == ("sent", 9, 1)


def test_failed_send_is_retried_then_given_up(sqlite_engine: Engine) -> None:
    clock = SimulatedClock(datetime(2026, 11, 22, 7, 30, tzinfo=UTC))
    attempts: list[int] = []

    def failing(_msg: EmailMessage, _settings: Settings) -> None:
        attempts.append(1)
        raise TransientNotificationError("SMTP down", channel="email")

    for _ in range(5):
        run_due_digests(sqlite_engine, config(), Settings(), clock, sender=failing)
    assert len(attempts) == 3  # MAX_ATTEMPTS
    with Session(sqlite_engine) as session:
        run = session.exec(select(DigestRun)).one()
    assert (run.status, run.attempts) == ("failed", 3)
    assert "SMTP down" in (run.error or "")


def test_no_recipients_is_recorded_not_sent(sqlite_engine: Engine) -> None:
    cfg = config(recipients=[])
    clock = SimulatedClock(datetime(2026, 11, 22, 7, 30, tzinfo=UTC))

    def never(_msg: EmailMessage, _settings: Settings) -> None:
        raise AssertionError("must not send")

    runs = run_due_digests(sqlite_engine, cfg, Settings(), clock, sender=never)
    assert [r.status for r in runs] == ["no_recipients"]


def test_the_emailed_link_quotes_the_brand(sqlite_engine: Engine) -> None:
    cfg = AppConfig.model_validate(
        {"brands": [{"name": "Acme Air"}], "digest": {"recipients": ["team@example.com"]}}
    )
    sent: list[EmailMessage] = []
    clock = SimulatedClock(datetime(2026, 11, 22, 9, 0, tzinfo=UTC))
    settings = Settings(smtp_from="digest@example.com", base_url="https://earful.example")
    run_due_digests(sqlite_engine, cfg, settings, clock, sender=lambda m, _s: sent.append(m))
    text = sent[0].get_body(("plain",))
    assert text is not None
    assert "https://earful.example/digests/Acme%20Air/2026-11-21" in text.get_content()
