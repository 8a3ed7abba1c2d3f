"""Mention text stays text on terminals: no escape sequence or BEL from a post is printed by
``earful mentions`` or the console channel."""

from __future__ import annotations

import io
import subprocess
from datetime import UTC, datetime

from sqlmodel import Session

from earful.clock import SimulatedClock
from earful.config.models import AppConfig, BrandConfig
from earful.mention import RawMention
from earful.notify.channels.console import ConsoleSender
from earful.notify.message import Message
from earful.pipeline import build_context, process_batch
from earful.store.db import init_db, make_engine
from earful.text import terminal_safe
from tests.conftest import run_earful

HOSTILE = (
    "\x1b[2J\x1b]0;owned title\x07\x1b]8;;https://evil.example/\x1b\\Acme refund\x1b]8;;\x1b\\"
    "\x9b31m red\x07 bell\x00 nul\ttab\nline two"
)


def test_terminal_safe_strips_sequences_and_controls_keeps_text() -> None:
    clean = terminal_safe(HOSTILE)
    assert not any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in clean)
    assert "Acme refund" in clean and "red" in clean and "tab\nline two" in clean
    assert "evil.example" not in clean and "owned title" not in clean
    assert terminal_safe("café — naïve 日本") == "café — naïve 日本"


def test_console_channel_prints_no_control_bytes() -> None:
    out = io.StringIO()
    msg = Message(
        escalation_id=1,
        level=1,
        level_name="team",
        brand="Acme",
        risk=70,
        reasons=[{"factor": "velocity", "points": 70, "detail": HOSTILE}],
        title=HOSTILE,
        text=HOSTILE,
    )
    ConsoleSender(out).send(msg, to="ops", idempotency_key="k1")
    printed = out.getvalue()
    assert "\x1b" not in printed and "\x07" not in printed and "\x9b" not in printed
    assert "Acme refund" in printed


def test_mentions_table_prints_no_control_bytes(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = make_engine(url)
    init_db(engine)
    now = datetime.now(UTC)
    config = AppConfig(brands=[BrandConfig(name="Acme", queries=['"acme"'])])
    raw = RawMention("rss", "1", "https://a.example/1", HOSTILE, title=HOSTILE, published_at=now)
    with Session(engine) as s, s.begin():
        process_batch(s, [raw], build_context(config, SimulatedClock(now)), source_name="rss")
    engine.dispose()
    done: subprocess.CompletedProcess[str] = run_earful(
        "--db", url, "mentions", env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"}
    )
    assert done.returncode == 0, done.stderr
    assert "Acme refund" in done.stdout
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
