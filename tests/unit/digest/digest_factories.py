"""Seeding helpers for digest tests: a month of varied mentions for the brand "Acme".

Digest day ``DAY`` = Saturday 2026-11-21 (UTC brand). What is in the database:

* background, every day from DAY-34 to DAY-1: 2 neutral + 1 positive mention (volume 3/day);
* a recurring theme ("lost luggage" at "baggage claim"): DAY-28, -21, -14, -7, -3 and DAY,
  six distinct authors, five distinct ISO weeks -> chronic;
* a one-off spike: 12 "app outage" complaints from 12 authors on DAY-10 -> not chronic;
* DAY itself: 4 negative (the theme, a script/HTML injection with risk 0.9, a driver-rich
  complaint with risk 0.5, a rude/billing complaint without risk), 3 positive, 2 neutral = 9;
* competitor Globex: 3 mentions on DAY;
* sources: acme-rss ok, acme-mastodon failing, acme-hn silent, acme-github never polled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.config.models import AppConfig, BrandConfig, SourceConfig
from earful.store.models import Mention, MentionBrand, SourceState

DAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 22, 7, 30, tzinfo=UTC)
INJECTION = (
    "<script>document.title='PWNED';window.__pwned=1;</script>"
    '<img src="https://evil.example/x.png" onerror="window.__pwned=2">'
    "Acme is terrible</textarea><b>bold</b>"
)
INJECTION_AUTHOR = '<a href="javascript:alert(1)">evil</a>'

LUGGAGE = [
    "Acme lost my luggage again, baggage claim had no record of the bag",
    "Lost luggage at baggage claim for the second trip in a row with Acme",
    "Third week, same story: Acme lost luggage and the baggage claim desk shrugged",
    "My lost luggage still has not shown up, Acme baggage claim is a joke",
    "Acme baggage claim lost luggage from my whole family, terrible",
    "Acme lost luggage again, stood at baggage claim and waited two hours",
]
OUTAGE = [
    "The Acme app outage locked me out at login",
    "App outage again? Cannot login to Acme at all",
    "Acme app outage, login page spinning forever",
    "Is the Acme app outage fixed yet? login fails",
    "Login broken during the Acme app outage",
    "Acme app outage ruined my login this morning",
    "App outage: Acme login will not load",
    "Acme login dead, app outage for hours",
    "Another Acme app outage, login impossible",
    "Acme app outage means no login for me",
    "Hate this Acme app outage, login keeps failing",
    "App outage at Acme, login error every time",
]


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@dataclass
class Seeder:
    session: Session
    counter: int = 0

    def add(
        self,
        brand: str,
        text: str,
        published_at: datetime,
        *,
        label: str = "neutral",
        compound: float | None = None,
        source: str = "rss",
        author: str | None = None,
        risk: float | None = None,
        followers: int | None = None,
        url: str | None = None,
        title: str | None = None,
        competitor: bool = False,
    ) -> int:
        self.counter += 1
        if compound is None:
            compound = {"positive": 0.6, "negative": -0.6}.get(label, 0.0)
        m = Mention(
            source=source,
            external_id=f"x{self.counter}",
            source_name=f"acme-{source}",
            url=url if url is not None else f"https://example.com/post/{self.counter}",
            title=title,
            text=text,
            author=author if author is not None else f"user{self.counter}",
            author_followers=followers,
            sentiment_compound=compound,
            raw_compound=compound,
            sentiment_label=label,
            risk=risk,
            published_at=published_at,
            fetched_at=published_at + timedelta(minutes=5),
        )
        self.session.add(m)
        self.session.flush()
        assert m.id is not None
        self.session.add(
            MentionBrand(
                mention_id=m.id, brand=brand, published_at=published_at, is_competitor=competitor
            )
        )
        return m.id


def digest_config(**digest: object) -> AppConfig:
    return AppConfig.model_validate(
        {
            "brands": [
                {"name": "Acme", "competitors": ["Globex"], "timezone": "UTC"},
                {"name": "Globex", "track": False},
            ],
            "sources": [
                {"name": "acme-rss", "kind": "rss", "url": "https://example.com/feed"},
                {"name": "acme-mastodon", "kind": "mastodon", "url": "https://m.example"},
                {"name": "acme-hn", "kind": "hackernews"},
                {"name": "acme-github", "kind": "github"},
                {
                    "name": "globex-only",
                    "kind": "rss",
                    "url": "https://g.example/f",
                    "brands": ["Globex"],
                },
            ],
            "digest": digest,
        }
    )


def bare_config() -> AppConfig:
    return AppConfig(
        brands=[BrandConfig(name="Acme")],
        sources=[SourceConfig(name="s", kind="rss", url="https://example.com/f")],
    )


def seed_month(engine: Engine) -> None:
    """The month described in the module docstring."""
    with Session(engine) as session, session.begin():
        s = Seeder(session)
        for back in range(1, 35):
            d = DAY - timedelta(days=back)
            s.add("Acme", f"Read an article mentioning Acme on day {back}", at(d, 9))
            s.add(
                "Acme", f"Acme quarterly numbers out, item {back}", at(d, 15), source="hackernews"
            )
            s.add("Acme", f"Great flight with Acme, crew number {back} was lovely", at(d, 18),
                  label="positive", source="mastodon")  # fmt: skip
        for i, back in enumerate([28, 21, 14, 7, 3, 0]):
            s.add("Acme", LUGGAGE[i], at(DAY - timedelta(days=back), 10), label="negative",
                  author=f"traveller{i}", compound=-0.5)  # fmt: skip
        for i, text in enumerate(OUTAGE):
            s.add("Acme", text, at(DAY - timedelta(days=10), 8, i), label="negative",
                  author=f"appuser{i}", source="mastodon", compound=-0.4)  # fmt: skip
        s.add("Acme", INJECTION, at(DAY, 11), label="negative", compound=-0.7, risk=0.9,
              author=INJECTION_AUTHOR, url="javascript:alert(1)", followers=50,
              title="<script>window.__pwned=3</script>Review")  # fmt: skip
        s.add("Acme",
              "Waited on hold for two hours, then transferred to another department. They "
              "promised a refund; sorry for the inconvenience, but nothing they can do.",
              at(DAY, 13), label="negative", compound=-0.6, risk=0.5, author="angry_annie",
              followers=12000, source="mastodon")  # fmt: skip
        s.add("Acme", "The rude agent hung up on me and I was charged twice", at(DAY, 14),
              label="negative", compound=-0.8, author="bob", source="hackernews")  # fmt: skip
        for i, comp in enumerate([0.9, 0.8, 0.7]):
            s.add("Acme", f"Shout-out to the Acme crew, wonderful service {i}", at(DAY, 16 + i),
                  label="positive", compound=comp, followers=100 * (i + 1),
                  author=f"fan{i}", source="mastodon")  # fmt: skip
        s.add("Acme", "Acme schedule changes for winter", at(DAY, 9))
        s.add("Acme", "Acme opens a new route", at(DAY, 20), source="hackernews")
        for i in range(3):
            s.add("Globex", f"Globex news {i}", at(DAY, 12 + i), competitor=True)
        evening = at(DAY, 23)
        session.add(SourceState(name="acme-rss", kind="rss", last_polled_at=evening,
                                last_ok_at=evening, last_nonempty_at=evening))  # fmt: skip
        session.add(SourceState(name="acme-mastodon", kind="mastodon", last_polled_at=evening,
                                last_ok_at=at(DAY - timedelta(days=1), 6), last_error_at=evening,
                                last_error="HTTP 503 from https://m.example\x1b[31m",
                                last_error_reason="transient", consecutive_failures=4))  # fmt: skip
        session.add(SourceState(name="acme-hn", kind="hackernews", last_polled_at=evening,
                                last_ok_at=evening,
                                last_nonempty_at=at(DAY - timedelta(days=5))))  # fmt: skip
