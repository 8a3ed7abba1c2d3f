"""Deterministic generator of realistic-looking posts and feeds for the benchmarks.

Fixed seed, no I/O: posts mix complaints, praise and noise, emoji (with and without the
U+FE0F selector), CAPS, "!!!", HTML fragments, several languages, and exact duplicates,
so parsing, matching and scoring meet what real feeds carry.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

BRANDS = [
    "United Airlines",
    "Delta",
    "American Airlines",
    "Acme Bank",
    "Globex",
    "Initech",
    "Umbrella Mobile",
    "Hooli",
    "Vandelay Industries",
    "Stark Telecom",
]
_OPENERS = [
    "Just flew with {b}",
    "Anyone else having trouble with {b}?",
    "Shoutout to {b}",
    "{b} customer service",
    "Day 3 of waiting for {b}",
    "Honestly {b}",
    "Update on my {b} saga",
    "Why does {b} always",
    "Big thanks to the team at {b}",
    "PSA about {b}",
]
_BODIES = [
    "my flight was delayed 5 hours and nobody told us anything",
    "they lost my bag AGAIN and the agent just shrugged",
    "been on hold for 2 hours, transferred three times, still no refund",
    "the app keeps crashing when I try to check in",
    "amazing crew, upgraded my seat and remembered my name!",
    "fastest support chat I've ever had, fixed in 5 minutes",
    "they promised a callback within 24h. It never came.",
    "was charged twice for the same ticket, billing won't answer",
    "the gate staff were rude and uncaring to an elderly passenger",
    "new lounge is gorgeous, coffee was great",
    "advertised free wifi, it was supposed to work, it doesn't",
    "they broke my guitar and refused to pay for the damage",
    "sorry sorry sorry, but no fix. apology without a solution",
    "nothing special, just another flight",
    "great price but the seat was broken",
]
_TAILS = [
    "",
    "!!!",
    " 😡",
    " 🤬🤬",
    " ❤️",
    " ❤",
    " 👍",
    " 😂😂😂",
    " #fail",
    " #neveragain",
    " :(",
    " :)",
    " WORST. EXPERIENCE. EVER.",
    " lol",
    " 🙏🏽",
    " <b>seriously</b>",
    ' <a href="https://example.com/x?utm_source=t">link</a>',
    " &amp; more",
]
_FOREIGN = [
    "Le vol de {b} a encore été annulé, c'est inadmissible.",
    "Der Kundendienst von {b} ist wirklich großartig!",
    "El servicio de {b} fue terrible, perdieron mi maleta.",
    "{b} のサポートは最悪でした。荷物がなくなった。",
    "O atendimento da {b} é péssimo, ninguém responde.",
]
_NOISE = [
    "Weather looks great for the weekend in Chicago",
    "Reading a long thread about Rust lifetimes",
    "Manchester United won again, what a match",
    "Reunited with my old friends at the reunion",
    "Our team is hiring backend engineers, DM me",
]


def generate_posts(n: int, *, seed: int = 7, duplicate_rate: float = 0.03) -> list[str]:
    """``n`` post texts; about 70% mention a brand, the rest is noise, some duplicated."""
    rng = random.Random(seed)
    posts: list[str] = []
    for _ in range(n):
        if posts and rng.random() < duplicate_rate:
            posts.append(rng.choice(posts))
            continue
        roll = rng.random()
        brand = rng.choice(BRANDS)
        if roll < 0.55:
            text = (
                rng.choice(_OPENERS).format(b=brand)
                + ": "
                + rng.choice(_BODIES)
                + rng.choice(_TAILS)
            )
            if rng.random() < 0.1:
                text = text.upper()
        elif roll < 0.7:
            text = rng.choice(_FOREIGN).format(b=brand)
        else:
            text = rng.choice(_NOISE) + rng.choice(_TAILS)
        posts.append(text)
    return posts


def generate_queries(n: int, *, seed: int = 11) -> list[str]:
    """``n`` brand queries in the query language, realistic in shape."""
    rng = random.Random(seed)
    words = [
        "acme",
        "globex",
        "initech",
        "hooli",
        "umbrella",
        "stark",
        "vandelay",
        "wayne",
        "oscorp",
        "cyberdyne",
        "tyrell",
        "soylent",
        "wonka",
        "gringotts",
        "monarch",
        "duff",
    ]
    queries: list[str] = []
    for i in range(n):
        base = f"{rng.choice(words)}{i}"
        shape = i % 5
        if shape == 0:
            queries.append(f'"{base} support"')
        elif shape == 1:
            queries.append(f"{base} AND (refund OR delay OR broken)")
        elif shape == 2:
            queries.append(f"{base} -careers -hiring")
        elif shape == 3:
            queries.append(f'{base} NEAR/3 "customer service"')
        else:
            queries.append(f"title:{base} OR @{base}")
    # A handful that match the generated posts, so matching does real work.
    queries[:6] = [
        '"united airlines" -"manchester united"',
        "delta AND (flight OR bag OR delayed)",
        '"american airlines"',
        '"acme bank" OR @acmebank',
        "globex NEAR/5 refund",
        "hooli -hiring",
    ]
    return queries


def rss_feed(items: list[tuple[str, str, str]], *, start: datetime | None = None) -> bytes:
    """An RSS 2.0 body with ``(guid, title, html_description)`` items."""
    start = start or datetime(2026, 1, 1, tzinfo=UTC)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0"><channel><title>Bench feed</title>',
        "<link>https://bench.example.com/</link><description>generated</description>",
    ]
    for i, (guid, title, desc) in enumerate(items):
        when = format_datetime(start + timedelta(minutes=i))
        out.append(
            f"<item><guid isPermaLink='false'>{escape(guid)}</guid><title>{escape(title)}</title>"
            f"<link>https://bench.example.com/p/{escape(guid)}</link>"
            f"<description>{escape(desc)}</description><pubDate>{when}</pubDate></item>"
        )
    out.append("</channel></rss>")
    return "\n".join(out).encode("utf-8")


def feed_bodies(
    n_posts: int, *, per_feed: int = 50, seed: int = 7, id_prefix: str = "g"
) -> Iterator[bytes]:
    """RSS bodies carrying ``n_posts`` generated posts, ``per_feed`` items each; item ids are
    ``id_prefix`` + position, so distinct prefixes give distinct mentions."""
    posts = generate_posts(n_posts, seed=seed)
    for start in range(0, n_posts, per_feed):
        chunk = posts[start : start + per_feed]
        items = [
            (f"{id_prefix}{start + i}", text[:80], f"<p>{escape(text)}</p>")
            for i, text in enumerate(chunk)
        ]
        yield rss_feed(items)


def adversarial_texts(*, seed: int = 3, max_bytes: int = 100_000) -> list[str]:
    """Inputs that make naive scorers slow: long mixed texts with no sentence breaks."""
    rng = random.Random(seed)
    pieces = ["GREAT", "terrible", "not bad", "😡", "❤️", "!!!", "very", "but", "lol", ":)", "🙏🏽"]
    texts = []
    for size in (1_000, 10_000, 50_000, 76_000, max_bytes):
        buf: list[str] = []
        length = 0
        while length < size:
            word = rng.choice(pieces)
            buf.append(word)
            length += len(word.encode("utf-8")) + 1
        texts.append(" ".join(buf))
    texts.append("😡" * (max_bytes // 4))
    texts.append("no " * (max_bytes // 3))
    texts.append(("a" * 999 + " ") * (max_bytes // 1000))
    return texts
