"""Signed, expiring acknowledge links: ``{base_url}/ack/{token}``.

A token is ``payload.signature``, both base64url: the payload is compact JSON
``{"e": escalation id, "l": level, "n": notification id, "x": expiry (unix seconds)}`` and the
signature is HMAC-SHA256 of the payload with the installation's signing key. Nothing secret is
in the URL beyond the signature; the key never leaves the server. Verification is constant-time
and tells apart tampered (bad signature or payload) from expired links; replays are detected by
the web app (the notification id is recorded when a link is used), which also checks every claim
against the database.

The signing key (:func:`signing_keys`) is never a built-in string. ``EARFUL_SECRET_KEY`` wins
when set; it may list several keys separated by commas — the first signs, all verify, so a key
is rotated by prepending the new one. Unset, a random key is generated on first use and kept in
the store's ``install_secret`` table (``INSERT ... ON CONFLICT DO NOTHING``, then read back), so
it survives restarts and every worker and web process of the installation uses the same one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Engine

from earful.errors import ConfigError, EarfulError
from earful.settings import Settings

# Strings that have been published as defaults or examples: never accepted as a signing key.
BUILTIN_SECRETS = frozenset({"", "dev-insecure-change-me", "change-me", "changeme", "secret"})
KEY_NAME = "ack_signing"


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


def _configured_keys(settings: Settings) -> list[str]:
    raw = settings.secret_key.get_secret_value()
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    weak = [k for k in keys if k in BUILTIN_SECRETS]
    if weak:
        raise ConfigError("EARFUL_SECRET_KEY is a published placeholder; set a random secret")
    return keys


def stored_key(engine: Engine) -> str:
    """The installation's generated key: created once (first writer wins), then read back."""
    candidate = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO install_secret (name, value) VALUES (:n, :v) "
                "ON CONFLICT (name) DO NOTHING"
            ),
            {"n": KEY_NAME, "v": candidate},
        )
        value = conn.execute(
            text("SELECT value FROM install_secret WHERE name = :n"), {"n": KEY_NAME}
        ).scalar_one()
    return str(value)


def signing_keys(settings: Settings, engine: Engine) -> list[str]:
    """Keys in order of use: the first signs new links, every one verifies."""
    return _configured_keys(settings) or [stored_key(engine)]


def make_token(secret: str, claim: AckClaim) -> str:
    body = {
        "e": claim.escalation_id,
        "l": claim.level,
        "n": claim.notification_id,
        "x": claim.expires_at,
    }
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    return f"{payload}.{_sign(secret, payload)}"


def verify_token(secret: str | Sequence[str], token: str, *, now: datetime) -> AckClaim:
    """The claim of a genuine, unexpired token; AckLinkError(reason=tampered|expired) else.

    ``secret`` is one key or the rotation list; a built-in placeholder never verifies anything.
    """
    keys = [secret] if isinstance(secret, str) else list(secret)
    keys = [k for k in keys if k not in BUILTIN_SECRETS]
    payload, _, signature = token.partition(".")
    if not payload or not signature:
        raise AckLinkError("malformed link", reason="tampered")
    if not any(hmac.compare_digest(_sign(k, payload), signature) for k in keys):
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
