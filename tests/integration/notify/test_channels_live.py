"""Real servers: an aiosmtpd SMTP server receives the mail; a local HTTP server receives the
webhook, verifies its signature and drops repeats by idempotency key."""

from __future__ import annotations

import base64
import email
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message as EmailMsg
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.clock import SimulatedClock
from earful.config.models import AppConfig
from earful.errors import ConfigError, NotificationError
from earful.notify.channels.webhook import ID_HEADER, WebhookSender
from earful.notify.message import Message
from earful.notify.outbox import deliver_due, senders_from_config
from earful.settings import Settings
from earful.store.escalations import Notification
from tests.conftest import need
from tests.unit.escalation_factories import GUITAR, open_guitar_escalation

# The receiver verifies with the reference implementation (a dev dependency): an environment
# installed before it was added skips here with what to do, and fails under CI.
try:
    from standardwebhooks import Webhook
    from standardwebhooks.exceptions import WebhookVerificationError
except ImportError:
    need(False, "standardwebhooks is not installed: run make test (or pip install -e '.[dev]')")

pytestmark = pytest.mark.integration
T0 = datetime(2025, 3, 11, 14, 0, tzinfo=UTC)
SECRET = "whsec_" + base64.b64encode(b"hook-secret-of-32-bytes-........").decode()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMsg] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd's readiness check needs a real one)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class Receiver:
    """What a well-behaved webhook consumer does: verify, then de-duplicate on the key."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.processed: dict[str, dict[str, Any]] = {}


@pytest.fixture
def hook_server() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:  # the receiver uses the Standard Webhooks reference library, not Earful's code
                Webhook(SECRET).verify(body, dict(self.headers.items()))
                ok = True
            except WebhookVerificationError:
                ok = False
            key = self.headers.get(ID_HEADER) or ""
            receiver.requests.append({"ok": ok, "key": key})
            if ok and key not in receiver.processed:
                receiver.processed[key] = json.loads(body)
            self.send_response(200 if ok else 401)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def test_email_and_signed_webhook_arrive(
    sqlite_engine: Engine, smtp: tuple[Inbox, int], hook_server: tuple[Receiver, str]
) -> None:
    inbox, port = smtp
    receiver, url = hook_server
    config = AppConfig.model_validate(
        {
            "escalation": {
                "channels": {
                    "mail": {"kind": "email"},
                    "hook": {"kind": "webhook", "url_env": "HOOK_URL", "secret_env": "HOOK_SECRET"},
                },
                "routes": [
                    {"level": 1, "channel": "mail", "to": "lead@united.test"},
                    {"level": 1, "channel": "hook", "to": "ops"},
                ],
            }
        }
    )
    settings = Settings(smtp_host="127.0.0.1", smtp_port=port, secret_key="k" * 32)  # type: ignore[arg-type]
    open_guitar_escalation(sqlite_engine, config, now=T0, text=f"{GUITAR} <3")
    with httpx.Client(timeout=5) as client:
        senders = senders_from_config(
            config, settings, client, env={"HOOK_URL": url, "HOOK_SECRET": SECRET}
        )
        clock = SimulatedClock(T0)
        calls = {"n": 0}

        def crash_once(row: Notification) -> None:
            if row.channel == "hook" and calls["n"] == 0:
                calls["n"] += 1
                raise RuntimeError("killed between send and commit")

        with pytest.raises(RuntimeError):
            deliver_due(
                sqlite_engine,
                {"hook": senders["hook"]},
                clock=clock,
                config=config,
                settings=settings,
                after_send=crash_once,
            )
        clock.advance(timedelta(minutes=10))
        report = deliver_due(sqlite_engine, senders, clock=clock, config=config, settings=settings)
    assert report.sent == 2 and report.resent_after_crash == 1
    # The mail: text and HTML, the reasons, the escaped text, the acknowledge link.
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["To"] == "lead@united.test" and "United" in mail["Subject"]
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in mail.walk()
        if not p.is_multipart()
    }
    assert "views ×8 in 2 h" in parts["text/plain"] and "/ack/" in parts["text/plain"]
    assert "<mark>broke</mark>" in parts["text/html"] and "&lt;3" in parts["text/html"]
    # The webhook: signed, sent twice because of the crash, processed once.
    assert all(r["ok"] for r in receiver.requests) and len(receiver.requests) == 2
    assert len(receiver.processed) == 1
    payload = next(iter(receiver.processed.values()))
    assert payload["brand"] == "United" and payload["matched_terms"] == ["United", "broke"]
    with Session(sqlite_engine) as s:
        assert {n.status for n in s.exec(select(Notification))} == {"sent"}


def test_webhook_with_wrong_secret_is_refused(
    sqlite_engine: Engine, hook_server: tuple[Receiver, str]
) -> None:
    receiver, url = hook_server
    config = AppConfig.model_validate(
        {
            "escalation": {
                "channels": {"hook": {"kind": "webhook", "url": url, "secret_env": "S"}},
                "routes": [{"level": 1, "channel": "hook", "to": "ops"}],
            }
        }
    )
    open_guitar_escalation(sqlite_engine, config, now=T0, text=f"{GUITAR} <3")
    with httpx.Client(timeout=5) as client:
        senders = senders_from_config(
            config,
            Settings(),
            client,
            env={"S": "whsec_" + base64.b64encode(b"another-secret").decode()},
        )
        report = deliver_due(
            sqlite_engine, senders, clock=SimulatedClock(T0), config=config, settings=Settings()
        )
    assert report.dead == 1 and receiver.requests == [
        {"ok": False, "key": receiver.requests[0]["key"]}
    ]


def _hook_msg() -> Message:
    return Message(escalation_id=1, level=1, level_name="team", brand="United", risk=62, reasons=[])


def test_webhook_replay_outside_the_tolerance_is_refused(hook_server: tuple[Receiver, str]) -> None:
    receiver, url = hook_server
    with httpx.Client(timeout=5) as client:
        WebhookSender(url, client, secret=SECRET).send(_hook_msg(), to="ops", idempotency_key="a")
        # Signed 10 minutes ago: exactly what a captured request replayed now looks like.
        stale = WebhookSender(url, client, secret=SECRET, wall=lambda: time.time() - 600)
        with pytest.raises(NotificationError):
            stale.send(_hook_msg(), to="ops", idempotency_key="b")
    assert [r["ok"] for r in receiver.requests] == [True, False]
    assert list(receiver.processed) == ["a"]


def test_unset_webhook_secret_or_url_variable_is_a_config_error() -> None:
    config = AppConfig.model_validate(
        {
            "escalation": {
                "channels": {"hook": {"kind": "webhook", "url": "http://x", "secret_env": "NOPE"}},
                "routes": [{"level": 1, "channel": "hook", "to": "ops"}],
            }
        }
    )
    with httpx.Client() as client, pytest.raises(ConfigError, match="NOPE is not set"):
        senders_from_config(config, Settings(), client, env={})
