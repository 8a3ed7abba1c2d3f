"""Backfill paging of every kind that can search the past: the pure next-cursor functions on
recorded bodies (../shared/fixtures/real) and the API's shapes, and one ``backfill_page`` per
kind over respx (the request it sends for a cursor, the cursor it returns)."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import respx

from earful.config.models import SourceConfig
from earful.mention import RawMention
from earful.sources import (
    BACKFILL_KINDS,
    KINDS,
    bluesky,
    connector_for,
    github,
    lemmy,
    mastodon,
    youtube,
)
from earful.sources import hackernews as hn
from earful.sources import stackexchange as se
from earful.sources.base import BackfillWindow
from earful.sources.http import HttpClient
from tests.conftest import fixture_bytes
from tests.unit.sources.test_github import issue, search_body
from tests.unit.sources.test_lemmy import post_view, search

SINCE = datetime(2016, 12, 1, tzinfo=UTC)
WINDOW = BackfillWindow(since=SINCE, until=datetime(2017, 1, 1, tzinfo=UTC))


def test_backfill_kinds_are_exactly_the_connectors_with_backfill_page() -> None:
    able = {k for k in KINDS if hasattr(connector_for(k), "backfill_page")}
    assert set(BACKFILL_KINDS) == able
    assert not hasattr(importlib.import_module("earful.sources.feed.connector"), "backfill_page")


def test_window_holds_since_inclusive_until_exclusive() -> None:
    assert WINDOW.holds(SINCE) and WINDOW.holds(None)
    assert not WINDOW.holds(SINCE - timedelta(seconds=1))
    assert not WINDOW.holds(WINDOW.until)
    assert BackfillWindow(since=SINCE).holds(datetime(2030, 1, 1, tzinfo=UTC))


# ------------------------------------------------------------------ Hacker News


def hn_body() -> dict[str, Any]:
    return json.loads(fixture_bytes("hn_algolia", "search_story_theoretical_biologist.json"))


def test_hn_recorded_single_page_is_the_last() -> None:
    # nbHits 1, nbPages 1: nothing after page 0.
    assert hn.backfill_next(hn_body(), {"page": 0}, per_page=2) is None


def test_hn_next_page_while_algolia_has_pages() -> None:
    body = hn_body() | {"nbHits": 50, "nbPages": 5}
    assert hn.backfill_next(body, {"page": 0}, per_page=10) == {"page": 1}
    assert hn.backfill_next(body, {"page": 3, "upper": 99}, per_page=10) == {
        "page": 4,
        "upper": 99,
    }
    assert hn.backfill_next(body | {"hits": []}, {"page": 0}, per_page=10) is None


def test_hn_slices_below_the_oldest_hit_past_the_thousand_hit_window() -> None:
    body = hn_body() | {"nbHits": 5000, "nbPages": 10}
    oldest = body["hits"][0]["created_at_i"]  # the recorded hit: 1481225947
    assert oldest == 1481225947
    # page 9 of 100 per page is the last inside Algolia's 1,000 hits
    assert hn.backfill_next(body, {"page": 9}, per_page=100) == {"page": 0, "upper": oldest + 1}
    # a slice that would not move down stops instead of looping
    assert hn.backfill_next(body, {"page": 9, "upper": oldest}, per_page=100) is None


def test_hn_backfill_page_asks_for_the_window_and_returns_the_cursor(client: HttpClient) -> None:
    body = hn_body() | {"nbHits": 3, "nbPages": 3}
    with respx.mock(assert_all_called=True) as router:
        route = router.get("https://hn.algolia.com/api/v1/search_by_date").respond(200, json=body)
        src = SourceConfig(name="hn", kind="hackernews", params={"query": "biologist"})
        page = hn.backfill_page(client, src, WINDOW, '{"page": 1}')
    q = route.calls[0].request.url.params
    assert q["page"] == "1" and q["query"] == "biologist"
    since, until = int(SINCE.timestamp()), int(WINDOW.until.timestamp())  # type: ignore[union-attr]
    assert q["numericFilters"] == f"created_at_i>={since},created_at_i<{until}"
    assert [m.external_id for m in page.mentions] == ["13133437"]
    assert json.loads(page.cursor or "") == {"page": 2, "upper": until}
    assert page.oldest == datetime(2016, 12, 8, 19, 39, 7, tzinfo=UTC) and page.requests == 1


# ------------------------------------------------------------------ Stack Exchange


def se_body() -> dict[str, Any]:
    return json.loads(fixture_bytes("stackexchange", "search_java_withbody_total.json"))


def test_se_recorded_has_more_means_a_next_page() -> None:
    assert se_body()["has_more"] is True
    assert se.backfill_next(se_body(), 1) == {"page": 2}
    assert se.backfill_next(se_body() | {"has_more": False}, 7) is None
    assert se.backfill_next(se_body() | {"items": []}, 7) is None


def test_se_backfill_page_sends_fromdate_todate_and_reports_backoff(client: HttpClient) -> None:
    body = se_body() | {"backoff": 10}
    with respx.mock(assert_all_called=True) as router:
        route = router.get("https://api.stackexchange.com/2.3/search/advanced").respond(
            200, json=body
        )
        src = SourceConfig(name="so", kind="stackexchange", params={"q": "java"})
        page = se.backfill_page(client, src, WINDOW, '{"page": 3}')
    q = route.calls[0].request.url.params
    assert q["page"] == "3" and q["sort"] == "creation" and q["order"] == "desc"
    assert q["fromdate"] == str(int(SINCE.timestamp()))
    assert q["todate"] == str(int(WINDOW.until.timestamp()) - 1)  # type: ignore[union-attr]
    assert json.loads(page.cursor or "") == {"page": 4}
    assert page.wait_s == 10 and page.quota_left == body["quota_remaining"]
    assert len(page.mentions) == 2


# ------------------------------------------------------------------ Mastodon


def test_mastodon_next_max_id_is_the_smallest_id_on_the_recorded_page() -> None:
    body = fixture_bytes("mastodon", "mastodonpy_test_hashtag_tl__timelines_tag_hoot.json")
    assert mastodon.backfill_next_max_id(body) == "117020593741189701"
    statuses = fixture_bytes(
        "mastodon", "mastodonpy_test_public_tl_anonymous__timelines_public.json"
    )
    ids = [s["id"] for s in json.loads(statuses)]
    assert mastodon.backfill_next_max_id(statuses) == min(ids, key=lambda i: (len(i), i))
    assert mastodon.backfill_next_max_id(b"[]") is None
    assert mastodon.backfill_next_max_id(b'{"statuses": []}') is None


def test_mastodon_snowflake_of_an_instant_orders_with_real_ids() -> None:
    body = json.loads(
        fixture_bytes("mastodon", "mastodonpy_test_hashtag_tl__timelines_tag_hoot.json")
    )
    status = body[0]
    created = datetime.fromisoformat(status["created_at"].replace("Z", "+00:00"))
    # A status's id is its creation millisecond << 16 (plus a sequence; the server's clock may
    # stamp created_at a millisecond off): a second before is below it, a second after above.
    ident = int(status["id"])
    assert int(mastodon.snowflake_at(created - timedelta(seconds=1))) < ident
    assert int(mastodon.snowflake_at(created + timedelta(seconds=1))) > ident
    assert abs((ident >> 16) - created.timestamp() * 1000) < 10


def test_mastodon_pages_with_max_id_then_moves_to_the_next_timeline(client: HttpClient) -> None:
    recorded = json.loads(
        fixture_bytes("mastodon", "mastodonpy_test_public_tl_anonymous__timelines_public.json")
    )
    src = SourceConfig(
        name="m",
        kind="mastodon",
        params={"instances": ["mastodon.social"], "hashtags": ["acme", "acmehelp"], "limit": 4},
    )
    old_window = BackfillWindow(since=datetime(2000, 1, 1, tzinfo=UTC))
    with respx.mock(assert_all_called=True) as router:
        acme = router.get("https://mastodon.social/api/v1/timelines/tag/acme")
        acme.side_effect = [
            httpx.Response(200, json=recorded[:4]),
            httpx.Response(200, json=recorded[4:6]),  # short: the timeline is done
        ]
        first = mastodon.backfill_page(client, src, old_window, None)
        second = mastodon.backfill_page(client, src, old_window, first.cursor)
    assert "max_id" not in acme.calls[0].request.url.params
    smallest = min((s["id"] for s in recorded[:4]), key=lambda i: (len(i), i))
    assert json.loads(first.cursor or "") == {"job": 0, "max_id": smallest}
    assert acme.calls[1].request.url.params["max_id"] == smallest
    assert json.loads(second.cursor or "") == {"job": 1}  # on to #acmehelp


def test_mastodon_until_becomes_max_id_and_an_old_page_ends_the_timeline(
    client: HttpClient,
) -> None:
    recorded = json.loads(
        fixture_bytes("mastodon", "mastodonpy_test_public_tl_anonymous__timelines_public.json")
    )
    src = SourceConfig(
        name="m", kind="mastodon", params={"instances": ["mastodon.social"], "hashtags": ["acme"]}
    )
    until = datetime(2030, 1, 1, tzinfo=UTC)
    window = BackfillWindow(since=datetime(2029, 1, 1, tzinfo=UTC), until=until)
    with respx.mock(assert_all_called=True) as router:
        route = router.get("https://mastodon.social/api/v1/timelines/tag/acme").respond(
            200,
            json=recorded * 5,  # a full page of 40, all older than since
        )
        page = mastodon.backfill_page(client, src, window, None)
    assert route.calls[0].request.url.params["max_id"] == mastodon.snowflake_at(until)
    assert page.cursor is None  # older than since: done (the only timeline)


# ------------------------------------------------------------------ GitHub


def _raw(when: datetime) -> list[RawMention]:
    return [RawMention(source="github", external_id="1", url=None, text="x", published_at=when)]


def test_github_next_page_and_slice_at_the_cap() -> None:
    full = json.loads(search_body([issue(n) for n in range(1, 101)], total=5000))
    assert github.backfill_next(full, 1, per_page=100, oldest=None) == {"page": 2}
    oldest = datetime(2025, 3, 4, 10, 11, 12, tzinfo=UTC)
    assert github.backfill_next(full, 10, per_page=100, oldest=oldest) == {
        "page": 1,
        "until": "2025-03-04T10:11:13Z",
    }
    short = json.loads(search_body([issue(1)], total=1))
    assert github.backfill_next(short, 1, per_page=100, oldest=oldest) is None


def test_github_backfill_page_uses_a_created_range(client: HttpClient) -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.get("https://api.github.com/search/issues").respond(
            200, content=search_body([issue(1), issue(2)], total=2)
        )
        src = SourceConfig(name="gh", kind="github", params={"query": "widget is:issue"})
        page = github.backfill_page(client, src, WINDOW, None)
    q = route.calls[0].request.url.params
    assert q["q"] == "widget is:issue created:2016-12-01T00:00:00Z..2016-12-31T23:59:59Z"
    assert q["sort"] == "created" and q["page"] == "1"
    assert page.cursor is None and len(page.mentions) == 2


# ------------------------------------------------------------------ Lemmy


def test_lemmy_next_page_until_short_or_older_than_since() -> None:
    young = datetime(2024, 5, 3, tzinfo=UTC)
    full = [RawMention(source="lemmy", external_id="1", url=None, text="x", published_at=young)] * 2
    assert lemmy.backfill_next(full, {"job": 0, "page": 1}, jobs=2, limit=2, since=SINCE) == {
        "job": 0,
        "page": 2,
    }
    # a short page ends the job: on to the next one, or done after the last
    short = full[:1]
    assert lemmy.backfill_next(short, {"job": 0, "page": 4}, jobs=2, limit=2, since=SINCE) == {
        "job": 1,
        "page": 1,
    }
    assert lemmy.backfill_next(short, {"job": 1, "page": 1}, jobs=2, limit=2, since=SINCE) is None
    old = _raw(SINCE - timedelta(days=1)) * 2
    assert lemmy.backfill_next(old, {"job": 1, "page": 1}, jobs=2, limit=2, since=SINCE) is None


def test_lemmy_backfill_page_reads_the_cursor_page_sorted_new(client: HttpClient) -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.get("https://lemmy.world/api/v3/search").respond(
            200, content=search(posts=[post_view(7, "2016-12-03T00:00:00Z")])
        )
        src = SourceConfig(
            name="l",
            kind="lemmy",
            params={"instances": ["lemmy.world"], "query": "acme", "types": ["Posts"], "limit": 1},
        )
        page = lemmy.backfill_page(client, src, WINDOW, '{"job": 0, "page": 3}')
    q = route.calls[0].request.url.params
    assert q["page"] == "3" and q["sort"] == "New" and q["type_"] == "Posts"
    assert json.loads(page.cursor or "") == {"job": 0, "page": 4}


# ------------------------------------------------------------------ YouTube


def test_youtube_backfill_page_searches_the_window_and_follows_the_page_token(
    client: HttpClient,
) -> None:
    api = "https://www.googleapis.com/youtube/v3"
    recorded = fixture_bytes("youtube", "python-youtube_search_search_by_keywords_p1.json")
    src = SourceConfig(
        name="yt", kind="youtube", params={"q": "surfing", "key": "k-1", "followers": False}
    )
    with respx.mock(assert_all_called=True) as router:
        search_route = router.get(f"{api}/search").respond(200, content=recorded)
        router.get(f"{api}/videos").respond(
            200, json={"kind": "youtube#videoListResponse", "items": []}
        )
        page = youtube.backfill_page(client, src, WINDOW, '{"pageToken": "CAoQAA"}')
    q = search_route.calls[0].request.url.params
    assert q["publishedAfter"] == "2016-12-01T00:00:00Z"
    assert q["publishedBefore"] == "2017-01-01T00:00:00Z"
    assert q["order"] == "date" and q["pageToken"] == "CAoQAA"
    # the recorded body's nextPageToken is the next page; 100 + 1 units spent of 10,000
    assert json.loads(page.cursor or "") == {"pageToken": "CBkQAA"}
    assert len(page.mentions) == 25 and page.quota_left == 10_000 - 101


def test_youtube_last_page_has_no_token() -> None:
    body = json.loads(fixture_bytes("youtube", "python-youtube_search_search_channels.json"))
    body.pop("nextPageToken", None)
    assert youtube.next_page_token(body) is None


# ------------------------------------------------------------------ Bluesky


def test_bluesky_backfill_page_sends_since_until_and_the_cursor(client: HttpClient) -> None:
    post = json.loads(
        fixture_bytes("bluesky", "feedViewPost_reasonRepost_quote_washingtonpost.json")
    )["post"]
    src = SourceConfig(name="bs", kind="bluesky", params={"q": "acme", "followers": False})
    with respx.mock(assert_all_called=True) as router:
        route = router.get("https://public.api.bsky.app/xrpc/app.bsky.feed.searchPosts")
        route.side_effect = [
            httpx.Response(200, json={"posts": [post], "cursor": "100"}),
            httpx.Response(200, json={"posts": []}),
        ]
        first = bluesky.backfill_page(client, src, WINDOW, None)
        last = bluesky.backfill_page(client, src, WINDOW, first.cursor)
    q = route.calls[0].request.url.params
    assert q["since"] == "2016-12-01T00:00:00Z" and q["until"] == "2017-01-01T00:00:00Z"
    assert q["sort"] == "latest" and "cursor" not in q
    assert json.loads(first.cursor or "") == {"cursor": "100"}
    assert route.calls[1].request.url.params["cursor"] == "100"
    assert last.cursor is None and last.mentions == []
    assert bluesky.backfill_next({"cursor": "5"}, []) is None


def test_a_jetstream_source_cannot_be_backfilled() -> None:
    from earful.run.backfill import can_backfill

    stream = SourceConfig(name="fire", kind="bluesky", params={"mode": "jetstream"})
    assert not can_backfill(stream)
    assert can_backfill(SourceConfig(name="s", kind="bluesky", params={"q": "acme"}))
