"""Generic JSON webhook, signed: ``X-Earful-Signature: sha256=<hex HMAC-SHA256 of the body>``.

Receivers verify with :func:`verify_signature` (constant-time) and de-duplicate on
``X-Earful-Idempotency-Key``, which is what makes this channel safe to re-send after a crash.
"""

from __future__ import annotations

import hashlib
import hmac

import httpx

from earful.notify.channels.base import post_json
from earful.notify.message import Message, render_json

SIGNATURE_HEADER = "X-Earful-Signature"
IDEMPOTENCY_HEADER = "X-Earful-Idempotency-Key"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(sign(secret, body), header or "")


class WebhookSender:
    channel = "webhook"
    idempotent = True

    def __init__(self, url: str, client: httpx.Client, *, secret: str | None) -> None:
        self.url = url
        self.client = client
        self.secret = secret

    def send(self, msg: Message, *, to: str, idempotency_key: str) -> None:
        body = render_json(msg)
        headers = {IDEMPOTENCY_HEADER: idempotency_key, "User-Agent": "Earful-Webhook/1"}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, body)
        post_json(self.client, self.url, channel="webhook", content=body, headers=headers)
