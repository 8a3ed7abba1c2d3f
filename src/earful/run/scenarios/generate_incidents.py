"""Build the historical incident scenarios: ``united_3411``, ``fedex_monitor``, ``dominos_kitchen``.

    python -m earful.run.scenarios.generate_incidents src/earful/run/scenarios   # all three
    python -m earful.run.scenarios.generate_incidents DIR [NAME ...] [--scale 0.25]

Each scenario is one public incident (anchor facts — dates, rough view counts, the brand's own
statements — are listed with their sources in README.md) replayed among a busy background of
that brand's ordinary mentions:

* **the original** post (a video) with a views/likes/shares curve drawn smoothly through the
  public anchors;
* **the posts that spread it**: hand-written key posts (news, blogs, the brand's statement) and a
  crowd of small posts in many people's words, most of them linking the original's URL;
* for ``united_3411`` a **wave** of identical ``RT @...`` reposts of the passenger's tweet;
* a **background** of at least 2,000 ordinary mentions of the brand over the same days —
  everyday complaints, praise and questions in many people's words, a few likes each, a tenth
  with one later engagement reading.

Story posts have ids starting with the scenario's prefix (``ua-``, ``fx-``, ``dp-``); background
ids start with ``bg``. :data:`INCIDENTS` names each scenario's original post and its time, which is
what the scenario tests measure the first escalation against.

Pure and deterministic: a fixed seed per scenario, no clock, no I/O in :func:`build`. ``scale``
shrinks the background, the crowd and the wave (never the original or the key posts) so tests
can replay a smaller copy.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from earful.run.scenarios.incident_comcast import COMCAST
from earful.run.scenarios.incident_dominos import DOMINOS
from earful.run.scenarios.incident_fedex import FEDEX
from earful.run.scenarios.incident_model import Incident
from earful.run.scenarios.incident_united import UNITED


def views_at(inc: Incident, hours: float) -> int:
    """Cumulative views ``hours`` after posting: log-linear between the anchors (0 before the
    first), flat after the last anchor or after the take-down."""
    if inc.removed_h is not None:
        hours = min(hours, inc.removed_h)
    points = inc.views
    if hours <= 0:
        return 0
    if hours <= points[0][0]:
        return int(points[0][1] * hours / points[0][0])
    for (h0, v0), (h1, v1) in itertools.pairwise(points):
        if hours <= h1:
            f = (hours - h0) / (h1 - h0)
            return int(math.exp(math.log(v0) + f * (math.log(v1) - math.log(v0))))
    return points[-1][1]


def _reading_hours(total_h: float) -> list[float]:
    """When the original's counts are read: every hour for two days, then every six."""
    hours = [h / 2 for h in range(1, 12)] + [float(h) for h in range(6, 49)]
    h = 54.0
    while h <= total_h:
        hours.append(h)
        h += 6
    return [x for x in hours if x <= total_h]


# -- events ------------------------------------------------------------------------------------


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _mention(
    inc: Incident,
    at: datetime,
    source: str,
    ident: str,
    author: str,
    followers: int | None,
    text: str,
    *,
    title: str | None = None,
    url: str | None = None,
    likes: int = 0,
) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "at": _stamp(at),
        "type": "mention",
        "source": source,
        "id": ident,
        "brand": inc.brand,
        "url": url or f"https://{source}.example/{ident}",
        "author": author,
    }
    if followers is not None:
        ev["author_followers"] = followers
    if title:
        ev["title"] = title
    ev.update(
        {"text": text, "published_at": _stamp(at), "likes": likes, "shares": 0, "comments": 0}
    )
    return ev


def _engagement(
    at: datetime, source: str, ident: str, likes: int, shares: int, comments: int, **more: int
) -> dict[str, Any]:
    ev: dict[str, Any] = {"at": _stamp(at), "type": "engagement", "source": source, "id": ident}
    ev.update(more)
    ev.update({"likes": likes, "shares": shares, "comments": comments})
    return ev


def _followers(rnd: random.Random) -> int:
    """Most accounts are small, a few are not (log-uniform 20..20,000)."""
    return int(math.exp(rnd.uniform(math.log(20), math.log(20_000))))


_CHOICE = re.compile(r"\[([^\[\]]*)\]")


def vary(text: str, rnd: random.Random) -> str:
    """Pick one alternative of every ``[a|b|c]`` in ``text`` (``[|x]``: x or nothing)."""
    return _CHOICE.sub(lambda m: rnd.choice(m.group(1).split("|")), text).replace("  ", " ")


