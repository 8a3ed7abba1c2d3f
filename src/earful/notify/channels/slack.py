"""Slack incoming webhook."""

from __future__ import annotations

import json

import httpx

from earful.notify.channels.base import post_json
from earful.notify.message import Message, render_slack


class SlackSender:
    channel = "slack"
    idempotent = False

    def __init__(self, url: str, client: httpx.Client) -> None:
        self.url = url
        self.client = client

    def send(self, msg: Message, *, to: str, idempotency_key: str) -> None:
        body = json.dumps(render_slack(msg), ensure_ascii=False).encode()
        post_json(self.client, self.url, channel="slack", content=body)
