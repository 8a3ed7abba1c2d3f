"""`earful web` for real: uvicorn on a local port serves the list and honours an ack link
taken from a delivered notification."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.clock import SimulatedClock
from earful.config.models import AppConfig
from earful.notify.channels.console import FileSender
from earful.notify.outbox import deliver_due
from earful.risk.scoring import Reason
from earful.settings import Settings
from earful.store.escalations import Escalation
from earful.store.models import Mention
from earful.web.app import create_app
from tests.unit.escalation_factories import open_escalation
from tests.unit.web.web_factories import PASSWORD, make_user

pytestmark = pytest.mark.integration
T0 = datetime(2025, 3, 11, 14, 0, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(sqlite_engine: Engine) -> Iterator[tuple[str, Settings, AppConfig]]:
    port = _free_port()
    settings = Settings(secret_key="live-secret", base_url=f"http://127.0.0.1:{port}")  # type: ignore[arg-type]
    config = AppConfig.model_validate(
        {
            "escalation": {
                "channels": {"f": {"kind": "file", "path": "x"}},
                "routes": [{"level": 1, "channel": "f", "to": "lead"}],
            }
        }
    )
    app = create_app(settings, sqlite_engine, config, clock=SimulatedClock(T0))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield settings.base_url, settings, config
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_list_and_acknowledge_from_the_notification(
    sqlite_engine: Engine, served: tuple[str, Settings, AppConfig], tmp_path: Path
) -> None:
    base, settings, config = served
    esc_id = open_escalation(
        sqlite_engine,
        Mention(
            source="reddit", external_id="r1", text="Acme <b>burned</b> my hand", fetched_at=T0
        ),
        brand="Acme",
        risk=66,
        reasons=[Reason("severity", 20, "injury: 'burned'")],
        now=T0,
        config=config,
    )
    sink = FileSender(tmp_path / "n.jsonl")
    deliver_due(
        sqlite_engine, {"f": sink}, clock=SimulatedClock(T0), config=config, settings=settings
    )
    link = json.loads((tmp_path / "n.jsonl").read_text())["ack_url"]
    assert link.startswith(f"{base}/ack/")
    make_user(sqlite_engine, "lea", "lead")
    with httpx.Client(timeout=10) as client:
        assert client.get(f"{base}/escalations").status_code == 303  # no session yet
        login_page = client.get(f"{base}/login")
        token = re.search(r'id="login-csrf" value="([^"]+)"', login_page.text)
        assert token is not None
        answer = client.post(
            f"{base}/login",
            data={"username": "lea", "password": PASSWORD, "csrf": token.group(1)},
        )
        assert answer.status_code == 303
        page = client.get(f"{base}/escalations")
        assert page.status_code == 200 and "&lt;b&gt;burned" in page.text
        # What a mail link scanner does: GET and HEAD the link. Neither acknowledges.
        assert client.head(link).status_code == 200
        confirm = client.get(link)
        assert confirm.status_code == 200 and "Acknowledge escalation" in confirm.text
        assert confirm.headers["x-frame-options"] == "DENY"
        with Session(sqlite_engine) as s:
            seen = s.get(Escalation, esc_id)
            assert seen is not None and seen.status == "open"
        check = re.search(r'name="check" value="([0-9a-f]+)"', confirm.text)
        assert check is not None
        done = client.post(link, data={"check": check.group(1)})
        assert done.status_code == 200 and "Acknowledged" in done.text
        assert client.post(link, data={"check": check.group(1)}).status_code == 409
    with Session(sqlite_engine) as s:
        row = s.get(Escalation, esc_id)
        assert row is not None and row.status == "acknowledged"
