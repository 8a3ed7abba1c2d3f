"""Notifications say why, and never let mention text become markup."""

from __future__ import annotations

import json

from earful.notify.channels.email import build_email
from earful.notify.channels.webhook import sign, verify
from earful.notify.message import Message, render_html, render_slack, render_teams, render_text

HOSTILE = 'United broke it <script>alert("x")</script> & **bold** <@channel>'


def _msg() -> Message:
    text = HOSTILE
    start = text.index("broke")
    return Message(
        escalation_id=7,
        level=1,
        level_name="service lead",
        brand="United",
        risk=61.5,
        reasons=[
            {"factor": "velocity", "contribution": 25.0, "detail": "views ×8 in 2 h"},
            {"factor": "reach", "contribution": 9.0, "detail": "author 120k followers"},
            {"factor": "severity", "contribution": 10.0, "detail": "defect: 'broke'"},
        ],
        source="youtube",
        author="<img src=x onerror=alert(1)>",
        author_followers=120_000,
        url="javascript:alert(1)",
        text=text,
        marks=[(start, start + 5)],
        sentiment=-0.62,
        sentiment_label="negative",
        curve=[
            {"at": "2009-07-06T19:00:00Z", "views": 600},
            {"at": "2009-07-06T21:00:00Z", "views": 4800},
        ],
        ack_url="https://earful.example/ack/abc.def",
    )


def test_text_says_why_with_terms_marked() -> None:
    text = render_text(_msg())
    assert "Why: views ×8 in 2 h; defect: 'broke'; author 120k followers" in text
    assert "«broke»" in text and "Acknowledge: https://earful.example/ack/abc.def" in text
    assert "120k followers" in text and "4.8k views" in text


def test_html_escapes_everything_but_its_own_marks() -> None:
    page = render_html(_msg())
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<img" not in page
    assert "<mark>broke</mark>" in page
    assert 'href="javascript' not in page  # a hostile URL is not a link
    assert 'href="https://earful.example/ack/abc.def"' in page


def test_slack_and_teams_escape_their_markup() -> None:
    slack = render_slack(_msg())["text"]
    assert "<script>" not in slack and "&lt;@channel&gt;" in slack and "*broke*" in slack
    assert "<https://earful.example/ack/abc.def|Acknowledge>" in slack
    assert "javascript" not in slack
    teams = json.dumps(render_teams(_msg()))
    assert "<script>" not in teams and "\\\\*\\\\*bold" in teams


def test_email_has_text_and_html_parts_and_a_stable_message_id() -> None:
    mail = build_email(_msg(), sender="earful@x", to="lead@x", idempotency_key="earful-n1-e7-l1")
    assert mail["Message-ID"] == "<earful-n1-e7-l1@earful>"
    kinds = [part.get_content_type() for part in mail.iter_parts()]
    assert kinds == ["text/plain", "text/html"]


def test_webhook_signature_matches_the_standard_webhooks_library() -> None:
    from datetime import UTC, datetime

    from standardwebhooks import Webhook

    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"a": 1}'
    stamp = 1_700_000_000
    header = sign(secret, "msg_1", stamp, body)
    expected = Webhook(secret).sign("msg_1", datetime.fromtimestamp(stamp, UTC), body.decode())
    assert header == expected
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(stamp), "webhook-signature": header}
    assert verify(secret, body, headers, now=stamp + 10)
    assert not verify(secret, body + b" ", headers, now=stamp + 10)
    assert not verify(secret, body, headers, now=stamp + 301)  # outside the tolerance


def test_slack_link_keeps_a_pipe_in_the_post_url_inside_the_url() -> None:
    msg = _msg()
    msg.url = "https://example.com/a|Your account is locked"
    slack = render_slack(msg)["text"]
    assert "<https://example.com/a%7CYour account is locked|Open the post>" in slack
