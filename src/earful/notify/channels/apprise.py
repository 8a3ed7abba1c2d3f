"""Apprise: one channel kind for the hundred services Apprise speaks (https://appriseit.com).

``{kind: apprise, url_env: NAME}``: the Apprise URL (``tgram://BOT_TOKEN/CHAT``,
``json://host/path``, ``mailtos://user:pass@host``, ...) carries credentials, so it is read
from the environment variable ``NAME`` and never logged: logs and errors name its scheme only,
and the log records of Apprise and of the HTTP stack beneath it (urllib3) have every part of
the URL masked before they are emitted.

Delivery is honest: ``Apprise.notify`` returning a false result (the service refused or could
not be reached) raises :class:`TransientNotificationError`, so the outbox keeps the row
pending and retries with backoff. Apprise services do not honour an idempotency key, so the
channel is not ``idempotent``: a send interrupted by a crash is marked ``unknown``, never sent
twice blindly.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise

from earful.errors import ConfigError, TransientNotificationError
from earful.notify.message import Message, render_text

logger = logging.getLogger(__name__)

MASK = "***"
_ANY_URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*)://(?!\*\*\*)\S+")
# Fragments shorter than this are not masked (they would blank out ordinary words); a secret
# is never that short.
_MIN_SECRET = 4


def scheme_of(url: str) -> str:
    """The part of an Apprise URL that is safe to show: ``tgram``, ``json``, ..."""
    scheme, sep, _ = url.partition("://")
    # Without "://" the whole value may be a token pasted on its own: show nothing of it.
    return scheme.strip().lower() if sep and scheme.strip().isalnum() else "?"


def secret_parts(url: str) -> list[str]:
    """Every piece of ``url`` that may be a credential, longest first (for masking)."""
    parts = urlsplit(url)
    pieces = {url, url.partition("://")[2], parts.netloc, parts.path, parts.query}
    with contextlib.suppress(ValueError):  # a malformed port: the netloc is masked whole
        pieces |= {parts.hostname or "", parts.username or "", parts.password or ""}
    pieces |= {unquote(seg) for seg in parts.path.split("/")} | set(parts.path.split("/"))
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        pieces |= {key, value}
    return sorted((p for p in pieces if len(p) >= _MIN_SECRET), key=len, reverse=True)


class _MaskSecrets(logging.Filter):
    """Rewrites Apprise's log records with every registered URL's parts masked."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._parts: list[str] = []

    def register(self, url: str) -> None:
        with self._lock:
            merged = set(self._parts) | set(secret_parts(url))
            self._parts = sorted(merged, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        for part in self._parts:
            text = text.replace(part, MASK)
        # Apprise also logs shortened forms (``tgram://1...9/``) no registered part matches:
        # whatever follows a scheme is masked too.
        text = _ANY_URL.sub(lambda m: f"{m.group(1)}://{MASK}", text)
        record.msg, record.args = text, None
        return True


_mask = _MaskSecrets()
# A logger's filters see only the records created on it, not its children's: every logger that
# writes Apprise's requests is listed (Apprise's own, and the HTTP stack beneath it).
for _name in ("apprise", "urllib3.connectionpool", "urllib3.util.retry", "requests"):
    logging.getLogger(_name).addFilter(_mask)


class AppriseSender:
    channel = "apprise"
    idempotent = False

    def __init__(self, url: str, *, name: str = "apprise") -> None:
        _mask.register(url)
        self.name = name
        self.scheme = scheme_of(url)
        self._apprise = apprise.Apprise()
        if not self._apprise.add(url):
            raise ConfigError(
                f"channel {name!r}: the Apprise URL (scheme {self.scheme}://) is not one Apprise "
                "understands; see https://appriseit.com/services/",
                field="escalation.channels",
            )
        logger.debug("channel %s: Apprise %s:// ready", name, self.scheme)

    def send(self, msg: Message, *, to: str, idempotency_key: str) -> None:
        text = render_text(msg)
        body = text.removeprefix(msg.subject).lstrip("\n") or text
        kind = apprise.NotifyType.FAILURE if msg.level >= 2 else apprise.NotifyType.WARNING
        result = self._apprise.notify(
            body=body, title=msg.subject, notify_type=kind, body_format=apprise.NotifyFormat.TEXT
        )
        # Apprise 1.x answers True/False/None; 2.x an AppriseResult whose bool() is the same.
        if not result:
            status = getattr(getattr(result, "status", None), "name", "failed")
            raise TransientNotificationError(
                f"Apprise {self.scheme}:// delivery {str(status).lower()}: the service refused "
                "or could not be reached (see the apprise log)",
                channel="apprise",
                reason="apprise_failed",
            )
