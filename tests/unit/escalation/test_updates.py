"""An open escalation follows its story: updated (never re-opened), update notices throttled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from earful.config.escalation import EscalationConfig
from earful.config.models import AppConfig
from earful.escalation.lifecycle import Candidate, escalate, resolve
from earful.notify.message import build_message, render_text
from earful.risk.scoring import Reason
from earful.store.escalations import Escalation, EscalationEvent, Notification
from tests.unit.escalation.test_escalation import CONFIG, RISK, T0


def _cand(risk: float, posts: int = 1, sources: int = 1, key: str = "incident:a") -> Candidate:
    return Candidate(
        brand="Acme",
        incident_key=key,
        risk=risk,
        reasons=[Reason("spread", risk, f"{posts} posts")],
        posts=posts,
        sources=sources,
    )


def _events(s: Session, esc_id: int) -> list[tuple[str, str | None]]:
    rows = s.exec(
        select(EscalationEvent)
        .where(EscalationEvent.escalation_id == esc_id)
        .order_by(col(EscalationEvent.id))
    ).all()
    return [(e.kind, e.detail) for e in rows]


def _rows(s: Session, esc_id: int) -> list[Notification]:
    return list(
        s.exec(
            select(Notification)
            .where(Notification.escalation_id == esc_id)
            .order_by(col(Notification.id))
        ).all()
    )


def test_a_growing_story_updates_its_escalation_and_never_opens_another(
    sqlite_engine: Engine,
) -> None:
    with Session(sqlite_engine) as s, s.begin():
        opened = escalate(s, _cand(55, posts=2), now=T0, risk_config=RISK, config=CONFIG)
        esc = opened.escalation
        assert esc is not None and esc.id is not None
        # Too little changed: nothing recorded.
        small = escalate(s, _cand(58, posts=2), now=T0, risk_config=RISK, config=CONFIG)
        assert small.action == "none"
        # Posts grew by half and a new source: updated, with the current numbers.
        later = T0 + timedelta(minutes=5)
        grown = escalate(s, _cand(60, 3, 2), now=later, risk_config=RISK, config=CONFIG)
        assert grown.action == "updated" and grown.escalation is esc
        assert (esc.risk, esc.posts, esc.sources, esc.level) == (60, 3, 2, 1)
        assert grown.notifications == []  # the level's alert went out 5 minutes ago
        assert _events(s, esc.id)[-1] == (
            "updated",
            "risk 60; 3 posts on 2 sources (posts 2 → 3; sources 1 → 2)",
        )
        # Risk up by the step: updated again; only one escalation exists.
        riskier = escalate(s, _cand(70, 3, 2), now=later, risk_config=RISK, config=CONFIG)
        assert riskier.action == "raised" and riskier.level == 2  # 70 crosses level 2
        assert len(s.exec(select(Escalation)).all()) == 1


def test_update_notifications_are_throttled_per_level_and_exactly_once(
    sqlite_engine: Engine,
) -> None:
    with Session(sqlite_engine) as s, s.begin():
        esc = escalate(s, _cand(50), now=T0, risk_config=RISK, config=CONFIG).escalation
        assert esc is not None and esc.id is not None
        at = T0 + timedelta(minutes=31)
        first = escalate(s, _cand(50, posts=4), now=at, risk_config=RISK, config=CONFIG)
        assert first.action == "updated" and len(first.notifications) == 1
        row = first.notifications[0]
        assert (row.level, row.round, row.risk, row.detail) == (1, 1, 50, "posts 1 → 4")
        assert row.idempotency_key.endswith(f"-e{esc.id}-l1-u1")
        # Ten minutes later the story grew again: recorded, but nobody is paged again yet.
        again = at + timedelta(minutes=10)
        second = escalate(s, _cand(50, posts=8), now=again, risk_config=RISK, config=CONFIG)
        assert second.action == "updated" and second.notifications == []
        third_at = at + timedelta(minutes=31)
        third = escalate(s, _cand(50, posts=12), now=third_at, risk_config=RISK, config=CONFIG)
        assert [n.round for n in third.notifications] == [2]
        rows = _rows(s, esc.id)
        assert [(n.level, n.round) for n in rows] == [(1, 0), (1, 1), (1, 2)]
        assert len({n.idempotency_key for n in rows}) == 3
        kinds = [k for k, _ in _events(s, esc.id)]
        assert kinds == ["opened", "updated", "updated", "updated"]


def test_an_update_notice_states_the_moment_and_what_changed(sqlite_engine: Engine) -> None:
    config = AppConfig.model_validate({"escalation": CONFIG.model_dump()})
    with Session(sqlite_engine) as s, s.begin():
        esc = escalate(s, _cand(50, 2, 1), now=T0, risk_config=RISK, config=CONFIG).escalation
        assert esc is not None
        at = T0 + timedelta(hours=1)
        row = escalate(s, _cand(62, 6, 3), now=at, risk_config=RISK, config=CONFIG).notifications[0]
        # The escalation moves on after the row was enqueued; the notice keeps its moment.
        escalate(s, _cand(64, 20, 4), now=at, risk_config=RISK, config=CONFIG)
        msg = build_message(
            s, esc, 1, config=config, base_url="http://x", secret="s" * 32, notification=row, now=at
        )
        text = render_text(msg)
        assert msg.risk == 62 and msg.subject.startswith("[Earful L1 update] Acme: risk 62")
        assert "Update: risk 50 → 62; posts 2 → 6; sources 1 → 3" in text


def test_a_resolved_incident_keeps_its_cooldown(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as s, s.begin():
        esc = escalate(s, _cand(55), now=T0, risk_config=RISK, config=CONFIG).escalation
        assert esc is not None and esc.id is not None
        resolve(s, esc.id, now=T0 + timedelta(minutes=10), actor="lead")
        grown = escalate(
            s, _cand(75, 40, 5), now=T0 + timedelta(hours=1), risk_config=RISK, config=CONFIG
        )
        assert grown.action == "suppressed" and "cooldown" in grown.why
        assert len(s.exec(select(Escalation)).all()) == 1


def test_who_is_paged_depends_on_the_level_reached_not_the_path(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as s, s.begin():
        # One runner saw the story grow (opened at 1, raised to 3); another saw it whole.
        step = escalate(s, _cand(55, key="incident:step"), now=T0, risk_config=RISK, config=CONFIG)
        escalate(s, _cand(90, key="incident:step"), now=T0, risk_config=RISK, config=CONFIG)
        whole = escalate(
            s, _cand(90, key="incident:whole"), now=T0, risk_config=RISK, config=CONFIG
        )
        assert step.escalation is not None and whole.escalation is not None
        paged = [
            {(n.level, n.recipient) for n in _rows(s, d.escalation.id or 0)}
            for d in (step, whole)
            if d.escalation is not None
        ]
        assert (
            paged[0]
            == paged[1]
            == {
                (1, "console:lead"),
                (2, "mail:manager@acme.test"),
                (3, "mail:ceo@acme.test"),
            }
        )


def test_the_update_throttle_is_longer_than_zero() -> None:
    with pytest.raises(ValidationError):
        EscalationConfig.model_validate({"update_throttle": "0s"})
