"""Escalation pages: the queue (level, risk, SLA left, owner), one escalation (post, link,
reasons, curve, timeline) and its forms; leads act, analysts get 403; the actor is recorded."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.clock import SimulatedClock
from earful.config.models import AppConfig
from earful.risk.scoring import Reason
from earful.store.escalations import Escalation, EscalationEvent
from earful.store.models import EngagementSnapshot, Mention
from tests.unit.escalation_factories import open_escalation
from tests.unit.web.web_factories import T0, login, make_client, make_user, page_csrf

HOSTILE = 'Acme burned me <script>alert(1)</script><img src=x onerror="alert(2)">'


def _config() -> AppConfig:
    return AppConfig.model_validate(
        {
            "escalation": {
                "channels": {"f": {"kind": "file", "path": "x"}},
                "routes": [{"level": 1, "channel": "f", "to": "lead"}],
            }
        }
    )


def _escalation(engine: Engine, config: AppConfig) -> int:
    esc_id = open_escalation(
        engine,
        Mention(
            source="reddit",
            external_id="r1",
            url="https://reddit.example/r/1",
            author="angry_ann",
            author_followers=1200,
            text=HOSTILE,
            published_at=T0,
            fetched_at=T0,
        ),
        brand="Acme",
        risk=72,
        reasons=[Reason("severity", 30, "injury: 'burned'"), Reason("velocity", 20, "×9 in 1 h")],
        now=T0,
        config=config,
    )
    with Session(engine) as s, s.begin():
        esc = s.get(Escalation, esc_id)
        assert esc is not None and esc.mention_id is not None
        for i, likes in enumerate((3, 40, 300)):
            s.add(
                EngagementSnapshot(
                    mention_id=esc.mention_id, at=T0 + timedelta(hours=i), likes=likes
                )
            )
    return esc_id


def _clients(engine: Engine, config: AppConfig):  # type: ignore[no-untyped-def]
    make_user(engine, "lea", "lead")
    make_user(engine, "ana", "analyst")
    clock = SimulatedClock(T0 + timedelta(minutes=10))
    return (
        login(make_client(engine, config, clock=clock), "lea"),
        login(make_client(engine, config, clock=clock), "ana"),
    )


def test_queue_shows_level_risk_sla_and_owner(sqlite_engine: Engine) -> None:
    config = _config()
    esc_id = _escalation(sqlite_engine, config)
    lead, _ = _clients(sqlite_engine, config)
    page = lead.get("/escalations")
    assert page.status_code == 200
    assert f'href="/escalations/{esc_id}"' in page.text
    assert "L2" in page.text and "72" in page.text and "50 min" in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    assert "all" in lead.get("/escalations", params={"status": "all"}).text
    assert lead.get("/escalations", params={"status": "bogus"}).status_code == 400


def test_escalation_page_shows_post_reasons_curve_timeline(sqlite_engine: Engine) -> None:
    config = _config()
    esc_id = _escalation(sqlite_engine, config)
    lead, _ = _clients(sqlite_engine, config)
    page = lead.get(f"/escalations/{esc_id}")
    assert page.status_code == 200
    text = page.text
    assert "Acme burned me" in text and 'href="https://reddit.example/r/1"' in text
    assert "<script>" not in text and "<img src=x" not in text and "&lt;img" in text
    assert "injury: &#39;burned&#39;" in text and "×9 in 1 h" in text
    assert '<svg class="curve"' in text and "<polyline" in text
    assert "opened" in text and 'id="timeline"' in text
    assert 'id="ack"' in text and "angry_ann" in text and "1,200" in text
    assert lead.get("/escalations/999").status_code == 404


def test_lead_acknowledges_with_the_form_and_is_recorded(sqlite_engine: Engine) -> None:
    config = _config()
    esc_id = _escalation(sqlite_engine, config)
    lead, _ = _clients(sqlite_engine, config)
    csrf = page_csrf(lead, f"/escalations/{esc_id}")
    assert lead.post(f"/escalations/{esc_id}/acknowledge", data={}).status_code == 403
    done = lead.post(f"/escalations/{esc_id}/acknowledge", data={"csrf": csrf})
    assert done.status_code == 303 and done.headers["location"] == f"/escalations/{esc_id}"
    with Session(sqlite_engine) as s:
        esc = s.get(Escalation, esc_id)
        assert esc is not None and esc.status == "acknowledged" and esc.acknowledged_by == "lea"
        kinds = [(e.kind, e.actor) for e in s.exec(select(EscalationEvent))]
        assert ("acknowledged", "lea") in kinds
    assert "lea" in lead.get(f"/escalations/{esc_id}").text


def test_assign_resolve_and_dismiss(sqlite_engine: Engine) -> None:
    config = _config()
    esc_id = _escalation(sqlite_engine, config)
    lead, _ = _clients(sqlite_engine, config)
    csrf = page_csrf(lead, f"/escalations/{esc_id}")
    lead.post(f"/escalations/{esc_id}/assign", data={"csrf": csrf, "assignee": "ana"})
    assert "ana" in lead.get("/escalations").text
    no_reason = lead.post(f"/escalations/{esc_id}/dismiss", data={"csrf": csrf, "note": " "})
    assert no_reason.status_code == 400
    lead.post(f"/escalations/{esc_id}/resolve", data={"csrf": csrf, "note": "refund sent"})
    with Session(sqlite_engine) as s:
        esc = s.get(Escalation, esc_id)
        assert esc is not None and esc.status == "resolved" and esc.note == "refund sent"
    again = lead.post(f"/escalations/{esc_id}/dismiss", data={"csrf": csrf, "note": "x"})
    assert again.status_code == 409


def test_analyst_cannot_acknowledge_resolve_or_dismiss(sqlite_engine: Engine) -> None:
    config = _config()
    esc_id = _escalation(sqlite_engine, config)
    _, analyst = _clients(sqlite_engine, config)
    page = analyst.get(f"/escalations/{esc_id}")
    assert page.status_code == 200 and 'id="ack"' not in page.text
    csrf = page_csrf(analyst, f"/escalations/{esc_id}")
    for action in ("acknowledge", "resolve", "dismiss", "assign"):
        answer = analyst.post(
            f"/escalations/{esc_id}/{action}", data={"csrf": csrf, "note": "n", "assignee": "ana"}
        )
        assert answer.status_code == 403, action
    with Session(sqlite_engine) as s:
        esc = s.get(Escalation, esc_id)
        assert esc is not None and esc.status == "open" and esc.acknowledged_by is None


def test_incident_page_lists_the_escalations_and_posts(sqlite_engine: Engine) -> None:
    config = _config()
    esc_id = _escalation(sqlite_engine, config)
    lead, _ = _clients(sqlite_engine, config)
    page = lead.get(f"/incidents/{esc_id}")
    assert page.status_code == 200 and f"#{esc_id}" in page.text and "Acme burned me" in page.text
