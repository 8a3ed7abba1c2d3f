"""The engagement curve of one mention as an inline SVG chart, computed here and only
formatted by the template (no script, no inline style: the stylesheet colours it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from earful.store.models import EngagementSnapshot

WIDTH, HEIGHT, PAD = 600, 160, 28


@dataclass(frozen=True, slots=True)
class Curve:
    points: str  # "x,y x,y ..." for <polyline>
    dots: list[tuple[float, float]]
    first: datetime
    last: datetime
    peak: int
    measure: str  # what is plotted
    width: int = WIDTH
    height: int = HEIGHT
    pad: int = PAD


def _value(s: EngagementSnapshot, views: bool) -> int | None:
    if views:
        return s.views
    parts = [v for v in (s.likes, s.shares, s.comments) if v is not None]
    return sum(parts) if parts else None


def engagement_curve(snapshots: Sequence[EngagementSnapshot]) -> Curve | None:
    """Interactions (likes + shares + comments; views when a source counts nothing else)
    over time; None with fewer than two measured snapshots."""
    ordered = sorted(snapshots, key=lambda s: s.at)
    views = all(_value(s, False) is None for s in ordered)
    series = [(s.at, v) for s in ordered if (v := _value(s, views)) is not None]
    if len(series) < 2:
        return None
    t0, t1 = series[0][0], series[-1][0]
    span = max((t1 - t0).total_seconds(), 1.0)
    peak = max(v for _, v in series) or 1
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    dots = [
        (
            round(PAD + inner_w * (at - t0).total_seconds() / span, 1),
            round(HEIGHT - PAD - inner_h * v / peak, 1),
        )
        for at, v in series
    ]
    return Curve(
        points=" ".join(f"{x},{y}" for x, y in dots),
        dots=dots,
        first=t0,
        last=t1,
        peak=peak,
        measure="views" if views else "likes + shares + comments",
    )
