"""The fully computed digest: plain dataclasses that templates only format.

``DigestData.to_json()`` keeps the DESIGN.md section 3 keys exactly (``brand``, ``date``,
``volume``, ``volume_change``, ``sentiment``, ``by_source``, ``share_of_voice``, ``top_negative``,
``top_positive``, ``themes``, ``drivers``, ``escalations``, ``source_health``) and adds detail
keys beside them. Ratios are fractions (0.25 = 25 %); ``None`` means "no basis to compute".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from earful.clock import isoformat_z

_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)
_SAFE_SCHEMES = ("http://", "https://")


def plain(text: str | None) -> str:
    """One line of text: control and bidi-override characters dropped (they could spoof a
    terminal or reorder a line), whitespace collapsed. Still raw: templates escape it."""
    return _SPACE.sub(" ", _CONTROL.sub("", text or "")).strip()


def make_excerpt(text: str | None, limit: int = 240) -> str:
    """Whitespace collapsed, cut at a word boundary near ``limit`` characters (still raw text:
    the templates escape it)."""
    flat = plain(text)
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] or flat[:limit]
    return cut.rstrip(" ,;:.") + "…"


def safe_link(url: str | None) -> str | None:
    """Only absolute http(s) links are shown; ``javascript:``, ``data:`` and such are dropped."""
    if not url:
        return None
    clean = url.strip()
    if clean.lower().startswith(_SAFE_SCHEMES) and not any(c in clean for c in "\r\n\t "):
        return clean
    return None


def change_ratio(current: int, previous: int) -> float | None:
    """Relative change ``(current - previous) / previous``; ``None`` when previous is zero."""
    if previous <= 0:
        return None
    return round((current - previous) / previous, 4)


@dataclass(frozen=True, slots=True)
class MentionItem:
    id: int
    source: str
    source_name: str | None
    author: str | None
    reach: int | None  # the author's followers, when the source tells
    url: str | None  # http(s) only
    title: str | None
    excerpt: str
    published_at: datetime | None
    compound: float
    label: str
    risk: float | None
    likes: int | None = None
    shares: int | None = None
    comments: int | None = None
    views: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "source_name": self.source_name,
            "author": self.author,
            "reach": self.reach,
            "url": self.url,
            "title": self.title,
            "excerpt": self.excerpt,
            "published_at": isoformat_z(self.published_at) if self.published_at else None,
            "sentiment_compound": round(self.compound, 4),
            "sentiment_label": self.label,
            "risk": None if self.risk is None else round(self.risk, 4),
            "engagement": {
                "likes": self.likes,
                "shares": self.shares,
                "comments": self.comments,
                "views": self.views,
            },
        }


@dataclass(frozen=True, slots=True)
class SentimentMix:
    positive: int = 0
    neutral: int = 0
    negative: int = 0

    @property
    def total(self) -> int:
        return self.positive + self.neutral + self.negative

    @property
    def net(self) -> float | None:
        """(positive − negative) / all, in [-1, 1]; ``None`` without mentions."""
        return round((self.positive - self.negative) / self.total, 4) if self.total else None

    def share(self, label: str) -> float:
        value: int = getattr(self, label)
        return value / self.total if self.total else 0.0

    def to_json(self) -> dict[str, int]:
        return {"positive": self.positive, "neutral": self.neutral, "negative": self.negative}


@dataclass(frozen=True, slots=True)
class SourceStat:
    source: str
    mix: SentimentMix
    avg_compound: float | None

    @property
    def count(self) -> int:
        return self.mix.total


@dataclass(frozen=True, slots=True)
class TrendPoint:
    day: date
    mix: SentimentMix


@dataclass(frozen=True, slots=True)
class Theme:
    terms: list[str]
    count: int  # mentions in the digest period
    total: int  # mentions in the rolling window sample
    weeks_seen: int
    authors: int
    first_seen: date
    last_seen: date
    chronic: bool
    trend: str  # new | rising | falling | steady
    weekly: list[tuple[str, int]]  # (ISO week "2026-W45", mentions), oldest first
    examples: list[str]
    example_links: list[str | None]

    def to_json(self) -> dict[str, Any]:
        return {
            "terms": self.terms,
            "count": self.count,
            "total": self.total,
            "weeks_seen": self.weeks_seen,
            "authors": self.authors,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "chronic": self.chronic,
            "trend": self.trend,
            "weekly": [{"week": w, "count": c} for w, c in self.weekly],
            "examples": self.examples,
        }


@dataclass(frozen=True, slots=True)
class DriverResult:
    key: str
    label: str
    count: int
    examples: list[str]
    example_links: list[str | None]


@dataclass(frozen=True, slots=True)
class EscalationStats:
    available: bool  # False: the escalation table does not exist (feature not installed)
    opened: int = 0
    acknowledged: int = 0
    resolved: int = 0
    ack_p50_min: float | None = None
    ack_p90_min: float | None = None
    ack_sla_min: int | None = None
    within_sla: float | None = None  # share of acknowledgements within the SLA

    def to_json(self) -> dict[str, Any]:
        return {
            "opened": self.opened,
            "acknowledged": self.acknowledged,
            "resolved": self.resolved,
            "ack_p50_min": self.ack_p50_min,
            "ack_p90_min": self.ack_p90_min,
            "ack_sla_min": self.ack_sla_min,
            "within_sla": self.within_sla,
            "available": self.available,
        }


@dataclass(frozen=True, slots=True)
class SourceHealth:
    source: str
    kind: str | None
    status: str  # ok | recovered | failing | disabled | silent | stale | never_polled
    detail: str

    @property
    def is_problem(self) -> bool:
        return self.status != "ok"


@dataclass(slots=True)
class DigestData:
    brand: str
    known_brand: bool
    timezone: str
    first_day: date
    last_day: date  # inclusive; equals first_day for a daily digest
    period_start: datetime  # UTC, inclusive
    period_end: datetime  # UTC, exclusive
    generated_at: datetime
    competitors: list[str] = field(default_factory=list)
    volume: int = 0
    volume_previous: int = 0
    volume_last_week: int = 0
    sentiment: SentimentMix = field(default_factory=SentimentMix)
    by_source: list[SourceStat] = field(default_factory=list)
    share_of_voice: dict[str, int] = field(default_factory=dict)  # counts; shares computed
    trend: list[TrendPoint] = field(default_factory=list)
    top_negative: list[MentionItem] = field(default_factory=list)
    top_positive: list[MentionItem] = field(default_factory=list)
    themes: list[Theme] = field(default_factory=list)
    theme_window_days: int = 0
    theme_sample: int = 0
    drivers: list[DriverResult] = field(default_factory=list)
    drivers_scanned: int = 0
    escalations: EscalationStats = field(default_factory=lambda: EscalationStats(False))
    source_health: list[SourceHealth] = field(default_factory=list)

    @property
    def is_single_day(self) -> bool:
        return self.first_day == self.last_day

    @property
    def date_label(self) -> str:
        if self.is_single_day:
            return self.last_day.isoformat()
        return f"{self.first_day.isoformat()} – {self.last_day.isoformat()}"

    @property
    def volume_change(self) -> float | None:
        return change_ratio(self.volume, self.volume_previous)

    @property
    def volume_change_last_week(self) -> float | None:
        return change_ratio(self.volume, self.volume_last_week)

    def sov_shares(self) -> dict[str, float]:
        total = sum(self.share_of_voice.values())
        return {
            name: (round(count / total, 4) if total else 0.0)
            for name, count in self.share_of_voice.items()
        }

    def trend_volume(self) -> int:
        return sum(p.mix.total for p in self.trend)

    def source_problems(self) -> list[SourceHealth]:
        return [h for h in self.source_health if h.is_problem]

    def to_json(self) -> dict[str, Any]:
        """The DESIGN.md contract plus detail keys (JSON-serialisable, no datetimes)."""
        return {
            "brand": self.brand,
            "date": self.last_day.isoformat(),
            "since": None if self.is_single_day else self.first_day.isoformat(),
            "timezone": self.timezone,
            "known_brand": self.known_brand,
            "period": {
                "start": isoformat_z(self.period_start),
                "end": isoformat_z(self.period_end),
            },
            "generated_at": isoformat_z(self.generated_at),
            "volume": self.volume,
            "volume_change": self.volume_change,
            "volume_previous": self.volume_previous,
            "volume_same_weekday_last_week": self.volume_last_week,
            "volume_change_vs_last_week": self.volume_change_last_week,
            "sentiment": self.sentiment.to_json(),
            "net_sentiment": self.sentiment.net,
            "by_source": {s.source: s.count for s in self.by_source},
            "by_source_detail": [
                {
                    "source": s.source,
                    "count": s.count,
                    "sentiment": s.mix.to_json(),
                    "avg_compound": s.avg_compound,
                }
                for s in self.by_source
            ],
            "share_of_voice": self.sov_shares(),
            "share_of_voice_counts": dict(self.share_of_voice),
            "trend": [
                {
                    "date": p.day.isoformat(),
                    "volume": p.mix.total,
                    "net_sentiment": p.mix.net,
                    **p.mix.to_json(),
                }
                for p in self.trend
            ],
            "top_negative": [m.to_json() for m in self.top_negative],
            "top_positive": [m.to_json() for m in self.top_positive],
            "themes": [t.to_json() for t in self.themes],
            "theme_window_days": self.theme_window_days,
            "theme_sample": self.theme_sample,
            "drivers": {d.key: d.count for d in self.drivers},
            "drivers_detail": [
                {"driver": d.key, "label": d.label, "count": d.count, "examples": d.examples}
                for d in self.drivers
            ],
            "drivers_scanned": self.drivers_scanned,
            "escalations": self.escalations.to_json(),
            "source_health": [
                {"source": h.source, "kind": h.kind, "status": h.status, "detail": h.detail}
                for h in self.source_health
            ],
        }
