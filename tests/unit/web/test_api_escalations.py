"""``/api/escalations`` and ``/api/incidents``: a lead's token acknowledges as its user, an
analyst's is refused, the other actions follow the lifecycle; listing and reading."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.config.models import AppConfig
from earful.risk.scoring import Reason
from earful.store.escalations import Escalation, EscalationEvent
from earful.store.models import Mention
from tests.unit.escalation_factories import open_escalation
from tests.unit.web.api_factories import bearer, token_for
from tests.unit.web.web_factories import T0, make_client


def _config() -> AppConfig:
    return AppConfig.model_validate(
        {
            "escalation": {
                "channels": {"f": {"kind": "file", "path": "x"}},
                "routes": [{"level": 1, "channel": "f", "to": "lead"}],
            }
        }
    )


def _escalation(engine: Engine, config: AppConfig, n: int = 1, *, incident: str = "i") -> int:
    return open_escalation(
        engine,
        Mention(
            source="reddit",
            external_id=f"r{n}",
            url=f"https://reddit.example/r/{n}",
            text=f"Acme burned me ({n})",
            published_at=T0,
            fetched_at=T0,
        ),
        brand="Acme",
        risk=72,
        reasons=[Reason("severity", 30, "injury: 'burned'")],
        now=T0,
        config=config,
        incident_key=incident,
    )


def test_ack_acts_as_the_tokens_user_and_analysts_get_403(sqlite_engine: Engine) -> None:
    config = _config()
    esc_id = _escalation(sqlite_engine, config)
    lead = bearer(token_for(sqlite_engine, "lea", "lead"))
    analyst = bearer(token_for(sqlite_engine, "ana", "analyst"))
    client = make_client(sqlite_engine, config)

    refused = client.post(f"/api/escalations/{esc_id}/ack", headers=analyst)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    with Session(sqlite_engine) as s:
        assert s.get(Escalation, esc_id).status == "open"  # type: ignore[union-attr]

    acked = client.post(f"/api/escalations/{esc_id}/ack", headers=lead)
    assert acked.status_code == 200, acked.text
    body = acked.json()
    assert body["status"] == "acknowledged" and body["acknowledged_by"] == "lea"
    assert body["owner"] == "lea" and body["mention"]["text"] == "Acme burned me (1)"
    assert [e["kind"] for e in body["events"]][-1] == "acknowledged"
    with Session(sqlite_engine) as s:
        esc = s.get(Escalation, esc_id)
        assert esc is not None and (esc.status, esc.acknowledged_by) == ("acknowledged", "lea")
        event = s.exec(
            select(EscalationEvent).where(
                EscalationEvent.escalation_id == esc_id, EscalationEvent.kind == "acknowledged"
            )
        ).one()
        assert event.actor == "lea"
    again = client.post(f"/api/escalations/{esc_id}/ack", headers=lead)
    assert again.status_code == 200 and again.json()["acknowledged_by"] == "lea"  # a no-op


def test_resolve_dismiss_assign_and_their_errors(sqlite_engine: Engine) -> None:
    config = _config()
    first = _escalation(sqlite_engine, config, 1, incident="a")
    second = _escalation(sqlite_engine, config, 2, incident="b")
    lead = bearer(token_for(sqlite_engine, "lea", "lead"))
    client = make_client(sqlite_engine, config)
    url = f"/api/escalations/{first}"

    assert client.post(f"{url}/assign", headers=lead).status_code == 422  # whom?
    nobody = client.post(f"{url}/assign", json={"user": "zed"}, headers=lead)
    assert nobody.status_code == 422 and "zed" in nobody.json()["error"]["message"]
    assigned = client.post(f"{url}/assign", json={"user": "lea"}, headers=lead).json()
    assert assigned["owner"] == "lea" and assigned["status"] == "open"
    assert assigned["events"][-1] == {**assigned["events"][-1], "kind": "assigned", "detail": "lea"}

    resolved = client.post(f"{url}/resolve", json={"note": "refunded"}, headers=lead).json()
    assert resolved["status"] == "resolved" and resolved["acknowledged_by"] == "lea"
    late = client.post(f"{url}/dismiss", json={"reason": "spam"}, headers=lead)
    assert late.status_code == 409 and late.json()["error"]["code"] == "conflict"

    why = client.post(f"/api/escalations/{second}/dismiss", json={}, headers=lead)
    assert why.status_code == 422 and why.json()["error"]["code"] == "validation"
    dismissed = client.post(
        f"/api/escalations/{second}/dismiss", json={"reason": "a joke"}, headers=lead
    )
    assert dismissed.json()["status"] == "dismissed"
    typo = client.post(f"{url}/resolve", json={"nota": "x"}, headers=lead)
    assert typo.status_code == 422
    missing = client.post("/api/escalations/9999/ack", headers=lead)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert client.post(f"{url}/explode", headers=lead).status_code == 404


def test_list_read_and_incident(sqlite_engine: Engine) -> None:
    config = _config()
    first = _escalation(sqlite_engine, config, 1, incident="a")
    second = _escalation(sqlite_engine, config, 2, incident="b")
    headers = bearer(token_for(sqlite_engine, "ana", "analyst"))
    client = make_client(sqlite_engine, config)
    with Session(sqlite_engine) as s, s.begin():
        esc = s.get(Escalation, second)
        assert esc is not None
        esc.status = "resolved"
        s.add(esc)

    active = client.get("/api/escalations", headers=headers).json()
    assert [e["id"] for e in active] == [first] and active[0]["brand"] == "Acme"
    assert active[0]["reasons"][0]["factor"] == "severity"
    everything = client.get("/api/escalations", params={"status": "all"}, headers=headers)
    assert {e["id"] for e in everything.json()} == {first, second}
    resolved = client.get("/api/escalations", params={"status": "resolved"}, headers=headers)
    assert [e["id"] for e in resolved.json()] == [second]
    bad = client.get("/api/escalations", params={"status": "closed"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation"

    one = client.get(f"/api/escalations/{first}", headers=headers).json()
    assert one["id"] == first and one["incident"] == "a" and one["events"][0]["kind"] == "opened"
    assert client.get("/api/escalations/9999", headers=headers).status_code == 404

    incident = client.get(f"/api/incidents/{first}", headers=headers).json()
    assert incident["incident"] == "a" and [e["id"] for e in incident["escalations"]] == [first]
    assert [p["external_id"] for p in incident["posts"]] == ["r1"]
    assert client.get("/api/incidents/9999", headers=headers).status_code == 404
