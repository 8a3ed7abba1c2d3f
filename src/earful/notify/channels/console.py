"""Local channels: the console (stdout) and a JSON Lines file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from earful.errors import TransientNotificationError
from earful.notify.message import Message, render_text
from earful.text import terminal_safe


class ConsoleSender:
    channel = "console"
    idempotent = False

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, msg: Message, *, to: str, idempotency_key: str) -> None:
        stream = self.stream or sys.stdout
        # Mention text is untrusted: no escape sequence or BEL of a post reaches the terminal.
        stream.write(terminal_safe(f"--- notification for {to} ({idempotency_key}) ---") + "\n")
        stream.write(terminal_safe(render_text(msg)) + "\n")
        stream.flush()


class FileSender:
    """Appends one JSON object per notification; a reader can drop repeats by ``key``."""

    channel = "file"
    idempotent = True  # every line carries the idempotency key: readers de-duplicate on it

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, msg: Message, *, to: str, idempotency_key: str) -> None:
        line = json.dumps({"key": idempotency_key, "to": to, **msg.to_json()}, ensure_ascii=False)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError as exc:
            raise TransientNotificationError(str(exc), channel="file", reason="io") from exc
