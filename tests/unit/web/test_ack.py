"""Acknowledge links: GET/HEAD (a link scanner) change nothing, the confirm page's POST
acknowledges; claims are checked against the database; built-in keys never verify."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.clock import SimulatedClock
from earful.config.models import AppConfig
from earful.escalation.links import AckClaim, make_token, signing_keys
from earful.risk.scoring import Reason
from earful.settings import DEV_SECRET, Settings
from earful.store.escalations import Escalation, EscalationEvent, Notification
from earful.store.models import Mention
from earful.web.app import create_app
from tests.unit.escalation_factories import open_escalation

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

T0 = datetime(2025, 3, 11, 14, 0, tzinfo=UTC)
SECRET = "web-test-secret"


def _setup(
    engine: Engine, settings: Settings | None = None
) -> tuple[TestClient, SimulatedClock, int]:
    config = AppConfig()
    esc_id = open_escalation(
        engine,
        Mention(source="mastodon", external_id="1", text="\x1b]0;pwned\x07bag lost", fetched_at=T0),
        brand="Acme",
        risk=60,
        reasons=[Reason("velocity", 60, "likes ×9 in 1 h")],
        now=T0,
        config=config,
    )
    with Session(engine) as s, s.begin():
        # The link of notification 1 (level 1) and of a second recipient, notification 2.
        existing = {n.id for n in s.exec(select(Notification)).all()}
        for n, who in ((1, "a@x"), (2, "b@x")):
            if n not in existing:
                s.add(
                    Notification(
                        id=n,
                        escalation_id=esc_id,
                        level=1,
                        recipient=who,
                        channel="email",
                        idempotency_key=f"k{n}",
                        created_at=T0,
                        next_attempt_at=T0,
                    )
                )
    clock = SimulatedClock(T0 + timedelta(minutes=5))
    settings = settings or Settings(secret_key=SECRET)  # type: ignore[arg-type]
    return TestClient(create_app(settings, engine, config, clock=clock)), clock, esc_id


def _token(esc_id: int, *, secret: str = SECRET, notification: int = 1, level: int = 1) -> str:
    expires = int((T0 + timedelta(hours=1)).timestamp())
    return make_token(secret, AckClaim(esc_id, level, notification, expires))


def _status(engine: Engine, esc_id: int) -> str:
    with Session(engine) as s:
        esc = s.get(Escalation, esc_id)
        assert esc is not None
        return esc.status


def _events(engine: Engine, esc_id: int) -> int:
    with Session(engine) as s:
        rows = s.exec(select(EscalationEvent).where(EscalationEvent.escalation_id == esc_id))
        return len(rows.all())


def _confirm(client: TestClient, token: str) -> str:
    page = client.get(f"/ack/{token}")
    assert page.status_code == 200 and "Acknowledge escalation" in page.text
    match = re.search(r'name="check" value="([0-9a-f]+)"', page.text)
    assert match is not None
    return match.group(1)


def test_scanner_get_and_head_change_nothing_then_post_acknowledges(sqlite_engine: Engine) -> None:
    client, _, esc_id = _setup(sqlite_engine)
    token = _token(esc_id)
    before = _events(sqlite_engine, esc_id)
    assert client.head(f"/ack/{token}").status_code == 200
    check = _confirm(client, token)
    page = client.get(f"/ack/{token}")
    assert "likes ×9 in 1 h" in page.text and "bag lost" in page.text
    assert "\x1b" not in page.text and "\x07" not in page.text
    assert _status(sqlite_engine, esc_id) == "open"
    assert _events(sqlite_engine, esc_id) == before
    # A POST without the page's check value (a forged form) is refused.
    assert client.post(f"/ack/{token}", data={"check": "0" * 64}).status_code == 403
    assert _status(sqlite_engine, esc_id) == "open"
    done = client.post(f"/ack/{token}", data={"check": check})
    assert done.status_code == 200 and "Acknowledged" in done.text
    assert _status(sqlite_engine, esc_id) == "acknowledged"
    assert client.post(f"/ack/{token}", data={"check": check}).status_code == 409
    other = _token(esc_id, notification=2)
    assert "Already handled" in client.get(f"/ack/{other}").text


def test_claims_are_checked_against_the_database(sqlite_engine: Engine) -> None:
    client, _, esc_id = _setup(sqlite_engine)
    # Signed with the real key, but naming a notification that does not exist or another level.
    assert client.get(f"/ack/{_token(esc_id, notification=99)}").status_code == 403
    assert client.get(f"/ack/{_token(esc_id, level=3)}").status_code == 403
    assert client.get(f"/ack/{_token(esc_id + 5)}").status_code == 404


def test_tampered_and_expired_links(sqlite_engine: Engine) -> None:
    client, clock, esc_id = _setup(sqlite_engine)
    good = _token(esc_id)
    forged = _token(esc_id + 1).split(".")[0] + "." + good.split(".")[1]
    assert client.get(f"/ack/{forged}").status_code == 403
    assert client.get(f"/ack/{_token(esc_id, secret='x')}").status_code == 403
    assert client.get("/ack/garbage").status_code == 403
    clock.advance(timedelta(hours=2))
    assert client.get(f"/ack/{good}").status_code == 410
    assert _status(sqlite_engine, esc_id) == "open"


def test_fresh_install_refuses_built_in_keys_and_keeps_its_generated_one(
    sqlite_engine: Engine,
) -> None:
    unset = Settings(secret_key="")  # type: ignore[arg-type]
    client, _, esc_id = _setup(sqlite_engine, unset)
    for builtin in (DEV_SECRET, "", "change-me", "secret"):
        assert client.get(f"/ack/{_token(esc_id, secret=builtin)}").status_code == 403
    key = signing_keys(unset, sqlite_engine)[0]
    assert len(key) >= 40
    # A second process (a restart, another worker) reads the same stored key back.
    assert signing_keys(Settings(secret_key=""), sqlite_engine) == [key]  # type: ignore[arg-type]
    assert client.get(f"/ack/{_token(esc_id, secret=key)}").status_code == 200


def test_rotation_first_key_signs_all_verify(sqlite_engine: Engine) -> None:
    rotated = Settings(secret_key=f"new-key-123,{SECRET}")  # type: ignore[arg-type]
    client, _, esc_id = _setup(sqlite_engine, rotated)
    assert signing_keys(rotated, sqlite_engine)[0] == "new-key-123"
    assert client.get(f"/ack/{_token(esc_id)}").status_code == 200
    assert client.get(f"/ack/{_token(esc_id, secret='new-key-123')}").status_code == 200


def test_security_headers_on_every_response(sqlite_engine: Engine) -> None:
    client, _, esc_id = _setup(sqlite_engine)
    for path in ("/", "/api/escalations", f"/ack/{_token(esc_id)}", "/ack/garbage"):
        headers = client.get(path).headers
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
