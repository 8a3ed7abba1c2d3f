"""The normalized mention every connector produces (DESIGN.md section 3).

Connectors' parsers return ``RawMention`` objects: plain data, no I/O, nothing invented —
unknown values stay ``None``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from earful.clock import isoformat_z


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
