"""Test factories for the REST API: a token from ``earful tokens create``, many mentions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from earful.cli import app
from earful.store.models import Mention, MentionBrand
from earful.store.users import create_token
from tests.unit.web.web_factories import T0, make_user

SOURCES = ("rss", "reddit", "mastodon")
LABELS = ("negative", "neutral", "positive")


def cli_token(db_url: str, engine: Engine, name: str, role: str) -> str:
    """A user ``name`` with ``role`` and a token made by ``earful tokens create``."""
    make_user(engine, name, role)
    result = CliRunner().invoke(app, ["--db", db_url, "tokens", "create", name, "--name", "t"])
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def token_for(engine: Engine, name: str, role: str) -> str:
    """A user ``name`` with ``role`` and a token (the store function the CLI calls)."""
    make_user(engine, name, role)
    with Session(engine) as s, s.begin():
        return create_token(s, name=name, label="test", now=T0)[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def text_of(i: int) -> str:
    """Every 3rd mention lost a bag, every 5th wants a refund (for ``q=``)."""
    parts = [f"Acme post {i}"]
    if i % 3 == 0:
        parts.append("they lost my bag at the gate")
    if i % 5 == 0:
        parts.append("I want a refund")
    return ", ".join(parts)


def store_mentions(engine: Engine, n: int, *, start: int = 0) -> dict[int, int]:
    """``n`` mentions (external ids ``start``..): four share each ``published_at``, every 50th
    has none; brand Acme for even numbers, Globex for odd. Returns number -> id."""
    mentions = {}
    with Session(engine) as s, s.begin():
        for i in range(start, start + n):
            when = None if i % 50 == 49 else T0 - timedelta(minutes=i // 4)
            mentions[i] = Mention(
                source=SOURCES[i % 3],
                external_id=f"m{i}",
                text=text_of(i),
                url=f"https://example.com/{i}",
                author=f"a{i}",
                sentiment_label=LABELS[i % 3],
                sentiment_compound=(i % 3 - 1) * 0.5,
                raw_compound=(i % 3 - 1) * 0.4,
                published_at=when,
                fetched_at=T0,
            )
        s.add_all(mentions.values())
        s.flush()
        for i, m in mentions.items():
            assert m.id is not None
            brand = "Acme" if i % 2 == 0 else "Globex"
            s.add(MentionBrand(mention_id=m.id, brand=brand, published_at=m.published_at or T0))
        return {i: m.id for i, m in mentions.items() if m.id is not None}
