"""The Apprise channel against a real local HTTP server (Apprise's ``json://`` plugin POSTs
to it), through the real outbox: a failing endpoint leaves the row pending for a retry, the
retry delivers exactly once, and the secret URL never reaches a log."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.clock import SimulatedClock
from earful.config.loader import find_config_errors
from earful.config.models import AppConfig
from earful.demo.local_server import LocalServer, send_body
from earful.errors import ConfigError
from earful.notify.outbox import deliver_due, senders_from_config
from earful.settings import Settings
from earful.store.escalations import Notification
from tests.unit.escalation_factories import open_guitar_escalation

pytestmark = pytest.mark.integration
T0 = datetime(2025, 3, 11, 14, 0, tzinfo=UTC)
SECRET_PATH = "/notify/tok-9f8e7d6c5b4a"
VAR = "EARFUL_TEST_APPRISE_URL"


@dataclass
class Endpoint:
    url: str = ""
    status: int = 200
    posts: list[dict[str, Any]] = field(default_factory=list)


class EndpointServer(LocalServer):
    """Records each POST (path, the status it answered, the JSON payload)."""

    def __init__(self, state: Endpoint) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                state.posts.append(
                    {"path": self.path, "status": state.status, "payload": json.loads(body)}
                )
                send_body(self, state.status, b"", "text/plain")

            def log_message(self, *args: Any) -> None:
                pass

        self._serve(Handler)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    state = Endpoint()
    with EndpointServer(state) as server:
        state.url = server.base_url.replace("http://", "json://", 1) + SECRET_PATH
        yield state


def apprise_config() -> AppConfig:
    return AppConfig.model_validate(
        {
            "escalation": {
                "channels": {"pager": {"kind": "apprise", "url_env": VAR}},
                "routes": [{"level": 1, "channel": "pager", "to": "on-call"}],
                "retry_base": "30s",
            }
        }
    )


def test_failure_is_retried_then_delivered_exactly_once(
    sqlite_engine: Engine, endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = apprise_config()
    settings = Settings(secret_key="k" * 32)  # type: ignore[arg-type]
    open_guitar_escalation(sqlite_engine, config, now=T0)
    clock = SimulatedClock(T0)
    with httpx.Client(timeout=5) as client:
        senders = senders_from_config(config, settings, client, env={VAR: endpoint.url})

        endpoint.status = 500
        failed = deliver_due(sqlite_engine, senders, clock=clock, config=config, settings=settings)
        assert failed.retried == 1 and failed.sent == 0 and len(endpoint.posts) == 1
        with Session(sqlite_engine) as s:
            [row] = s.exec(select(Notification)).all()
            assert row.status == "pending" and row.attempts == 1
            assert row.last_error and "apprise_failed" in row.last_error
            assert row.next_attempt_at > T0  # backoff

        endpoint.status = 200
        early = deliver_due(sqlite_engine, senders, clock=clock, config=config, settings=settings)
        assert early.sent == 0 and len(endpoint.posts) == 1  # not due yet

        clock.advance(timedelta(minutes=2))
        done = deliver_due(sqlite_engine, senders, clock=clock, config=config, settings=settings)
        assert done.sent == 1
        clock.advance(timedelta(hours=1))
        again = deliver_due(sqlite_engine, senders, clock=clock, config=config, settings=settings)
        assert again.sent == 0

    delivered = [p for p in endpoint.posts if p["status"] == 200]
    assert len(delivered) == 1 and len(endpoint.posts) == 2
    payload = delivered[0]["payload"]
    assert payload["title"].startswith("[Earful L1] United: risk 62")
    message = payload["message"]
    assert "baggage handlers" in message and "my guitar" in message and "views ×8" in message
    assert "/ack/" in message  # the acknowledge link
    assert delivered[0]["path"] == SECRET_PATH
    with Session(sqlite_engine) as s:
        assert [n.status for n in s.exec(select(Notification))] == ["sent"]
    # The URL is a secret: neither its path nor its port reaches any log record.
    port = endpoint.url.rsplit(":", 1)[1].split("/")[0]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "apprise" in logged.lower()  # Apprise did log (at debug), masked
    assert "tok-9f8e7d6c5b4a" not in logged and f"127.0.0.1:{port}" not in logged


def test_unset_or_unknown_apprise_url_is_a_config_error(tmp_path: Path) -> None:
    config = apprise_config()
    with httpx.Client() as client:
        with pytest.raises(ConfigError, match=f"url_env {VAR} is not set"):
            senders_from_config(config, Settings(), client, env={})
        with pytest.raises(ConfigError, match=r"scheme nosuch://\) is not one Apprise"):
            senders_from_config(config, Settings(), client, env={VAR: "nosuch://x/y"})

    (tmp_path / "brands.yaml").write_text("brands:\n  - name: Acme\n")
    (tmp_path / "sources.yaml").write_text("sources: []\n")
    (tmp_path / "routes.yaml").write_text(
        "escalation:\n"
        "  channels:\n"
        f"    pager: {{kind: apprise, url_env: {VAR}}}\n"
        "  routes:\n"
        "    - {level: 1, channel: pager, to: on-call}\n"
    )
    _, errors = find_config_errors(tmp_path, env={})
    assert [str(e) for e in errors] == [
        f"{tmp_path / 'routes.yaml'}:3: escalation.channels.pager.url_env: "
        f"environment variable {VAR} is not set"
    ]
    assert find_config_errors(tmp_path, env={VAR: "json://127.0.0.1/x"})[1] == []
