"""Generic JSON webhook, signed per the Standard Webhooks spec (https://www.standardwebhooks.com).

Every request carries ``webhook-id`` (the notification's idempotency key: the same on a re-send,
so receivers de-duplicate on it), ``webhook-timestamp`` (unix seconds) and
``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``. The secret, from the
channel's ``secret_env``, is a ``whsec_<base64>`` string as the spec's libraries generate; a
receiver verifies with the ``standardwebhooks`` package (``Webhook(secret).verify(body,
headers)``), which refuses a timestamp more than :data:`TOLERANCE_S` (5 minutes) away from its
clock — so a captured request cannot be replayed later. ``X-Earful-Idempotency-Key`` repeats
the id for receivers written against earlier versions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

import httpx

from earful.errors import ConfigError
from earful.notify.channels.base import post_json
from earful.notify.message import Message, render_json

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
IDEMPOTENCY_HEADER = "X-Earful-Idempotency-Key"
TOLERANCE_S = 300  # the spec's libraries' window; a receiver refuses requests older than this
_PREFIX = "whsec_"


def secret_bytes(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (decoded exactly as the spec's libraries do)."""
    raw = secret[len(_PREFIX) :] if secret.startswith(_PREFIX) else secret
    try:
        key = base64.b64decode(raw + "==")
    except (binascii.Error, ValueError) as exc:
        raise ConfigError("webhook secret is not whsec_<base64>") from exc
    if not key:
        raise ConfigError("webhook secret is empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one request."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(
    secret: str, body: bytes, headers: Mapping[str, str], *, now: float | None = None
) -> bool:
    """Receiver side (for tests and Python receivers without the package): a genuine, fresh
    request. Constant-time; accepts any of several space-separated signatures (key rotation)."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp = lower.get(ID_HEADER, ""), lower.get(TIMESTAMP_HEADER, "")
    if not msg_id or not stamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > TOLERANCE_S:
        return False
    expected = sign(secret, msg_id, int(stamp), body)
    offered = lower.get(SIGNATURE_HEADER, "").split()
    return any(hmac.compare_digest(expected, sig) for sig in offered)


class WebhookSender:
    channel = "webhook"
    idempotent = True

    def __init__(
        self,
        url: str,
        client: httpx.Client,
        *,
        secret: str | None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if secret is not None:
            secret_bytes(secret)  # a malformed secret is a config error now, not at delivery
        self.url = url
        self.client = client
        self.secret = secret
        self._wall = wall

    def send(self, msg: Message, *, to: str, idempotency_key: str) -> None:
        body = render_json(msg)
        headers = {IDEMPOTENCY_HEADER: idempotency_key, "User-Agent": "Earful-Webhook/1"}
        if self.secret:
            stamp = int(self._wall())
            headers[ID_HEADER] = idempotency_key
            headers[TIMESTAMP_HEADER] = str(stamp)
            headers[SIGNATURE_HEADER] = sign(self.secret, idempotency_key, stamp, body)
        post_json(self.client, self.url, channel="webhook", content=body, headers=headers)
