"""One engagement reading: cumulative counts of a post (or an incident) at one moment.

Shared by :mod:`earful.engagement` (re-poll scheduling) and :mod:`earful.risk` (scoring), so
both read the same snapshot type. Pure: no clock, no DB.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from earful.clock import ensure_utc

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
            at=ensure_utc(snap.at),
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
