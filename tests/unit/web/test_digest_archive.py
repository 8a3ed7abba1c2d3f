"""The digest archive lists days with data (competitors and data-only brands included), with
links to the inbox on that day; digest pages navigate to the previous / next day with data."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.config.models import AppConfig, BrandConfig
from earful.store.annotations import Change, annotate
from earful.store.models import Mention, MentionBrand
from tests.unit.web.web_factories import T0, login, make_client, make_user


def _seed(engine: Engine) -> dict[str, int]:
    ids = {}
    with Session(engine) as s, s.begin():
        for ext, brand, days_ago in [
            ("a1", "Acme", 0),
            ("a2", "Acme", 3),
            ("a3", "Acme", 3),
            ("g1", "Globex", 1),
            ("x1", "Initech", 2),
            ("a4", "Acme", 5),
        ]:
            when = T0 - timedelta(days=days_ago)
            m = Mention(
                source="rss",
                external_id=ext,
                text=f"{brand} post",
                published_at=when,
                fetched_at=when,
            )
            s.add(m)
            s.flush()
            assert m.id is not None
            s.add(MentionBrand(mention_id=m.id, brand=brand, published_at=when))
            ids[ext] = m.id
    return ids


def _config() -> AppConfig:
    return AppConfig(
        brands=[
            BrandConfig(name="Acme", competitors=["Globex"]),
            BrandConfig(name="Globex", track=False),
        ]
    )


def test_archive_lists_days_with_data_and_links_the_inbox(sqlite_engine: Engine) -> None:
    ids = _seed(sqlite_engine)
    with Session(sqlite_engine) as s, s.begin():  # a day whose only mention is spam has no data
        annotate(s, ids["a4"], Change(status="spam"), actor="t", now=T0)
    make_user(sqlite_engine, "ana", "analyst")
    client = login(make_client(sqlite_engine, _config()), "ana")
    page = client.get("/digests")
    assert page.status_code == 200
    text = page.text
    assert 'href="/digests/Acme/2025-03-11"' in text and 'href="/digests/Acme/2025-03-08"' in text
    assert 'href="/digests/Acme/2025-03-10"' not in text  # no Acme mention that day
    assert 'href="/digests/Acme/2025-03-06"' not in text  # only spam
    assert 'href="/digests/Globex/2025-03-10"' in text and "competitor" in text
    assert 'href="/digests/Initech/2025-03-09"' in text  # seen only in stored data
    assert "/mentions?brand=Acme&amp;since=2025-03-08&amp;until=2025-03-08" in text
    inbox = client.get(
        "/mentions", params={"brand": "Acme", "since": "2025-03-08", "until": "2025-03-08"}
    )
    assert f"/mentions/{ids['a2']}" in inbox.text and f"/mentions/{ids['a1']}" not in inbox.text


def test_digest_page_navigates_between_days_with_data(sqlite_engine: Engine) -> None:
    _seed(sqlite_engine)
    make_user(sqlite_engine, "ana", "analyst")
    client = login(make_client(sqlite_engine, _config()), "ana")
    middle = client.get("/digests/Acme/2025-03-08").text
    assert 'href="/digests/Acme/2025-03-06"' in middle and 'rel="prev"' in middle
    assert 'href="/digests/Acme/2025-03-11"' in middle and 'rel="next"' in middle
    assert "/mentions?brand=Acme&amp;since=2025-03-08&amp;until=2025-03-08" in middle
    newest = client.get("/digests/Acme/2025-03-11").text
    assert 'rel="next"' not in newest and 'href="/digests/Acme/2025-03-08"' in newest
