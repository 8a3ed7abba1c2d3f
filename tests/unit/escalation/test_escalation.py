"""Escalation rules and lifecycle on a simulated clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.clock import SimulatedClock, ensure_utc
from earful.config.escalation import EscalationConfig
from earful.config.risk import RiskConfig
from earful.escalation.lifecycle import (
    Candidate,
    EscalationStateError,
    acknowledge,
    check_sla,
    dismiss,
    escalate,
    quiet_until,
    resolve,
    rule_precision,
)
from earful.risk.scoring import Reason
from earful.store.escalations import EscalationEvent, Notification

T0 = datetime(2025, 3, 11, 14, 0, tzinfo=UTC)

CONFIG = EscalationConfig.model_validate(
    {
        "channels": {"console": {"kind": "console"}, "mail": {"kind": "email"}},
        "routes": [
            {"brand": "*", "level": 1, "channel": "console", "to": "lead"},
            {"brand": "Acme", "level": 2, "channel": "mail", "to": "manager@acme.test"},
            {"brand": "Acme", "level": 3, "channel": "mail", "to": "ceo@acme.test"},
        ],
        "levels": {
            1: {"name": "lead", "sla": "30m"},
            2: {"name": "manager", "sla": "1h"},
            3: {"name": "exec", "sla": "2h"},
        },
        "cooldown": "6h",
        "max_per_hour": 2,
    }
)
RISK = RiskConfig()


def _cand(risk: float, key: str = "incident:a", brand: str = "Acme") -> Candidate:
    return Candidate(
        brand=brand,
        incident_key=key,
        risk=risk,
        reasons=[Reason("velocity", risk, "views ×8 in 2 h")],
    )


def _recipients(session: Session, esc_id: int) -> set[tuple[int, str]]:
    rows = session.exec(select(Notification).where(Notification.escalation_id == esc_id)).all()
    return {(n.level, n.recipient) for n in rows}


def test_open_then_raise_on_higher_risk_only(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as s, s.begin():
        assert escalate(s, _cand(30), now=T0, risk_config=RISK, config=CONFIG).action == "none"
        first = escalate(s, _cand(55), now=T0, risk_config=RISK, config=CONFIG)
        assert first.action == "opened" and first.level == 1
        assert escalate(s, _cand(60), now=T0, risk_config=RISK, config=CONFIG).action == "none"
        raised = escalate(s, _cand(72), now=T0, risk_config=RISK, config=CONFIG)
        assert raised.action == "raised" and raised.level == 2
        assert first.escalation is not None and first.escalation.id is not None
        assert _recipients(s, first.escalation.id) == {
            (1, "console:lead"),
            (2, "mail:manager@acme.test"),
        }
        # Enqueuing again is a no-op: one row per (escalation, level, recipient).
        again = escalate(s, _cand(72), now=T0, risk_config=RISK, config=CONFIG)
        assert again.action == "none"


def test_sla_raises_unacknowledged_escalations_on_the_clock(sqlite_engine: Engine) -> None:
    clock = SimulatedClock(T0)
    with Session(sqlite_engine) as s, s.begin():
        esc = escalate(s, _cand(55), now=clock.now(), risk_config=RISK, config=CONFIG).escalation
        assert esc is not None and esc.id is not None
        clock.advance(timedelta(minutes=29))
        assert check_sla(s, now=clock.now(), config=CONFIG) == []
        clock.advance(timedelta(minutes=2))
        assert [e.id for e in check_sla(s, now=clock.now(), config=CONFIG)] == [esc.id]
        assert esc.level == 2
        assert (2, "mail:manager@acme.test") in _recipients(s, esc.id)
        clock.advance(timedelta(minutes=61))
        check_sla(s, now=clock.now(), config=CONFIG)
        assert esc.level == 3 and (3, "mail:ceo@acme.test") in _recipients(s, esc.id)
        clock.advance(timedelta(hours=3))
        assert check_sla(s, now=clock.now(), config=CONFIG) == []
        kinds = [
            e.kind
            for e in s.exec(select(EscalationEvent).where(EscalationEvent.escalation_id == esc.id))
        ]
        assert kinds == ["opened", "sla_raised", "sla_raised", "sla_missed"]


def test_acknowledge_stops_the_sla_and_times_are_recorded(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as s, s.begin():
        esc = escalate(s, _cand(55), now=T0, risk_config=RISK, config=CONFIG).escalation
        assert esc is not None and esc.id is not None
        acknowledge(s, esc.id, now=T0 + timedelta(minutes=12), actor="lead")
        assert check_sla(s, now=T0 + timedelta(hours=5), config=CONFIG) == []
        resolve(s, esc.id, now=T0 + timedelta(hours=2), actor="lead", note="refund issued")
        assert esc.status == "resolved"
        assert ensure_utc(esc.acknowledged_at) - T0 == timedelta(minutes=12)  # type: ignore[arg-type]
        with pytest.raises(EscalationStateError):
            acknowledge(s, esc.id, now=T0 + timedelta(hours=3), actor="lead")


def test_cooldown_and_hourly_cap(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as s, s.begin():
        esc = escalate(s, _cand(55), now=T0, risk_config=RISK, config=CONFIG).escalation
        assert esc is not None and esc.id is not None
        resolve(s, esc.id, now=T0 + timedelta(minutes=5), actor="lead")
        again = escalate(s, _cand(60), now=T0 + timedelta(hours=1), risk_config=RISK, config=CONFIG)
        assert again.action == "suppressed" and "cooldown" in again.why
        later = T0 + timedelta(hours=7)
        assert escalate(s, _cand(60), now=later, risk_config=RISK, config=CONFIG).action == "opened"
        assert (
            escalate(s, _cand(60, "incident:b"), now=later, risk_config=RISK, config=CONFIG).action
            == "opened"
        )
        capped = escalate(s, _cand(60, "incident:c"), now=later, risk_config=RISK, config=CONFIG)
        assert capped.action == "suppressed" and "cap" in capped.why


def test_quiet_hours_hold_level_one_but_not_level_two(sqlite_engine: Engine) -> None:
    quiet = EscalationConfig.model_validate(
        {
            **CONFIG.model_dump(),
            "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Europe/Paris"},
        }
    )
    night = datetime(2025, 3, 11, 23, 30, tzinfo=UTC)  # 00:30 in Paris
    assert quiet_until(night, quiet.quiet_hours) == datetime(2025, 3, 12, 6, 0, tzinfo=UTC)
    assert quiet_until(T0, quiet.quiet_hours) is None
    with Session(sqlite_engine) as s, s.begin():
        low = escalate(s, _cand(55, "incident:q1"), now=night, risk_config=RISK, config=quiet)
        high = escalate(s, _cand(75, "incident:q2"), now=night, risk_config=RISK, config=quiet)
        assert ensure_utc(low.notifications[0].next_attempt_at) == datetime(
            2025, 3, 12, 6, 0, tzinfo=UTC
        )
        assert all(ensure_utc(n.next_attempt_at) == night for n in high.notifications)
        # The held escalation's SLA clock starts when quiet hours end, so no one is paged at
        # night because a level-1 message was (rightly) held.
        assert low.escalation is not None and low.escalation.sla_due_at is not None
        assert ensure_utc(low.escalation.sla_due_at) == datetime(2025, 3, 12, 6, 30, tzinfo=UTC)
        raised = check_sla(s, now=night + timedelta(hours=2), config=quiet)
        assert [e.incident_key for e in raised] == ["incident:q2"]  # level 2 is not held


def test_dismissals_count_against_the_rule(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as s, s.begin():
        a = escalate(s, _cand(55, "incident:1"), now=T0, risk_config=RISK, config=CONFIG).escalation
        b = escalate(s, _cand(55, "incident:2"), now=T0, risk_config=RISK, config=CONFIG).escalation
        assert a is not None and b is not None and a.id is not None and b.id is not None
        dismiss(s, a.id, now=T0, actor="lead", note="a joke account")
        resolve(s, b.id, now=T0, actor="lead")
        stats = rule_precision(s)["mention_risk"]
        assert stats["dismissed"] == 1 and stats["precision"] == 0.5
