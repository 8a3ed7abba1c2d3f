"""Hacker News (Algolia): real payloads parse with nothing invented; fetch pages, time-slices
past the hit cap, retries 429/5xx; refresh batches story ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from earful.config.models import SourceConfig
from earful.errors import TransientSourceError
from earful.sources import hackernews
from earful.sources.base import PollState, RefreshItem
from earful.sources.http import HttpClient
from tests.conftest import fixture_bytes

BASE = "https://hn.algolia.com/api/v1"
STORY = "search_story_theoretical_biologist.json"
COMMENT = "search_comment_query_java_page1_truncated.json"


def hn(name: str) -> bytes:
    return fixture_bytes("hn_algolia", name)


def source(**params: Any) -> SourceConfig:
    return SourceConfig(name="hn", kind="hackernews", params={"query": "acme", **params})


# ------------------------------------------------------------------------ parse


def test_story_hit_parses_with_decoded_text() -> None:
    result = hackernews.parse(hn(STORY))
    assert result.problems == []
    assert len(result.mentions) == 1
    story = result.mentions[0]
    assert story.external_id == "13133437"
    assert story.url == "https://news.ycombinator.com/item?id=13133437"
    assert story.title == "Ask HN: How would I visualize URL propagation in the blogosphere?"
    assert story.author == "anigbrowl"
    assert story.author_followers is None
    assert story.published_at == datetime(2016, 12, 8, 19, 39, 7, tzinfo=UTC)
    assert story.engagement.likes == 1 and story.engagement.comments == 0
    assert story.engagement.shares is None and story.engagement.views is None
    assert story.parent_id is None and story.language is None and story.rating is None
    # &#x27; and &#x2F; decoded, <p> gone, paragraphs kept apart
    assert "I don't know how to harvest" in story.text
    assert "HN discussion and/or the original article" in story.text
    assert "<p>" not in story.text and "&#x" not in story.text
    assert story.text.startswith("I want to map the dynamics of the blogosphere")
    assert "\nFor example, say PG writes" in story.text
    assert story.to_dict()["published_at"] == "2016-12-08T19:39:07Z"


def test_comment_hit_has_parent_and_no_invented_points() -> None:
    result = hackernews.parse(hn(COMMENT))
    assert len(result.mentions) == 1
    comment = result.mentions[0]
    assert comment.external_id == "44582430"
    assert comment.url == "https://news.ycombinator.com/item?id=44582430"
    assert comment.title is None
    assert comment.text == 'Whoa, the "japanese" checkbox animation is awesome, so satisfying!'
    assert comment.author == "graeber_28927"
    assert comment.parent_id == "44576671"
    assert comment.published_at == datetime(2025, 7, 16, 13, 54, 55, tzinfo=UTC)
    assert comment.engagement.likes is None and comment.engagement.comments is None
    assert comment.extra["story_id"] == 44548620
    assert comment.extra["story_title"] == "Lorem Gibson"


def test_garbage_is_a_parse_error() -> None:
    from earful.errors import ParseError

    with pytest.raises(ParseError):
        hackernews.parse(b"<html>nope</html>")
    with pytest.raises(ParseError):
        hackernews.parse(b'{"message": "no hits"}')


def test_a_malformed_hit_is_skipped_and_the_others_kept() -> None:
    hits = [
        "x",
        {"objectID": "1", "created_at_i": 10**12, "title": "far future"},
        {"objectID": "2", "_tags": 5, "title": "bad tags"},
        {"objectID": "3", "title": "Acme", "created_at_i": 1700000000},
    ]
    result = hackernews.parse(json.dumps({"hits": hits}).encode())
    assert [m.external_id for m in result.mentions] == ["3"]
    assert len(result.problems) == 3


# ------------------------------------------------------------------------ fetch


def with_page(body: bytes, **changes: Any) -> bytes:
    data = json.loads(body)
    data.update(changes)
    return json.dumps(data).encode()


def test_first_poll_reads_newest_page_and_sets_cursor(client: HttpClient) -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{BASE}/search_by_date").respond(200, content=hn(STORY))
        result = hackernews.fetch(client, source(), PollState())
    assert route.call_count == 1
    params = route.calls[0].request.url.params
    assert params["query"] == "acme"
    assert params["tags"] == "(story,comment)"
    assert "numericFilters" not in params
    assert [m.external_id for m in result.mentions] == ["13133437"]
    assert result.cursor == "1481225947"
    assert result.requests == 1 and result.bytes_received == len(hn(STORY))


def test_cursor_poll_pages_until_done(client: HttpClient) -> None:
    page0 = with_page(hn(COMMENT), page=0, nbPages=2, nbHits=2, hitsPerPage=1)
    page1 = with_page(hn(STORY), page=1, nbPages=2, nbHits=2, hitsPerPage=1)
    with respx.mock() as router:
        route = router.get(f"{BASE}/search_by_date").mock(
            side_effect=[httpx.Response(200, content=page0), httpx.Response(200, content=page1)]
        )
        result = hackernews.fetch(
            client, source(hits_per_page=1, tags="story"), PollState(cursor="1481225000")
        )
    assert route.call_count == 2
    first, second = (c.request.url.params for c in route.calls)
    assert first["numericFilters"] == "created_at_i>1481225000"
    assert first["page"] == "0" and second["page"] == "1"
    assert first["tags"] == "story"
    assert sorted(m.external_id for m in result.mentions) == ["13133437", "44582430"]
    assert result.cursor == "1752674095"


class FakeAlgolia:
    """search_by_date over a fixed set of hits, serving only a 4-hit window per query."""

    def __init__(self, template: dict[str, Any], stamps: list[int], window: int = 4) -> None:
        self.hits = [
            dict(template, objectID=str(9000 + i), created_at_i=s) for i, s in enumerate(stamps)
        ]
        self.window = window
        self.requests: list[httpx.QueryParams] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        self.requests.append(params)
        hits = sorted(self.hits, key=lambda h: -int(h["created_at_i"]))
        for flt in params.get("numericFilters", "").split(","):
            if ">" in flt:
                hits = [h for h in hits if h["created_at_i"] > int(flt.split(">")[1])]
            elif "<" in flt:
                hits = [h for h in hits if h["created_at_i"] < int(flt.split("<")[1])]
        per_page = int(params["hitsPerPage"])
        page = int(params["page"])
        reachable = hits[: self.window]
        nb_pages = min(-(-len(hits) // per_page), self.window // per_page)
        body = {
            "hits": reachable[page * per_page : (page + 1) * per_page],
            "nbHits": len(hits),
            "nbPages": nb_pages,
            "page": page,
            "hitsPerPage": per_page,
        }
        return httpx.Response(200, json=body)


def test_time_slices_past_the_hit_cap_without_loss_or_duplicates(client: HttpClient) -> None:
    template = json.loads(hn(STORY))["hits"][0]
    stamps = [2000 + 10 * i for i in range(10)]
    fake = FakeAlgolia(template, stamps)
    with respx.mock() as router:
        router.get(f"{BASE}/search_by_date").mock(side_effect=fake)
        result = hackernews.fetch(client, source(hits_per_page=2), PollState(cursor="1999"))
    ids = [m.external_id for m in result.mentions]
    assert len(ids) == len(set(ids)) == 10
    assert result.cursor == str(max(stamps))
    slices = [p["numericFilters"] for p in fake.requests if p["page"] == "0"]
    assert slices[0] == "created_at_i>1999"
    assert any("created_at_i<" in s for s in slices[1:])
    assert result.problems == []


def test_429_with_retry_after_is_retried(client: HttpClient, sleeps: list[float]) -> None:
    with respx.mock() as router:
        route = router.get(f"{BASE}/search_by_date").mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "7"}),
                httpx.Response(200, content=hn(STORY)),
            ]
        )
        result = hackernews.fetch(client, source(), PollState())
    assert route.call_count == 2
    assert sleeps == [7.0]
    assert len(result.mentions) == 1


def test_5xx_is_retried_then_raised(client: HttpClient) -> None:
    with respx.mock() as router:
        route = router.get(f"{BASE}/search_by_date").respond(502)
        with pytest.raises(TransientSourceError) as info:
            hackernews.fetch(client, source(), PollState())
    assert route.call_count == 3  # first try + max_retries=2
    assert info.value.reason == "http_502"


# ------------------------------------------------------------------------ refresh


def test_refresh_batches_story_ids(client: HttpClient) -> None:
    items = [
        RefreshItem(mention_id=1, source="hn", external_id="13133437", url=None),
        RefreshItem(mention_id=2, source="hn", external_id="13133438", url=None),
    ]
    with respx.mock() as router:
        route = router.get(f"{BASE}/search").respond(200, content=hn(STORY))
        fresh = hackernews.refresh(client, source(), items)
    assert route.call_count == 1
    assert route.calls[0].request.url.params["tags"] == "story,(story_13133437,story_13133438)"
    assert [(m.external_id, m.engagement.likes) for m in fresh] == [("13133437", 1)]
