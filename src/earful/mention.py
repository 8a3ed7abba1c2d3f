"""The normalized mention every connector produces (DESIGN.md section 3), and one engagement
reading of it (``Reading``: shared by the engagement tracker and risk scoring).

Connectors' parsers return ``RawMention`` objects: plain data, no I/O, nothing invented —
unknown values stay ``None``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from earful.clock import ensure_utc, isoformat_z


@dataclass(slots=True)
class Engagement:
    """Cumulative counts at the time the payload was produced; ``None`` when unknown."""

    likes: int | None = None
    shares: int | None = None
    comments: int | None = None
    views: int | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in (self.likes, self.shares, self.comments, self.views))


@dataclass(slots=True)
class RawMention:
    source: str
    external_id: str
    url: str | None
    text: str
    title: str | None = None
    author: str | None = None
    author_followers: int | None = None
    published_at: datetime | None = None
    language: str | None = None
    rating: float | None = None
    engagement: Engagement = field(default_factory=Engagement)
    parent_id: str | None = None
    # Not part of the printed contract: extra facts a connector wants to keep
    # (e.g. the publisher of a Google News item, the site of a feed).
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The edge where outside time enters: whatever zone a connector read, the core sees UTC.
        if self.published_at is not None:
            self.published_at = ensure_utc(self.published_at)

    def to_dict(self) -> dict[str, Any]:
        """The normalized JSON object of DESIGN.md (``extra`` left out)."""
        data = asdict(self)
        data.pop("extra", None)
        data["published_at"] = isoformat_z(self.published_at) if self.published_at else None
        return {
            "source": data["source"],
            "external_id": data["external_id"],
            "url": data["url"],
            "title": data["title"],
            "text": data["text"],
            "author": data["author"],
            "author_followers": data["author_followers"],
            "published_at": data["published_at"],
            "language": data["language"],
            "rating": data["rating"],
            "engagement": data["engagement"],
            "parent_id": data["parent_id"],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


COUNTS = ("likes", "shares", "comments", "views")


@dataclass(frozen=True, slots=True)
class Reading:
    """Cumulative engagement at one moment (a stored snapshot, or counts just fetched);
    ``None``: unknown."""

    at: datetime
    likes: int | None = None
    shares: int | None = None
    comments: int | None = None
    views: int | None = None
    author_followers: int | None = None
    posts: int | None = None  # incidents: how many posts the story has by then

    @classmethod
    def of(cls, snap: Any) -> Reading:
        """A reading of a stored snapshot (an ``EngagementSnapshot`` or a row of its table)."""
        return cls(
            at=snap.at,
            likes=snap.likes,
            shares=snap.shares,
            comments=snap.comments,
            views=snap.views,
            author_followers=snap.author_followers,
        )

    def get(self, metric: str) -> int | None:
        value: int | None = getattr(self, metric)
        return value

    def activity(self) -> float:
        """One number for growth: interactions, plus views at a tenth of their weight."""
        total = float((self.likes or 0) + (self.shares or 0) + (self.comments or 0))
        return total + (self.views or 0) / 10.0

    def same_counts(self, other: Reading) -> bool:
        """Same counts and followers (``posts`` is not compared: snapshots never store it)."""
        return all(getattr(self, n) == getattr(other, n) for n in (*COUNTS, "author_followers"))
