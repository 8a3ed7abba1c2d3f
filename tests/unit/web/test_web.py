"""earful web: the open list escapes mention text; ack links expire, resist tampering and
replays."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.clock import SimulatedClock
from earful.config.models import AppConfig
from earful.escalation.links import AckClaim, make_token
from earful.risk.scoring import Reason
from earful.settings import Settings
from earful.store.db import make_engine
from earful.store.models import Mention
from earful.web.app import create_app
from tests.unit.escalation_factories import open_escalation
from tests.unit.web.web_factories import login, make_client, make_user

with warnings.catch_warnings():
    # Starlette deprecates its httpx-based TestClient in favour of httpx2 (not installed).
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

T0 = datetime(2025, 3, 11, 14, 0, tzinfo=UTC)
SECRET = "web-test-secret"


def _setup(engine: Engine) -> tuple[TestClient, SimulatedClock, int]:
    config = AppConfig()
    esc_id = open_escalation(
        engine,
        Mention(
            source="mastodon",
            external_id="1",
            text="<script>alert(1)</script> broke",
            fetched_at=T0,
        ),
        brand="Acme",
        risk=60,
        reasons=[Reason("velocity", 60, "likes ×9 in 1 h")],
        now=T0,
        config=config,
    )
    clock = SimulatedClock(T0 + timedelta(minutes=5))
    make_user(engine, "lea", "lead")
    return login(make_client(engine, config, clock=clock), "lea"), clock, esc_id


def _token(esc_id: int, *, expires: datetime, secret: str = SECRET, notification: int = 1) -> str:
    return make_token(secret, AckClaim(esc_id, 1, notification, int(expires.timestamp())))


def test_list_escapes_mention_text(sqlite_engine: Engine) -> None:
    client, _, _ = _setup(sqlite_engine)
    assert client.get("/").headers["location"] == "/escalations"
    page = client.get("/escalations")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    assert "likes ×9 in 1 h" in page.text
    assert client.get("/api/escalations").json()[0]["brand"] == "Acme"


def test_health_and_digest_pages_are_served(sqlite_engine: Engine) -> None:
    from earful.config.models import BrandConfig

    config = AppConfig(brands=[BrandConfig(name="Acme")])
    with Session(sqlite_engine) as s, s.begin():
        s.add(
            Mention(source="rss", external_id="d1", text="<b>Acme</b> lost my bag", fetched_at=T0)
        )
    make_user(sqlite_engine, "ana", "analyst")
    client = login(make_client(sqlite_engine, config), "ana")
    assert client.get("/healthz").json() == {"status": "ok"}
    archive = client.get("/digests")
    assert archive.status_code == 200 and "Acme" in archive.text
    page = client.get("/digests/Acme/2025-03-11")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    data = client.get("/digests/Acme/2025-03-11", params={"format": "json"}).json()
    assert data["brand"] == "Acme" and data["date"] == "2025-03-11"


def test_security_headers_on_every_response(sqlite_engine: Engine, tmp_path: Path) -> None:
    client, _, esc_id = _setup(sqlite_engine)
    token = _token(esc_id, expires=T0 + timedelta(days=1))
    responses = [
        client.get("/"),
        client.get("/api/escalations"),
        client.get("/healthz"),
        client.get(f"/ack/{token}"),
        client.head(f"/ack/{token}"),
        client.get("/ack/forged"),  # 403
        client.post("/ack/forged"),
        client.get("/no-such-page"),  # 404
        client.post("/healthz"),  # 405
    ]
    # An unhandled error (the database is gone) is answered outside every middleware.
    broken = make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    app = create_app(Settings(secret_key=SECRET), broken, AppConfig())  # type: ignore[arg-type]
    failing = TestClient(app, raise_server_exceptions=False).get("/healthz")
    assert failing.status_code == 500 and "Traceback" not in failing.text
    responses.append(failing)
    assert {r.status_code for r in responses} >= {200, 403, 404, 405, 500}
    for response in responses:
        where = f"{response.request.method} {response.request.url.path} {response.status_code}"
        assert response.headers.get("x-frame-options") == "DENY", where
        assert response.headers.get("x-content-type-options") == "nosniff", where
        assert response.headers.get("referrer-policy") == "no-referrer", where
        csp = response.headers.get("content-security-policy", "")
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, where
