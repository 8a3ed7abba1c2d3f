"""App Store reviews: both real feed variants parse fully; fetch pages per country over respx."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from earful.config.models import SourceConfig
from earful.errors import ConfigError, ParseError, SourceAuthError, TransientSourceError
from earful.sources import appstore
from earful.sources.base import PollState
from earful.sources.http import HttpClient
from tests.conftest import fixture_bytes

STEM = "reviewer_customerreviews_jp_id1404176564_mostRecent_page1"


def body(ext: str) -> bytes:
    return fixture_bytes("appstore", f"{STEM}.{ext}")


@pytest.fixture
def max_retries() -> int:
    return 1


def test_json_feed_fifty_reviews_without_dates() -> None:
    result = appstore.parse(body("json"))
    ms = result.mentions
    assert result.problems == []
    assert len(ms) == 50 and len({m.external_id for m in ms}) == 50
    first = ms[0]
    assert first.external_id == "6290024630"
    assert first.title == "神アプリ"
    assert first.author == "ヤミ。"
    assert first.rating == 4.0
    assert first.text.startswith("とにかく周りの人皆んなが暖かく")
    assert "\n面白い人がたくさんいるので" in first.text
    assert first.published_at is None  # this capture has no per-entry date
    assert first.language == "ja"  # from the jp storefront
    assert (
        first.url
        == "https://apps.apple.com/jp/app/id1404176564?see-all=reviews&reviewId=6290024630"
    )
    assert first.engagement.likes == 0 and first.engagement.shares is None
    assert first.extra["app_version"] == "3.4.3"
    voted = {m.external_id: m for m in ms}["6215691050"]
    assert voted.engagement.likes == 1  # im:voteSum, helpful votes
    assert voted.extra["vote_count"] == 9  # im:voteCount, all votes
    assert ms[-1].external_id == "6123449936" and ms[-1].rating == 3.0
    assert sorted({m.rating for m in ms}) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert sum(1 for m in ms if m.rating == 1.0) == 13


def test_xml_feed_fifty_reviews_with_utc_dates_and_text_content() -> None:
    ms = appstore.parse(body("xml")).mentions
    assert len(ms) == 50
    first = ms[0]
    assert first.external_id == "6310006838"
    assert first.title == "髪型追加してもらいたい"
    assert first.author == "単刀直入にさきいか"
    assert first.rating == 5.0
    # <updated>2020-08-12T04:06:20-07:00</updated>
    assert first.published_at == datetime(2020, 8, 12, 11, 6, 20, tzinfo=UTC)
    # the type="text" content, not the HTML table variant
    assert first.text.startswith("いろんな髪型追加して欲しい") and "<table" not in first.text
    assert first.language == "ja"  # xml:lang
    assert ms[-1].external_id == "6180524864"
    assert ms[-1].published_at == datetime(2020, 7, 10, 10, 52, 38, tzinfo=UTC)
    assert all(m.published_at is not None for m in ms)
    by_id = {m.external_id: m for m in ms}
    assert by_id["6266063336"].engagement.likes == 1 and by_id["6266063336"].rating == 2.0


def test_single_entry_object_and_app_entry_are_handled() -> None:
    data = json.loads(body("json"))
    review = data["feed"]["entry"][0]
    app_entry = {
        "id": {"label": "https://apps.apple.com/app/id1404176564"},
        "title": {"label": "x"},
    }
    data["feed"]["entry"] = review
    assert [m.external_id for m in appstore.parse(json.dumps(data).encode()).mentions] == [
        "6290024630"
    ]
    data["feed"]["entry"] = [app_entry, review]
    assert len(appstore.parse(json.dumps(data).encode()).mentions) == 1
    del data["feed"]["entry"]
    assert appstore.parse(json.dumps(data).encode()).mentions == []


def _page(ids: list[str], cc: str = "jp") -> dict[str, Any]:
    data = json.loads(body("json"))
    template = data["feed"]["entry"][0]
    entries = []
    for i in ids:
        e = json.loads(json.dumps(template))
        e["id"]["label"] = i
        entries.append(e)
    data["feed"]["entry"] = entries
    data["feed"]["id"]["label"] = data["feed"]["id"]["label"].replace("/jp/", f"/{cc}/")
    return data


def _url(cc: str, page: int) -> str:
    return appstore.feed_url(cc, "1404176564", page)


def test_hostile_json_skips_the_entry_or_raises_parse_error() -> None:
    good = {"id": {"label": "r1"}, "im:rating": {"label": "5"}, "content": {"label": "ok"}}
    bad = {"id": {"label": "r2"}, "im:rating": {"label": "1"}, "author": 0.5}
    feed = {"link": [7, {"attributes": {"href": {"x": 1}}}], "entry": [3, bad, good]}
    result = appstore.parse(json.dumps({"feed": feed}).encode())
    assert [m.external_id for m in result.mentions] == ["r1"]
    assert len(result.problems) == 2
    for hostile in ({"feed": [1]}, {"feed": {"entry": 5}}):
        with pytest.raises(ParseError):
            appstore.parse(json.dumps(hostile).encode())


@respx.mock
def test_fetch_pages_until_empty_per_country(client: HttpClient) -> None:
    jp1 = respx.get(_url("jp", 1)).mock(return_value=httpx.Response(200, content=body("json")))
    jp2 = respx.get(_url("jp", 2)).mock(return_value=httpx.Response(200, json=_page(["1", "2"])))
    jp3 = respx.get(_url("jp", 3)).mock(return_value=httpx.Response(200, json={"feed": {}}))
    us1 = respx.get(_url("us", 1)).mock(return_value=httpx.Response(200, json={"feed": {}}))
    cfg = SourceConfig(
        name="app", kind="appstore", params={"app_id": "1404176564", "countries": "jp, us"}
    )
    result = appstore.fetch(client, cfg, PollState())
    assert (jp1.call_count, jp2.call_count, jp3.call_count, us1.call_count) == (1, 1, 1, 1)
    assert len(result.mentions) == 52
    assert json.loads(result.cursor or "") == {"jp": "6290024630"}
    # next poll: page 1 starts with two new reviews, then the one seen before -> stop there
    respx.get(_url("jp", 1)).mock(
        return_value=httpx.Response(200, json=_page(["9001", "9000", "6290024630", "5"]))
    )
    again = appstore.fetch(client, cfg, PollState(cursor=result.cursor))
    assert [m.external_id for m in again.mentions] == ["9001", "9000"]
    assert json.loads(again.cursor or "") == {"jp": "9001"}


@respx.mock
def test_fetch_stops_at_page_ten(client: HttpClient) -> None:
    route = respx.get(url__regex=r"https://itunes\.apple\.com/jp/rss/customerreviews/.*").mock(
        side_effect=lambda req: httpx.Response(200, json=_page([req.url.path.split("/")[4]]))
    )
    cfg = SourceConfig(
        name="a", kind="appstore", params={"app_id": 1404176564, "countries": ["jp"], "pages": 50}
    )
    result = appstore.fetch(client, cfg, PollState())
    assert route.call_count == 10
    assert [m.external_id for m in result.mentions][:2] == ["page=1", "page=2"]


@respx.mock
def test_fetch_xml_variant_and_errors(client: HttpClient) -> None:
    xml_url = appstore.feed_url("jp", "1404176564", 1, "xml")
    respx.get(xml_url).mock(return_value=httpx.Response(200, content=body("xml")))
    cfg = SourceConfig(
        name="a",
        kind="appstore",
        params={"app_id": "1404176564", "countries": ["jp"], "pages": 1, "format": "xml"},
    )
    assert len(appstore.fetch(client, cfg, PollState()).mentions) == 50
    respx.get(xml_url).mock(return_value=httpx.Response(503))
    with pytest.raises(TransientSourceError):
        appstore.fetch(client, cfg, PollState())
    limited = respx.get(xml_url).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "1"}),
            httpx.Response(200, content=body("xml")),
        ]
    )
    before = limited.call_count  # respx keeps one route per pattern, with its call history
    assert len(appstore.fetch(client, cfg, PollState()).mentions) == 50
    assert limited.call_count - before == 2  # the 429, then the retry
    respx.get(xml_url).mock(return_value=httpx.Response(403))
    with pytest.raises(SourceAuthError):
        appstore.fetch(client, cfg, PollState())
    with pytest.raises(ConfigError, match="app_id"):
        appstore.fetch(client, SourceConfig(name="a", kind="appstore"), PollState())
