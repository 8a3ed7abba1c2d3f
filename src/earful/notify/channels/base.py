"""The sender contract shared by every channel, and HTTP error mapping for webhook channels."""

from __future__ import annotations

from typing import Protocol

import httpx

from earful.errors import NotificationError, TransientNotificationError
from earful.notify.message import Message


class Sender(Protocol):
    """Delivers one message to one recipient; raises TransientNotificationError (retry) or
    NotificationError (give up). ``idempotent``: the receiving end drops a second delivery with
    the same ``idempotency_key``, so re-sending after a crash is safe."""

    channel: str
    idempotent: bool

    def send(self, msg: Message, *, to: str, idempotency_key: str) -> None: ...


def post_json(
    client: httpx.Client,
    url: str,
    *,
    channel: str,
    content: bytes,
    headers: dict[str, str] | None = None,
) -> None:
    """POST ``content`` as JSON; maps timeouts, 429 and 5xx to transient errors."""
    try:
        response = client.post(
            url, content=content, headers={"Content-Type": "application/json", **(headers or {})}
        )
    except httpx.TimeoutException as exc:
        raise TransientNotificationError("timeout", channel=channel, reason="timeout") from exc
    except httpx.TransportError as exc:
        raise TransientNotificationError(str(exc), channel=channel, reason="connect") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise TransientNotificationError(
            f"HTTP {response.status_code}", channel=channel, reason=f"http_{response.status_code}"
        )
    if response.status_code >= 400:
        raise NotificationError(
            f"HTTP {response.status_code}: {response.text[:200]}",
            channel=channel,
            reason=f"http_{response.status_code}",
        )
