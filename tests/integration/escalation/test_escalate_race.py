"""Concurrent escalate() on PostgreSQL: the database keeps one escalation per incident."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from earful.config.escalation import EscalationConfig
from earful.config.risk import RiskConfig
from earful.escalation.lifecycle import Candidate, escalate
from earful.risk.scoring import Reason
from earful.store.db import run_in_transaction
from earful.store.escalations import Escalation, Notification

T0 = datetime(2025, 3, 11, 14, 0, tzinfo=UTC)
CONFIG = EscalationConfig.model_validate(
    {
        "channels": {"console": {"kind": "console"}},
        "routes": [
            {"brand": "*", "level": 1, "channel": "console", "to": "lead"},
            {"brand": "*", "level": 2, "channel": "console", "to": "manager"},
        ],
        "levels": {1: {"name": "lead", "sla": "30m"}, 2: {"name": "manager", "sla": "1h"}},
        "max_per_hour": 100,
    }
)


def test_racing_workers_open_one_escalation_and_notify_each_recipient_once(
    pg_engine: Engine,
) -> None:
    risks = [60.0, 60.0, 75.0, 75.0, 60.0, 75.0]
    barrier = threading.Barrier(len(risks))
    actions: list[str] = []
    errors: list[BaseException] = []

    def worker(risk: float) -> None:
        cand = Candidate("Acme", "incident:story", risk, [Reason("velocity", risk, "fast")])

        def work(session: Session) -> str:
            barrier.wait(timeout=10)
            return escalate(session, cand, now=T0, risk_config=RiskConfig(), config=CONFIG).action

        try:
            actions.append(run_in_transaction(pg_engine, work))
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(r,)) for r in risks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    with Session(pg_engine) as session:
        escalations = session.exec(select(Escalation)).all()
        notes = session.exec(select(Notification)).all()
    assert len(escalations) == 1
    assert escalations[0].level == 2
    assert actions.count("opened") == 1
    # Whichever worker wins, level 2 was reached: both levels' recipients hear, once each.
    keys = [(n.level, n.recipient) for n in notes]
    assert sorted(keys) == [(1, "console:lead"), (2, "console:manager")]
    assert len({n.idempotency_key for n in notes}) == len(notes)


def test_second_active_escalation_for_an_incident_is_refused(pg_engine: Engine) -> None:
    def add(session: Session) -> None:
        session.add(Escalation(brand="Acme", incident_key="incident:x", opened_at=T0))

    run_in_transaction(pg_engine, add)
    try:
        run_in_transaction(pg_engine, add)
    except IntegrityError:
        pass
    else:
        raise AssertionError("a second open escalation of one incident was stored")

    def close_and_reopen(session: Session) -> int:
        esc = session.exec(select(Escalation)).one()
        esc.status = "resolved"
        session.add(esc)
        session.flush()
        add(session)
        session.flush()
        return len(session.exec(select(Escalation)).all())

    assert run_in_transaction(pg_engine, close_and_reopen) == 2
