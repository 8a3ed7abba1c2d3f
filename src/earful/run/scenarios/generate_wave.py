"""Build ``complaint_wave.jsonl``: a busy brand's everyday complaints and one repost wave.

    python -m earful.run.scenarios.generate_wave > src/earful/run/scenarios/complaint_wave.jsonl

6,000 ordinary posts about United Airlines over three days (lost bags, delays, broken seats,
rude agents... in many people's words, a few likes each) and, from day two, one complaint that
3,000 accounts repost ("RT @user: ...") within three hours while the original's likes grow.
Synthetic, fixed seed: the point is volume — the wave must page once, the crowd never.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

SEED = 13
START = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)
BRAND = "United Airlines"

OPENERS = [
    "Ugh,",
    "Seriously",
    "Again.",
    "Well,",
    "Honestly",
    "So",
    "Not impressed:",
    "Come on",
    "Typical.",
    "",
]
PROBLEMS = [
    "{b} lost my bag on the way to {city}, third day without my clothes",
    "my {b} flight {num} to {city} is delayed {n} hours and nobody at the gate says why",
    "the seat on {b} {num} was broken and would not stay upright the whole way to {city}",
    "{b} cancelled my connection in {city} and rebooked me for tomorrow night",
    "waited {n} hours on hold with {b} to change a ticket to {city}",
    "{b} charged me twice for a checked bag, still no refund",
    "the {b} app logged me out at boarding in {city} and the agent shrugged",
    "my suitcase came off the {b} carousel in {city} with a ripped handle",
    "{b} gate agent in {city} was rude when I asked about my seat",
    "wifi on {b} {num} never worked and they still billed me",
    "{b} changed my {city} flight time for the {n}th time this month",
    "no vegetarian meal on {b} {num} even though I booked it weeks ago",
    "sat on the tarmac in {city} for {n} hours on {b}, no water handed out",
    "{b} lost my stroller at {city}, traveling with a toddler is hard enough",
    "overhead bins full before my group boarded on {b} again, bag checked at {city}",
]
CLOSERS = ["", "", " Not great.", " Why is this so hard?", " #travel", " Sigh.", " Every time."]
CITIES = [
    "Denver",
    "Chicago",
    "Newark",
    "Houston",
    "San Francisco",
    "Boston",
    "Seattle",
    "Atlanta",
    "Miami",
    "Phoenix",
    "Dallas",
    "Portland",
]
ORIGINAL = (
    "United Airlines staff at O'Hare dragged my 80-year-old grandmother's wheelchair off the "
    "jet bridge and left her alone at the gate for three hours. Nobody helped. Shameful."
)


def _mention(
    at: datetime, ident: str, author: str, followers: int, text: str, likes: int
) -> dict[str, Any]:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "at": stamp,
        "type": "mention",
        "source": "twitter",
        "id": ident,
        "brand": BRAND,
        "url": f"https://twitter.example/{ident}",
        "author": author,
        "author_followers": followers,
        "text": text,
        "published_at": stamp,
        "likes": likes,
        "shares": 0,
        "comments": 0,
    }


def build(rnd: random.Random, scale: float = 1.0) -> list[dict[str, Any]]:
    """The events, in ``at`` order; ``scale`` shrinks both crowds (for tests)."""
    events: list[dict[str, Any]] = []
    span = 3 * 86400
    for i in range(int(6000 * scale)):
        at = START + timedelta(seconds=rnd.randrange(span))
        problem = rnd.choice(PROBLEMS).format(
            b=BRAND if rnd.random() < 0.7 else "United",
            city=rnd.choice(CITIES),
            num=rnd.randint(100, 2999),
            n=rnd.randint(2, 9),
        )
        text = f"{rnd.choice(OPENERS)} {problem}.{rnd.choice(CLOSERS)}".strip()
        if BRAND not in text:
            text = f"{text} @united"
        events.append(
            _mention(
                at,
                f"bg{i:05d}",
                f"u{rnd.randint(1, 10**6)}",
                rnd.randint(20, 3000),
                text,
                rnd.randint(0, 6),
            )
        )
    origin = START + timedelta(days=1, hours=14)
    events.append(_mention(origin, "wave-origin", "granddaughter", 4200, ORIGINAL, 0))
    for minutes in range(10, 181, 10):
        events.append(
            {
                "at": (origin + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "type": "engagement",
                "source": "twitter",
                "id": "wave-origin",
                "likes": int(20 * minutes**1.5),
                "shares": minutes * 15,
                "comments": minutes * 3,
            }
        )
    reposts = int(3000 * scale)
    for i in range(reposts):
        # Reposts accelerate: their count grows with the square of the time.
        at = origin + timedelta(seconds=int(10800 * ((i + 1) / reposts) ** 0.5))
        events.append(
            _mention(
                at,
                f"rt{i:05d}",
                f"r{i}",
                rnd.randint(10, 5000),
                f"RT @granddaughter: {ORIGINAL}",
                rnd.randint(0, 3),
            )
        )
    events.sort(key=lambda e: (e["at"], e["id"]))
    return events


def main() -> None:
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    for ev in build(random.Random(SEED), scale):
        sys.stdout.write(json.dumps(ev, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
