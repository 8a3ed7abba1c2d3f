"""Signed, expiring acknowledge links: ``{base_url}/ack/{token}``.

A token is ``payload.signature``, both base64url: the payload is compact JSON
``{"e": escalation id, "l": level, "n": notification id, "x": expiry (unix seconds)}`` and the
signature is HMAC-SHA256 of the payload with ``settings.secret_key``. Nothing secret is in the
URL beyond the signature; the key never leaves the server. Verification is constant-time and
tells apart tampered (bad signature or payload) from expired links; replays are detected by the
web app (the notification id is recorded when a link is used).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from earful.errors import EarfulError


class AckLinkError(EarfulError):
    """An acknowledge link that cannot be honoured; ``reason`` is tampered or expired."""

    reason = "ack_link"


@dataclass(frozen=True, slots=True)
class AckClaim:
    escalation_id: int
    level: int
    notification_id: int
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode("ascii"), hashlib.sha256).digest())


def make_token(secret: str, claim: AckClaim) -> str:
    body = {
        "e": claim.escalation_id,
        "l": claim.level,
        "n": claim.notification_id,
        "x": claim.expires_at,
    }
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    return f"{payload}.{_sign(secret, payload)}"


def verify_token(secret: str, token: str, *, now: datetime) -> AckClaim:
    """The claim of a genuine, unexpired token; AckLinkError(reason=tampered|expired) else."""
    payload, _, signature = token.partition(".")
    if not payload or not signature:
        raise AckLinkError("malformed link", reason="tampered")
    if not hmac.compare_digest(_sign(secret, payload), signature):
        raise AckLinkError("bad signature", reason="tampered")
    try:
        body = json.loads(_unb64(payload))
        claim = AckClaim(int(body["e"]), int(body["l"]), int(body["n"]), int(body["x"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise AckLinkError("malformed link", reason="tampered") from exc
    if now.timestamp() >= claim.expires_at:
        raise AckLinkError("link expired", reason="expired")
    return claim


def ack_url(base_url: str, secret: str, claim: AckClaim) -> str:
    return f"{base_url.rstrip('/')}/ack/{make_token(secret, claim)}"