def _background(inc: Incident, rnd: random.Random, n: int) -> list[dict[str, Any]]:
    bg = inc.background
    start = inc.published - timedelta(days=inc.days_before)
    span = int((inc.days_before + inc.days_after) * 86400)
    sources = ["twitter"] * 14 + ["forum"] * 2 + ["blog", "news", "reviews"]
    events: list[dict[str, Any]] = []
    for i in range(n):
        # More posts by day than by night (US time): keep a draw with a daily weight.
        while True:
            at = start + timedelta(seconds=rnd.randrange(span))
            local_hour = (at.hour - 5) % 24
            if rnd.random() < 0.35 + 0.65 * math.sin(math.pi * local_hour / 24) ** 2:
                break
        kind = rnd.random()
        pool = bg.complaints if kind < 0.72 else bg.praise if kind < 0.88 else bg.questions
        body = vary(rnd.choice(pool), rnd).format(
            b=rnd.choice(bg.brands),
            place=rnd.choice(bg.places),
            item=rnd.choice(bg.items),
            n=rnd.randint(2, 9),
            num=rnd.randint(100, 9999),
        )
        opener = rnd.choice(OPENERS) if pool is bg.complaints else ""
        closer = rnd.choice(CLOSERS) if pool is bg.complaints else ""
        end = "" if body.endswith("?") else "."
        text = f"{opener} {body}{end}{closer}".strip()
        text = text[0].upper() + text[1:]
        if not any(b.lower() in text.lower() for b in bg.brands):
            text = f"{text} {bg.handle}"
        source = rnd.choice(sources)
        ident = f"bg{i:05d}"
        likes = rnd.choice((0, 0, 0, 1, 1, 2, 3, 4, 6))
        events.append(
            _mention(
                inc,
                at,
                source,
                ident,
                f"{source[:2]}{rnd.randint(1, 10**6)}",
                _followers(rnd) if source in ("twitter", "reviews") else None,
                text,
                title=text[:60] if source in ("blog", "news", "forum") else None,
                likes=likes,
            )
        )
        if rnd.random() < 0.1:
            later = at + timedelta(hours=rnd.uniform(1, 8))
            events.append(
                _engagement(
                    later,
                    source,
                    ident,
                    likes + rnd.randint(0, 5),
                    rnd.randint(0, 2),
                    rnd.randint(0, 3),
                )
            )
    return events


def _story(inc: Incident, rnd: random.Random, scale: float) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    t0 = inc.published
    events.append(
        _mention(
            inc,
            t0,
            inc.source,
            inc.ident,
            inc.author,
            inc.followers,
            inc.text,
            title=inc.title,
            url=inc.url,
        )
    )
    total_h = inc.days_after * 24
    lr, sr, cr = inc.ratios
    for h in _reading_hours(total_h):
        v = views_at(inc, h)
        events.append(
            _engagement(
                t0 + timedelta(hours=h),
                inc.source,
                inc.ident,
                int(v * lr),
                int(v * sr),
                int(v * cr),
                views=v,
            )
        )
    for key in inc.keys:
        at = t0 + timedelta(hours=key.hours)
        events.append(
            _mention(
                inc,
                at,
                key.source,
                key.ident,
                key.author,
                key.followers,
                key.text,
                title=key.title,
                url=key.url,
            )
        )
        for dh, likes, shares, comments in key.curve:
            events.append(
                _engagement(
                    at + timedelta(hours=dh), key.source, key.ident, likes, shares, comments
                )
            )
    crowd = int(inc.crowd * scale)
    for i in range(crowd):
        # Front-loaded: the crowd's count grows like the square root of time.
        hours = inc.crowd_start_h + inc.crowd_hours * ((i + 1) / crowd) ** 2
        hours += rnd.uniform(0, 0.3)
        at = t0 + timedelta(hours=hours)
        text = rnd.choice(inc.crowd_templates).format(url=inc.url, b=inc.brand)
        if rnd.random() >= inc.link_share:
            text = text.replace(inc.url, "").replace("  ", " ").strip()
        events.append(
            _mention(
                inc,
                at,
                "twitter" if rnd.random() < 0.85 else rnd.choice(("forum", "blog")),
                f"{inc.prefix}c{i:04d}",
                f"p{rnd.randint(1, 10**6)}",
                _followers(rnd),
                text,
                likes=rnd.randint(0, 40),
            )
        )
    wave = int(inc.wave * scale)
    wave_start = t0 + timedelta(hours=inc.wave_at_h)
    for i in range(wave):
        at = wave_start + timedelta(seconds=int(inc.wave_hours * 3600 * ((i + 1) / wave) ** 0.5))
        events.append(
            _mention(
                inc,
                at,
                "twitter",
                f"{inc.prefix}rt{i:05d}",
                f"rt{i}",
                _followers(rnd),
                inc.wave_text,
                likes=rnd.randint(0, 3),
            )
        )
    return events


def build(inc: Incident, scale: float = 1.0) -> list[dict[str, Any]]:
    """The scenario's events in ``at`` order (ties by id); ``scale`` shrinks the crowds."""
    rnd = random.Random(inc.seed)
    events = _story(inc, rnd, scale) + _background(inc, rnd, int(inc.background_n * scale))
    events.sort(key=lambda e: (e["at"], e["type"] != "mention", e["id"]))
    return events


def is_story(inc: Incident, ident: str) -> bool:
    """Whether a post (by scenario id) belongs to the incident's story."""
    return ident == inc.ident or ident.startswith(inc.prefix)


# -- shared wording ----------------------------------------------------------------------------

OPENERS = ("", "", "", "Ugh,", "Honestly,", "Well,", "So", "Not again:", "Great,", "Seriously,")
CLOSERS = ("", "", "", " Not great.", " Sigh.", " Every time.", " Come on.", " Why?", " Meh.")

INCIDENTS: dict[str, Incident] = {inc.name: inc for inc in (UNITED, FEDEX, DOMINOS, COMCAST)}


def write(inc: Incident, path: Path, scale: float = 1.0) -> int:
    """Write the scenario to ``path`` (JSON Lines); the number of events."""
    events = build(inc, scale)
    path.write_text(
        "".join(json.dumps(ev, ensure_ascii=False) + "\n" for ev in events), encoding="utf-8"
    )
    return len(events)


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("names", nargs="*", default=sorted(INCIDENTS))
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    for name in args.names:
        n = write(INCIDENTS[name], args.dir / f"{name}.jsonl", args.scale)
        out(f"{name}: {n} events")


if __name__ == "__main__":
    main()
