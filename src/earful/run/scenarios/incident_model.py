"""The shape of a historical incident scenario (see ``generate_incidents``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# -- the shape of a scenario -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyPost:
    """A hand-written story post, ``hours`` after the original."""

    hours: float
    source: str
    ident: str
    author: str
    followers: int | None
    text: str
    title: str | None = None
    url: str | None = None
    # (hours after this post, likes, shares, comments) readings
    curve: tuple[tuple[float, int, int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Background:
    brands: tuple[str, ...]  # spellings of the brand used in ordinary posts
    handle: str  # appended when no spelling made it into the text
    complaints: tuple[str, ...]
    praise: tuple[str, ...]
    questions: tuple[str, ...]
    places: tuple[str, ...]
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Incident:
    name: str
    seed: int
    brand: str
    prefix: str
    published: datetime  # the original post
    source: str
    ident: str
    url: str
    author: str
    followers: int
    title: str
    text: str
    views: tuple[tuple[float, int], ...]  # (hours after posting, cumulative views) anchors
    removed_h: float | None  # the original stops gaining views (taken down)
    ratios: tuple[float, float, float]  # likes, shares, comments per view
    keys: tuple[KeyPost, ...]
    crowd: int  # small posts that spread the story
    crowd_templates: tuple[str, ...]
    crowd_hours: float  # the crowd is spread over this many hours, front-loaded
    crowd_start_h: float  # ... starting this many hours after the original
    link_share: float  # share of crowd posts that carry the original's URL
    background: Background
    background_n: int
    days_before: float
    days_after: float
    wave: int = 0
    wave_text: str = ""
    wave_at_h: float = 0.0
    wave_hours: float = 0.0
    wave_author: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# -- views curve -------------------------------------------------------------------------------
