"""The digest email through a real SMTP server (aiosmtpd on localhost)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from earful.clock import SimulatedClock
from earful.digest.build import build_digest
from earful.digest.charts import render_charts
from earful.digest.mail import build_message, send_message
from earful.digest.schedule import run_due_digests
from earful.settings import Settings
from tests.unit.digest.digest_factories import DAY, NOW, digest_config, seed_month

pytestmark = pytest.mark.integration


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, Settings]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_from="earful@example.org")
    finally:
        controller.stop()


def parse(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_digest_email_is_multipart_with_inline_charts(
    sqlite_engine: Engine, smtp: tuple[Inbox, Settings]
) -> None:
    inbox, settings = smtp
    seed_month(sqlite_engine)
    data = build_digest(sqlite_engine, digest_config(), brand="Acme", now=NOW, day=DAY)
    msg = build_message(
        data,
        render_charts(data),
        sender=settings.smtp_from,
        recipients=["marketing@example.com", "ceo@example.com"],
        subject="Earful digest: Acme — 2026-11-21",
    )
    send_message(msg, settings)

    assert len(inbox.messages) == 1
    rcpts, raw = inbox.messages[0]
    assert rcpts == ["marketing@example.com", "ceo@example.com"]
    received = parse(raw)
    assert received.get_content_type() == "multipart/alternative"
    assert received["Subject"] == "Earful digest: Acme — 2026-11-21"
    text_part = received.get_body(("plain",))
    html_part = received.get_body(("html",))
    assert text_part is not None and html_part is not None
    text = text_part.get_content()
    html = html_part.get_content()
    assert "MENTIONS: 9" in text and "[CHRONIC]" in text
    assert "&lt;script&gt;" in html and "<script>" not in html.split("</head>", 1)[1]

    related = next(p for p in received.walk() if p.get_content_type() == "multipart/related")
    images = [p for p in related.iter_parts() if p.get_content_type() == "image/png"]
    assert len(images) == 4
    cids = {p["Content-ID"].strip("<>") for p in images}
    assert cids == {f"{n}@earful" for n in ("trend", "sentiment", "sources", "share_of_voice")}
    for part in images:
        assert part.get_content().startswith(b"\x89PNG")
    referenced = set(re.findall(r'src="cid:([^"]+)"', html))
    assert referenced == cids
    # No remote resource at all: every image is inline.
    assert not re.search(r'src="https?:', html)


def test_scheduled_digest_reaches_smtp_once(
    sqlite_engine: Engine, smtp: tuple[Inbox, Settings]
) -> None:
    inbox, settings = smtp
    seed_month(sqlite_engine)
    config = digest_config(recipients=["team@example.com"], send_at="07:00")
    clock = SimulatedClock(datetime(2026, 11, 22, 7, 5, tzinfo=UTC))
    run_due_digests(sqlite_engine, config, settings, clock)
    run_due_digests(sqlite_engine, config, settings, clock)  # the scheduler ran twice
    assert len(inbox.messages) == 1
    received = parse(inbox.messages[0][1])
    assert "2026-11-21" in received["Subject"]
    html_part = received.get_body(("html",))
    assert html_part is not None
    assert "/digests/Acme/2026-11-21" in html_part.get_content()  # link to the web page
