"""What a notification says, and how each channel renders it.

Contract: :func:`build_message` reads one escalation (brand, level, reasons), its mention
(source, author, reach, text, sentiment, link) and the engagement curve so far into a
:class:`Message`; renderers only format it. Mention text is hostile: the HTML rendering goes
through Jinja with autoescape (matched terms wrapped in ``<mark>`` *after* escaping each
segment), Slack's mrkdwn gets ``& < >`` escaped, Teams' text its Markdown specials.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup
from sqlmodel import Session, col, select

from earful.clock import isoformat_z
from earful.config.models import AppConfig
from earful.escalation.lifecycle import load_reasons, why_text
from earful.escalation.links import AckClaim, ack_url
from earful.risk.scoring import human_count, severity_spans
from earful.store.escalations import Escalation, Notification
from earful.store.models import EngagementSnapshot, Mention

logger = logging.getLogger(__name__)

MAX_TEXT = 1200


@dataclass(slots=True)
class Message:
    escalation_id: int
    level: int
    level_name: str
    brand: str
    risk: float
    reasons: list[dict[str, Any]]
    source: str | None = None
    author: str | None = None
    author_followers: int | None = None
    url: str | None = None
    title: str | None = None
    text: str = ""
    marks: list[tuple[int, int]] = field(default_factory=list)
    sentiment: float | None = None
    sentiment_label: str | None = None
    curve: list[dict[str, Any]] = field(default_factory=list)
    ack_url: str | None = None
    opened_at: str | None = None
    posts: int = 1
    sources: int = 1
    update: str | None = None  # an update of an open escalation: what changed

    @property
    def subject(self) -> str:
        kind = " update" if self.update else ""
        return (
            f"[Earful L{self.level}{kind}] {self.brand}: risk {self.risk:.0f} "
            f"on {self.source or 'web'}"
        )

    @property
    def story(self) -> str:
        return (
            f"{self.posts} post{'s' * (self.posts != 1)} on "
            f"{self.sources} source{'s' * (self.sources != 1)}"
        )

    def why(self, n: int = 3) -> str:
        return why_text(self.reasons, n)

    def segments(self) -> list[tuple[str, bool]]:
        """The text cut into (piece, is_marked) so each renderer escapes and marks its way."""
        out: list[tuple[str, bool]] = []
        pos = 0
        for start, end in self.marks:
            if start < pos:
                continue
            out.append((self.text[pos:start], False))
            out.append((self.text[start:end], True))
            pos = end
        out.append((self.text[pos:], False))
        return [(s, m) for s, m in out if s]

    def to_json(self) -> dict[str, Any]:
        return {
            "escalation_id": self.escalation_id,
            "level": self.level,
            "level_name": self.level_name,
            "brand": self.brand,
            "risk": self.risk,
            "why": self.why(),
            "reasons": self.reasons,
            "source": self.source,
            "author": self.author,
            "author_followers": self.author_followers,
            "url": self.url,
            "title": self.title,
            "text": self.text,
            "matched_terms": [self.text[a:b] for a, b in self.marks],
            "sentiment": self.sentiment,
            "sentiment_label": self.sentiment_label,
            "engagement": self.curve,
            "ack_url": self.ack_url,
            "opened_at": self.opened_at,
            "posts": self.posts,
            "sources": self.sources,
            "update": self.update,
        }


def _marks(text: str, names: list[str], config: AppConfig) -> list[tuple[int, int]]:
    spans = list(severity_spans(text, config.risk))
    lowered = text.lower()
    for name in names:
        n = name.lower()
        start = lowered.find(n)
        while n and start >= 0:
            spans.append((start, start + len(n)))
            start = lowered.find(n, start + len(n))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def build_message(
    session: Session,
    esc: Escalation,
    level: int,
    *,
    config: AppConfig,
    base_url: str,
    secret: str,
    notification: Notification | None = None,
    now: datetime,
) -> Message:
    assert esc.id is not None
    lvl = config.escalation.levels.get(level)
    msg = Message(
        escalation_id=esc.id,
        level=level,
        level_name=lvl.name if lvl else f"level {level}",
        brand=esc.brand,
        risk=esc.risk,
        reasons=load_reasons(esc),
        source=esc.source,
        opened_at=isoformat_z(esc.opened_at),
        posts=esc.posts,
        sources=esc.sources,
    )
    if notification is not None:
        # The moment the row was enqueued for, not whatever the escalation says by delivery.
        if notification.risk is not None:
            msg.risk = notification.risk
        if notification.round:
            msg.update = notification.detail or "the story grew"
    mention = session.get(Mention, esc.mention_id) if esc.mention_id else None
    if mention is not None:
        text = mention.text[:MAX_TEXT]
        msg.author = mention.author
        msg.author_followers = mention.author_followers
        msg.url = mention.url
        msg.title = mention.title
        msg.text = text
        msg.marks = _marks(text, config.brand_names(esc.brand), config)
        msg.sentiment = mention.sentiment_compound
        msg.sentiment_label = mention.sentiment_label
        snaps = session.exec(
            select(EngagementSnapshot)
            .where(EngagementSnapshot.mention_id == mention.id)
            .order_by(col(EngagementSnapshot.at))
        ).all()
        msg.curve = [
            {
                "at": isoformat_z(s.at),
                "views": s.views,
                "likes": s.likes,
                "shares": s.shares,
                "comments": s.comments,
            }
            for s in snaps[-12:]
        ]
    if notification is not None and notification.id is not None:
        ttl: timedelta = config.escalation.ack_link_ttl
        claim = AckClaim(esc.id, level, notification.id, int((now + ttl).timestamp()))
        msg.ack_url = ack_url(base_url, secret, claim)
    return msg


# -- renderers ---------------------------------------------------------------------------------


def curve_line(msg: Message) -> str:
    parts = []
    for point in msg.curve[-6:]:
        value = point.get("views") or point.get("likes") or 0
        metric = "views" if point.get("views") else "likes"
        parts.append(f"{point['at'][5:16].replace('T', ' ')} {human_count(value)} {metric}")
    return " → ".join(parts)


def render_text(msg: Message) -> str:
    marked = "".join(f"«{s}»" if m else s for s, m in msg.segments())
    reach = f" ({human_count(msg.author_followers)} followers)" if msg.author_followers else ""
    lines = [
        msg.subject,
        *([f"Update: {msg.update}"] if msg.update else []),
        f"Why: {msg.why()}",
        f"Level {msg.level} ({msg.level_name}); opened {msg.opened_at}; {msg.story}",
        f"Source: {msg.source} — author {msg.author or 'unknown'}{reach}",
        f"Sentiment: {msg.sentiment:+.2f} ({msg.sentiment_label})"
        if msg.sentiment is not None
        else "Sentiment: unknown",
        f"Engagement: {curve_line(msg) or 'no snapshots yet'}",
        "",
        f"{msg.title}\n{marked}" if msg.title else marked,
        "",
        f"Post: {msg.url or '-'}",
        "Risk factors:",
        *[
            f"  {r.get('factor')}: +{r.get('contribution')} — {r.get('detail')}"
            for r in msg.reasons
        ],
    ]
    if msg.ack_url:
        lines += ["", f"Acknowledge: {msg.ack_url}"]
    return "\n".join(lines)


_HTML = """<!doctype html>
<html><body style="font-family:sans-serif">
<h2>{{ msg.subject }}</h2>
{% if msg.update %}<p><strong>Update:</strong> {{ msg.update }}</p>{% endif %}
<p><strong>Why:</strong> {{ msg.why() }}</p>
<p>Level {{ msg.level }} ({{ msg.level_name }}) · source {{ msg.source }} · author
{{ msg.author or "unknown" }}{% if msg.author_followers %} ({{ reach }} followers){% endif %}
{% if msg.sentiment is not none %} · sentiment {{ "%+.2f"|format(msg.sentiment) }}{% endif %}</p>
{% if msg.title %}<h3>{{ msg.title }}</h3>{% endif %}
<blockquote>{{ body }}</blockquote>
<p>Engagement: {{ curve or "no snapshots yet" }}</p>
<table border="1" cellpadding="4"><tr><th>factor</th><th>points</th><th>detail</th></tr>
{% for r in msg.reasons %}<tr><td>{{ r.factor }}</td><td>{{ r.contribution }}</td>
<td>{{ r.detail }}</td></tr>{% endfor %}</table>
{% if msg.url %}<p><a href="{{ msg.url }}">Open the post</a></p>{% endif %}
{% if msg.ack_url %}<p><a href="{{ msg.ack_url }}"><strong>Acknowledge</strong></a></p>{% endif %}
</body></html>
"""
_env = Environment(autoescape=True, undefined=StrictUndefined)
_html_template = _env.from_string(_HTML)


def _safe_href(url: str | None) -> str | None:
    """Only http(s) links are rendered: a ``javascript:`` URL in a mention stays text."""
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None


def render_html(msg: Message) -> str:
    body = Markup("").join(
        Markup("<mark>{}</mark>").format(s) if m else Markup.escape(s) for s, m in msg.segments()
    )
    view = replace(msg, url=_safe_href(msg.url))
    return _html_template.render(
        msg=view,
        body=body,
        curve=curve_line(msg),
        reach=human_count(msg.author_followers or 0),
    )


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_slack(msg: Message) -> dict[str, Any]:
    marked = "".join(f"*{_slack_escape(s)}*" if m else _slack_escape(s) for s, m in msg.segments())
    reach = f" ({human_count(msg.author_followers)} followers)" if msg.author_followers else ""
    lines = [
        f"*{_slack_escape(msg.subject)}*",
        *([f"*Update:* {_slack_escape(msg.update)}"] if msg.update else []),
        f"*Why:* {_slack_escape(msg.why())}",
        f"{_slack_escape(msg.source or '')} · {_slack_escape(msg.author or 'unknown')}{reach}",
        f">{marked[:2500]}",
        f"Engagement: {_slack_escape(curve_line(msg))}",
    ]
    if _safe_href(msg.url):
        # Slack's link ends its URL at the first "|": one in the post's URL would become text.
        href = _slack_escape(msg.url or "").replace("|", "%7C")
        lines.append(f"<{href}|Open the post>")
    if msg.ack_url:
        lines.append(f"<{msg.ack_url}|Acknowledge>")
    text = "\n".join(lines)
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def _md_escape(text: str) -> str:
    out = html.escape(text, quote=False)
    for ch in "\\`*_{}[]()#+-!|>":
        out = out.replace(ch, "\\" + ch)
    return out


def render_teams(msg: Message) -> dict[str, Any]:
    marked = "".join(f"**{_md_escape(s)}**" if m else _md_escape(s) for s, m in msg.segments())
    actions = []
    if _safe_href(msg.url):
        actions.append(
            {
                "@type": "OpenUri",
                "name": "Open the post",
                "targets": [{"os": "default", "uri": msg.url}],
            }
        )
    if msg.ack_url:
        actions.append(
            {
                "@type": "OpenUri",
                "name": "Acknowledge",
                "targets": [{"os": "default", "uri": msg.ack_url}],
            }
        )
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": msg.subject,
        "themeColor": "D7263D",
        "title": _md_escape(msg.subject),
        "sections": [
            {
                "activityTitle": _md_escape(f"Why: {msg.why()}"),
                "facts": [
                    *([{"name": "Update", "value": _md_escape(msg.update)}] if msg.update else []),
                    {"name": "Story", "value": _md_escape(msg.story)},
                    {"name": "Source", "value": _md_escape(msg.source or "")},
                    {"name": "Author", "value": _md_escape(msg.author or "unknown")},
                    {"name": "Reach", "value": human_count(msg.author_followers or 0)},
                    {"name": "Engagement", "value": _md_escape(curve_line(msg))},
                ],
                "text": marked[:2500],
            }
        ],
        "potentialAction": actions,
    }


def render_json(msg: Message) -> bytes:
    return json.dumps(msg.to_json(), ensure_ascii=False, sort_keys=True).encode()
