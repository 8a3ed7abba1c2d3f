"""``/api/mentions``: keyset pages list every mention once (even while rows arrive), ``q=`` and
the filters select what the inbox would, PATCH makes the inbox's edits and the digest follows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.config.models import AppConfig, BrandConfig
from earful.digest.build import build_digest
from earful.store.annotations import MentionEdit
from earful.store.models import Mention
from tests.unit.web.api_factories import bearer, cli_token, store_mentions, token_for
from tests.unit.web.web_factories import T0, login, make_client

CONTRACT_KEYS = {
    "id", "source", "external_id", "url", "title", "text", "author", "published_at", "brands",
    "sentiment", "status", "tags", "assignee",
}  # fmt: skip


def walk(client: Any, headers: dict[str, str], **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of ``/api/mentions`` following ``next``."""
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        answer = client.get("/api/mentions", params=query, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages.append(body["items"])
        cursor = body["next"]
        if cursor is None:
            return pages
        assert len(pages) < 200, "paging does not end"


def ids_of(pages: list[list[dict[str, Any]]]) -> list[int]:
    return [m["id"] for page in pages for m in page]


def _feed_order(item: dict[str, Any]) -> tuple[bool, str, int]:
    published = item["published_at"]
    return (published is not None, published or "", item["id"])


def test_a_cli_token_lists_every_mention_exactly_once(
    sqlite_url: str, sqlite_engine: Engine
) -> None:
    stored = store_mentions(sqlite_engine, 1234)
    token = cli_token(sqlite_url, sqlite_engine, "bot", "analyst")
    client = make_client(sqlite_engine)
    pages = walk(client, bearer(token), limit=100)
    assert [len(p) for p in pages] == [100] * 12 + [34]
    seen = ids_of(pages)
    assert len(seen) == len(set(seen)) == 1234
    assert set(seen) == set(stored.values())
    items = [m for page in pages for m in page]
    assert items == sorted(items, key=_feed_order, reverse=True)  # newest first, nulls last
    assert items[-1]["published_at"] is None
    assert set(items[0]) >= CONTRACT_KEYS
    assert set(items[0]["sentiment"]) == {"label", "compound", "raw_compound", "corrected"}
    assert items[0]["published_at"] == "2025-03-11T14:00:00Z"
    assert (items[0]["external_id"], items[0]["brands"]) == ("m3", ["Globex"])  # ties: id desc
    default = client.get("/api/mentions", headers=bearer(token)).json()
    assert len(default["items"]) == 100 and default["next"]


def test_rows_inserted_while_paging_cause_no_duplicate_and_no_gap(sqlite_engine: Engine) -> None:
    stored = store_mentions(sqlite_engine, 300)
    headers = bearer(token_for(sqlite_engine, "bot", "analyst"))
    client = make_client(sqlite_engine)
    first = client.get("/api/mentions", params={"limit": 100}, headers=headers).json()
    last_seen = datetime.fromisoformat(first["items"][-1]["published_at"])
    # New rows: newer than everything, tied with the page's last row (higher ids), older.
    with Session(sqlite_engine) as s, s.begin():
        for n, when in enumerate([T0 + timedelta(hours=1), last_seen, last_seen, T0]):
            s.add(Mention(source="rss", external_id=f"new{n}", published_at=when, fetched_at=T0))
    store_mentions(sqlite_engine, 40, start=2000)
    seen = [m["id"] for m in first["items"]] + ids_of(
        walk(client, headers, limit=100, cursor=first["next"])
    )
    assert len(seen) == len(set(seen))
    assert set(stored.values()) <= set(seen)


def test_q_filters_with_the_query_language(sqlite_engine: Engine) -> None:
    stored = store_mentions(sqlite_engine, 600)
    headers = bearer(token_for(sqlite_engine, "bot", "analyst"))
    client = make_client(sqlite_engine)
    bags = walk(client, headers, q='"lost my bag" -refund', limit=100)
    assert set(ids_of(bags)) == {stored[i] for i in stored if i % 3 == 0 and i % 5 != 0}
    assert len(ids_of(bags)) == len(set(ids_of(bags)))
    near = walk(client, headers, q="bag NEAR/3 gate", brand="Acme", limit=50)
    assert set(ids_of(near)) == {stored[i] for i in stored if i % 6 == 0}
    refunds = walk(client, headers, q="refund OR refunds", source="reddit", limit=100)
    assert set(ids_of(refunds)) == {stored[i] for i in stored if i % 5 == 0 and i % 3 == 1}


def test_filters_select_like_the_inbox(sqlite_engine: Engine) -> None:
    stored = store_mentions(sqlite_engine, 200)
    headers = bearer(token_for(sqlite_engine, "bot", "analyst"))
    client = make_client(sqlite_engine)

    def found(**params: Any) -> set[int]:
        return set(ids_of(walk(client, headers, limit=500, **params)))

    assert found(sentiment="positive") == {stored[i] for i in stored if i % 3 == 2}
    assert found(brand="Globex", source="rss") == {stored[i] for i in stored if i % 6 == 3}
    since = (T0 - timedelta(minutes=10)).isoformat()
    assert found(since=since) == {stored[i] for i in stored if i < 44 and i % 50 != 49}
    assert found(until="2025-03-10") == set()
    assert len(found(since="2025-03-11", until="2025-03-11")) == 196  # four have no date
    assert found(status="new") == set(stored.values())
    assert found(status="done") == set()


def test_patch_makes_the_inbox_edits_and_the_digest_follows(sqlite_engine: Engine) -> None:
    stored = store_mentions(sqlite_engine, 30)
    config = AppConfig(brands=[BrandConfig(name="Acme")])
    headers = bearer(token_for(sqlite_engine, "ana", "analyst"))
    client = make_client(sqlite_engine, config)
    now, day = T0 + timedelta(hours=2), T0.date()

    def digest() -> dict[str, Any]:
        return build_digest(sqlite_engine, config, brand="Acme", now=now, day=day).to_json()

    before = digest()
    assert before["volume"] == 15  # the even numbers
    assert before["sentiment"] == {"negative": 5, "neutral": 5, "positive": 5}
    noise = client.patch(
        f"/api/mentions/{stored[4]}",  # neutral
        json={"status": "irrelevant", "tags": ["Noise", "bot"], "note": "a bot"},
        headers=headers,
    )
    assert noise.status_code == 200, noise.text
    body = noise.json()
    assert (body["status"], body["tags"], body["note"]) == ("irrelevant", ["noise", "bot"], "a bot")
    middle = digest()
    assert middle["volume"] == before["volume"] - 1
    assert middle["sentiment"] == {"negative": 5, "neutral": 4, "positive": 5}

    fixed = client.patch(
        f"/api/mentions/{stored[0]}", json={"sentiment": "positive"}, headers=headers
    )
    assert fixed.json()["sentiment"]["label"] == "positive"
    assert fixed.json()["sentiment"]["corrected"] is True
    after = digest()
    assert after["volume"] == middle["volume"]
    assert after["sentiment"] == {"negative": 4, "neutral": 4, "positive": 6}

    shown = client.get(f"/api/mentions/{stored[4]}", headers=headers).json()
    assert shown["status"] == "irrelevant" and shown["tags"] == ["noise", "bot"]
    only = ids_of(walk(client, headers, status="irrelevant"))
    assert only == [stored[4]] == ids_of(walk(client, headers, tag="noise"))
    assert ids_of(walk(client, headers, sentiment="positive", brand="Acme")).count(stored[0]) == 1
    with Session(sqlite_engine) as s:
        edits = s.exec(select(MentionEdit).where(MentionEdit.mention_id == stored[4])).all()
        assert {e.field for e in edits} == {"status", "tags", "note"}
        assert {e.actor for e in edits} == {"ana"}

    undo = client.patch(
        f"/api/mentions/{stored[0]}", json={"sentiment": None, "assignee": "lea"}, headers=headers
    ).json()
    assert undo["sentiment"] == {**undo["sentiment"], "label": "negative", "corrected": False}
    assert undo["assignee"] == "lea"
    assert digest()["sentiment"]["negative"] == 5


def test_patch_rejects_bad_edits_as_json(sqlite_engine: Engine) -> None:
    stored = store_mentions(sqlite_engine, 3)
    headers = bearer(token_for(sqlite_engine, "ana", "analyst"))
    client = make_client(sqlite_engine)
    for body in ({"sentiment": "great"}, {"status": "archived"}, {"colour": "red"}):
        answer = client.patch(f"/api/mentions/{stored[0]}", json=body, headers=headers)
        assert answer.status_code == 422, body
        assert answer.json()["error"]["code"] == "validation"
    missing = client.patch("/api/mentions/999999", json={"status": "done"}, headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert client.get("/api/mentions/999999", headers=headers).status_code == 404
    assert client.get(f"/api/mentions/{stored[0]}", headers=headers).json()["status"] == "new"


def test_session_writes_need_the_csrf_header(sqlite_engine: Engine) -> None:
    stored = store_mentions(sqlite_engine, 2)
    token = token_for(sqlite_engine, "ana", "analyst")
    client = login(make_client(sqlite_engine), "ana")
    url = f"/api/mentions/{stored[0]}"
    assert client.get(url).status_code == 200  # reading needs no token
    refused = client.patch(url, json={"status": "done"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf"
    me = client.get("/api/me").json()
    assert me["name"] == "ana" and me["role"] == "analyst" and me["csrf_token"]
    ok = client.patch(url, json={"status": "done"}, headers={"X-CSRF-Token": me["csrf_token"]})
    assert ok.status_code == 200 and ok.json()["status"] == "done"
    # A bearer token needs no CSRF header (and its /api/me has no CSRF token).
    client.cookies.clear()
    assert client.patch(url, json={"status": "spam"}, headers=bearer(token)).status_code == 200
    assert client.get("/api/me", headers=bearer(token)).json()["csrf_token"] is None


def test_bad_parameters_are_422_json(sqlite_engine: Engine) -> None:
    store_mentions(sqlite_engine, 3)
    headers = bearer(token_for(sqlite_engine, "bot", "analyst"))
    client = make_client(sqlite_engine)
    for params, code in (
        ({"limit": 501}, "validation"),
        ({"limit": 0}, "validation"),
        ({"cursor": "not-a-cursor"}, "validation"),
        ({"since": "yesterday"}, "validation"),
        ({"sentiment": "angry"}, "validation"),
        ({"q": '"open'}, "bad_query"),
    ):
        answer = client.get("/api/mentions", params=params, headers=headers)
        assert answer.status_code == 422, params
        assert answer.json()["error"]["code"] == code, params
        assert answer.json()["error"]["message"]
    assert "limit" in client.get("/api/mentions?limit=501", headers=headers).text
    assert client.get("/api/mentions", params={"limit": 500}, headers=headers).status_code == 200
