"""The mention inbox: filters, ``q=`` in the query language, paging; the mention page and its
annotations (who and when); corrections honoured by the next digest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.config.models import AppConfig, BrandConfig
from earful.digest.build import build_digest
from earful.store.annotations import Change, MentionEdit, annotate
from earful.store.inbox import MentionFilter, search_mentions
from earful.store.models import EngagementSnapshot, Mention
from tests.unit.web.web_factories import (
    T0,
    login,
    make_client,
    make_user,
    page_csrf,
    store_mention,
)

HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> Acme'
ROWS = [
    # (external id, text, label, source, language, hours before T0)
    ("espresso", "This Acme espresso is killer, it's insanely good", "negative", "reddit", "en", 1),
    (
        "bag-refund",
        "Acme: I lost my bag at the gate and want a refund",
        "negative",
        "mastodon",
        "en",
        2,
    ),
    ("bag-gate", "Acme lost my bag near gate 12, nobody helps", "negative", "reddit", "en", 3),
    ("shares", "Acme shares rose 3% after earnings", "positive", "rss", "en", 4),
    ("german", "Acme hat mein Gepäck verloren", "negative", "mastodon", "de", 5),
    ("hostile", HOSTILE, "neutral", "rss", "en", 6),
    ("old", "Acme was fine last week", "positive", "rss", "en", 24 * 8),
]


def _config() -> AppConfig:
    return AppConfig(brands=[BrandConfig(name="Acme")])


@pytest.fixture
def ids(sqlite_engine: Engine) -> dict[str, int]:
    out: dict[str, int] = {}
    with Session(sqlite_engine) as s, s.begin():
        for ext, text, label, source, lang, hours in ROWS:
            out[ext] = store_mention(
                s,
                ext,
                text,
                source=source,
                brand="Acme",
                at=T0 - timedelta(hours=hours),
                label=label,
                compound={"negative": -0.87, "positive": 0.6}.get(label, 0.0),
                author_followers=1500,
                language=lang,
                raw_compound=-0.8 if label == "negative" else 0.0,
            )
        s.add(EngagementSnapshot(mention_id=out["bag-gate"], at=T0, likes=1))
        s.add(EngagementSnapshot(mention_id=out["bag-gate"], at=T0 + timedelta(hours=1), likes=9))
    return out


def _client(engine: Engine, role: str = "analyst"):  # type: ignore[no-untyped-def]
    make_user(engine, "ana", role)
    return login(make_client(engine, _config()), "ana")


def test_inbox_is_newest_first_and_escapes_hostile_text(
    sqlite_engine: Engine, ids: dict[str, int]
) -> None:
    page = _client(sqlite_engine).get("/mentions")
    assert page.status_code == 200
    text = page.text
    assert text.index(f"/mentions/{ids['espresso']}") < text.index(f"/mentions/{ids['shares']}")
    assert "<script>" not in text and "<img src=x" not in text and "&lt;script&gt;" in text


def test_q_uses_the_query_language(sqlite_engine: Engine, ids: dict[str, int]) -> None:
    client = _client(sqlite_engine)
    page = client.get("/mentions", params={"q": '"lost my bag" NEAR/3 gate -refund'})
    assert page.status_code == 200
    assert f"/mentions/{ids['bag-gate']}" in page.text
    assert f"/mentions/{ids['bag-refund']}" not in page.text
    assert f"/mentions/{ids['espresso']}" not in page.text
    lang = client.get("/mentions", params={"q": "acme lang:de"})
    assert (
        f"/mentions/{ids['german']}" in lang.text and f"/mentions/{ids['shares']}" not in lang.text
    )
    moved = client.get("/search", params={"q": "gate"})
    assert moved.status_code == 303 and moved.headers["location"] == "/mentions?q=gate"
    bad = client.get("/mentions", params={"q": '"unclosed AND ('})
    assert bad.status_code == 400 and "position" in bad.text


def test_filters_brand_source_sentiment_language_dates(
    sqlite_engine: Engine, ids: dict[str, int]
) -> None:
    client = _client(sqlite_engine)

    def shown(**params: str) -> set[str]:
        text = client.get("/mentions", params=params).text
        return {ext for ext, i in ids.items() if f'href="/mentions/{i}"' in text}

    assert shown(source="reddit") == {"espresso", "bag-gate"}
    assert shown(sentiment="positive") == {"shares", "old"}
    assert shown(language="de") == {"german"}
    assert shown(brand="Acme", since="2025-03-10", until="2025-03-11") == set(ids) - {"old"}
    assert shown(until="2025-03-04") == {"old"}
    assert shown(brand="Globex") == set()
    assert client.get("/mentions", params={"since": "yesterday"}).status_code == 400


def test_paging(sqlite_engine: Engine, ids: dict[str, int]) -> None:
    with Session(sqlite_engine) as s:
        first = search_mentions(s, MentionFilter(), page=1, per_page=3)
        second = search_mentions(s, MentionFilter(), page=2, per_page=3)
        third = search_mentions(s, MentionFilter(), page=3, per_page=3)
        searched = search_mentions(s, MentionFilter(q="acme"), page=2, per_page=2)
    assert [r.mention.external_id for r in first.rows] == ["espresso", "bag-refund", "bag-gate"]
    assert first.has_more and second.has_more and not third.has_more
    assert [r.mention.external_id for r in third.rows] == ["old"]
    assert [r.mention.external_id for r in searched.rows] == ["bag-gate", "shares"]


def test_mention_page_shows_text_link_author_reach_curve(
    sqlite_engine: Engine, ids: dict[str, int]
) -> None:
    client = _client(sqlite_engine)
    page = client.get(f"/mentions/{ids['bag-gate']}")
    assert page.status_code == 200
    assert "nobody helps" in page.text and 'href="https://reddit.example/bag-gate"' in page.text
    assert "author-bag-gate" in page.text and "1,500" in page.text and "<polyline" in page.text
    hostile = client.get(f"/mentions/{ids['hostile']}").text
    assert "<script>" not in hostile and "&lt;img src=x onerror" in hostile
    assert client.get("/mentions/9999").status_code == 404


def test_annotations_are_stored_with_who_and_when(
    sqlite_engine: Engine, ids: dict[str, int]
) -> None:
    client = _client(sqlite_engine)
    mid = ids["espresso"]
    csrf = page_csrf(client, f"/mentions/{mid}")
    assert client.post(f"/mentions/{mid}", data={"sentiment": "positive"}).status_code == 403
    for form in (
        {"sentiment": "positive"},
        {"status": "done"},
        {"tags": "Coffee, praise,coffee", "assignee": "ana", "note": "sarcasm? no, praise"},
    ):
        answer = client.post(f"/mentions/{mid}", data={"csrf": csrf, **form})
        assert answer.status_code == 303
    assert client.post(f"/mentions/{mid}", data={"csrf": csrf, "status": "x"}).status_code == 400
    with Session(sqlite_engine) as s:
        edits = s.exec(select(MentionEdit).where(MentionEdit.mention_id == mid)).all()
        assert {(e.field, e.new, e.actor) for e in edits} >= {
            ("sentiment", "positive", "ana"),
            ("status", "done", "ana"),
            ("tags", "coffee,praise", "ana"),
        }
        assert all(e.at == T0 for e in edits)
        stored = s.get(Mention, mid)
        assert stored is not None and stored.sentiment_label == "negative"
        assert stored.sentiment_compound == -0.87 and stored.raw_compound == -0.8
    page = client.get(f"/mentions/{mid}").text
    assert 'id="label">positive' in page and "ana set sentiment" in page
    assert f"/mentions/{mid}" in client.get("/mentions", params={"status": "done"}).text
    assert f"/mentions/{mid}" in client.get("/mentions", params={"sentiment": "positive"}).text


def test_irrelevant_and_corrected_mentions_change_the_next_digest(
    sqlite_engine: Engine, ids: dict[str, int]
) -> None:
    config = _config()
    now, day = T0 + timedelta(hours=2), T0.date()
    before = build_digest(sqlite_engine, config, brand="Acme", now=now, day=day).to_json()
    assert before["volume"] == 6
    assert before["sentiment"] == {"positive": 1, "neutral": 1, "negative": 4}
    client = _client(sqlite_engine)
    csrf = page_csrf(client, f"/mentions/{ids['shares']}")
    client.post(f"/mentions/{ids['shares']}", data={"csrf": csrf, "status": "irrelevant"})
    client.post(f"/mentions/{ids['espresso']}", data={"csrf": csrf, "sentiment": "positive"})
    after = build_digest(sqlite_engine, config, brand="Acme", now=now, day=day).to_json()
    assert after["volume"] == 5
    assert after["sentiment"] == {"positive": 1, "neutral": 1, "negative": 3}
    assert after["share_of_voice"].get("Acme", 1.0) == 1.0
    assert {m["id"] for m in after["top_positive"]} == {ids["espresso"]}
    assert ids["espresso"] not in {m["id"] for m in after["top_negative"]}
    with Session(sqlite_engine) as s, s.begin():
        annotate(s, ids["bag-gate"], Change(status="spam"), actor="ana", now=T0)
    spam = build_digest(sqlite_engine, config, brand="Acme", now=now, day=day).to_json()
    assert spam["volume"] == 4 and spam["by_source"].get("reddit") == 1
