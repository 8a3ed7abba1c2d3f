"""YouTube connector: every real payload parses with nothing invented; fetch/refresh over respx
with real bodies, pagination, quota stop and error paths."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from earful.config.models import SourceConfig
from earful.errors import ParseError, QuotaExceededError, SourceAuthError, TransientSourceError
from earful.sources import youtube
from earful.sources.base import PollState, RefreshItem
from earful.sources.http import HttpClient
from tests.conftest import fixture_bytes

API = youtube.API


def yt(name: str) -> bytes:
    return fixture_bytes("youtube", f"python-youtube_{name}.json")


def source(**params: Any) -> SourceConfig:
    base = {"q": "acme", "key": "k-123"}
    base.update(params)
    return SourceConfig(name="yt", kind="youtube", params=base)


# ------------------------------------------------------------------------ parse


def test_search_videos_parse_with_unescaped_titles() -> None:
    result = youtube.parse(yt("search_search_by_keywords_p1"))
    assert result.problems == []
    assert len(result.mentions) == 25
    first = result.mentions[0]
    assert first.external_id == "gQ_1zX-F_No"
    assert first.url == "https://www.youtube.com/watch?v=gQ_1zX-F_No"
    assert first.author == "Jamie O'Brien"
    assert first.published_at == datetime(2019, 12, 5, 19, 0, 10, tzinfo=UTC)
    assert first.title == "SURFING HAWAII’S BEST WAVE WITH MY GIRLFRIEND (PIPELINE)"
    # search.list carries no statistics: engagement unknown, not zero
    assert first.engagement.is_empty()
    assert first.author_followers is None
    second = result.mentions[1]
    assert second.title == "SURFING PERFECT PIPE & BACKDOOR || SUNRISE SHACK!"
    assert second.text.startswith("This is Livin' Movie")
    assert all(
        m.url and m.url.startswith("https://www.youtube.com/watch?v=") for m in result.mentions
    )
    assert len({m.external_id for m in result.mentions}) == 25


def test_search_channels_parse_to_channel_urls() -> None:
    result = youtube.parse(yt("search_search_channels"))
    assert [m.external_id for m in result.mentions] == [
        "UCxRULEz6kS0PMxCzOY25GhQ",
        "UCBGVFobD9nXtTxBdMbDZfnQ",
        "UCHFz3F_wTBHhOMqTTlAeNTA",
        "UCiMhD4jzUqG-IgPzUmmytRQ",
        "UCEqbPy-ZcK2gR8X1KEtJwpQ",
    ]
    assert result.mentions[0].url == "https://www.youtube.com/channel/UCxRULEz6kS0PMxCzOY25GhQ"
    assert result.mentions[0].author == "NLaFourcadeVEVO"
    assert result.mentions[4].published_at == datetime(2006, 9, 10, 17, 13, 54, tzinfo=UTC)


def test_videos_without_statistics_keep_engagement_unknown() -> None:
    result = youtube.parse(yt("videos_videos_info_multi"))
    assert [m.external_id for m in result.mentions] == ["D-lhorsDlUQ", "ovdbrdCIP7U"]
    first = result.mentions[0]
    assert first.title == "What are Actions on Google (Assistant on Air)"
    assert first.author == "Google Developers"
    assert first.language == "en"
    assert first.published_at == datetime(2019, 3, 21, 20, 37, 49, tzinfo=UTC)
    assert first.engagement.is_empty()
    assert first.extra["channel_id"] == "UC_x5XG1OV2P6uZZ5FSM9Ttw"
    # second video has only defaultAudioLanguage
    assert result.mentions[1].language == "en"


def test_video_statistics_strings_become_ints() -> None:
    data = json.loads(yt("videos_videos_info_multi"))
    data["items"][0]["statistics"] = {
        "viewCount": "24000",
        "likeCount": "900",
        "favoriteCount": "0",
        "commentCount": "461",
    }
    m = youtube.parse(json.dumps(data).encode()).mentions[0]
    assert (m.engagement.views, m.engagement.likes, m.engagement.comments) == (24000, 900, 461)
    assert m.engagement.shares is None  # YouTube has no share count


def test_comment_threads_html_to_plain_text_and_counts() -> None:
    result = youtube.parse(yt("comment_threads_comment_threads_by_video_paged_1"))
    ms = result.mentions
    assert len(ms) == 5
    assert ms[0].external_id == "UgyZ1jqkHKYvi1-ruOZ4AaABAg"
    assert ms[0].text == "Google.com"  # was <a href=...>Google.com</a>
    assert ms[0].url == "https://www.youtube.com/watch?v=F1UP7wRCPH8&lc=UgyZ1jqkHKYvi1-ruOZ4AaABAg"
    assert ms[0].parent_id == "F1UP7wRCPH8"
    assert ms[0].author == "himani agarwal"
    assert ms[0].extra["author_channel_id"] == "UCzj-CjKYmGlZ7vTL-vOe57A"
    assert ms[0].published_at == datetime(2019, 11, 26, 15, 51, 44, tzinfo=UTC)
    assert [m.engagement.likes for m in ms] == [0, 1, 4, 1, 0]
    assert [m.engagement.comments for m in ms] == [0, 0, 0, 0, 2]
    last = ms[4].text
    assert last.startswith("Lot's of good light coming in from here #ChromeDevSummit")
    assert "<" not in last and "&#39;" not in last
    assert ms[3].text.endswith("fordata show\nsettings displayed")  # <br /> -> line break


def test_comment_threads_page_two_and_channel_discussions() -> None:
    page2 = youtube.parse(yt("comment_threads_comment_threads_by_video_paged_2")).mentions
    assert len(page2) == 5
    mine = youtube.parse(yt("comment_threads_comment_threads_all_to_me")).mentions
    assert [m.external_id for m in mine] == [
        "UgyWeTdgc4sc1xgmbld4AaABAg",
        "Ugw5zYU6n9pmIgAZWvN4AaABAg",
        "Ugy0FhSzKMNMT9qs6zt4AaABAg",
        "UgwSRpgkjCe6OHHe3IJ4AaABAg",
    ]
    assert (
        mine[1].url == "https://www.youtube.com/watch?v=JE8xdDp5B8Q&lc=Ugw5zYU6n9pmIgAZWvN4AaABAg"
    )
    assert mine[2].text == "大满贯"
    assert mine[2].url == (
        "https://www.youtube.com/channel/UCa-vrCLQHviTOVnEKDOdetQ/discussion"
        "?lc=Ugy0FhSzKMNMT9qs6zt4AaABAg"
    )
    assert mine[3].engagement.comments == 1
    search = youtube.parse(yt("comment_threads_comment_threads_with_search")).mentions
    assert [(m.external_id, m.text, m.author) for m in search] == [
        ("UgyUBI0HsgL9emxcZpR4AaABAg", "Hello", "DevRagz")
    ]


def test_replies_keep_parent_and_no_invented_url() -> None:
    ms = youtube.parse(yt("comments_comments_by_parent_paged_1")).mentions
    assert [m.external_id for m in ms] == [
        "Ugw5zYU6n9pmIgAZWvN4AaABAg.91zT3cYb5B291za6voUoRh",
        "Ugw5zYU6n9pmIgAZWvN4AaABAg.91zT3cYb5B291za5eJxzs1",
    ]
    assert all(m.parent_id == "Ugw5zYU6n9pmIgAZWvN4AaABAg" for m in ms)
    assert ms[0].text == "this is the third reply!"
    assert ms[0].url is None  # a reply read alone does not name its video
    assert ms[0].engagement.comments is None


def test_channel_list_yields_followers_not_mentions() -> None:
    body = yt("channels_info_multiple")
    assert youtube.parse(body).mentions == []
    assert youtube.channel_followers(body) == {
        "UCK8sQmJBp8GCxrOtXWBpyEA": 10_700_000,
        "UC_x5XG1OV2P6uZZ5FSM9Ttw": 2_260_000,
    }
    data = json.loads(body)
    data["items"][0]["statistics"]["hiddenSubscriberCount"] = True
    assert youtube.channel_followers(data)["UCK8sQmJBp8GCxrOtXWBpyEA"] is None
    hostile = {"items": [7, {"id": ["x"]}, {"id": "UCa", "statistics": "x"}]}
    assert youtube.channel_followers(hostile) == {"UCa": None}
    assert youtube.channel_followers({"items": 5}) == {}


# ------------------------------------------------------------------------ fetch


def _video_with_stats(video_id: str, views: str, likes: str, comments: str) -> dict[str, Any]:
    item = json.loads(yt("videos_videos_info_multi"))["items"][0]
    item["id"] = video_id
    item["statistics"] = {"viewCount": views, "likeCount": likes, "commentCount": comments}
    return item


def _videos_response(request: httpx.Request) -> httpx.Response:
    ids = request.url.params["id"].split(",")
    items = [_video_with_stats(i, "1000", "10", "3") for i in ids]
    return httpx.Response(200, json={"kind": "youtube#videoListResponse", "items": items})


@respx.mock
def test_fetch_paginates_enriches_and_reports_quota(client: HttpClient) -> None:
    empty = {"kind": "youtube#searchListResponse", "items": []}
    search = respx.get(f"{API}/search").mock(
        side_effect=[
            httpx.Response(200, content=yt("search_search_by_keywords_p1")),
            httpx.Response(200, json=empty),
        ]
    )
    videos = respx.get(f"{API}/videos").mock(side_effect=_videos_response)
    threads = respx.get(f"{API}/commentThreads").mock(
        return_value=httpx.Response(
            200, content=yt("comment_threads_comment_threads_by_video_paged_1")
        )
    )
    channels = respx.get(f"{API}/channels").mock(
        return_value=httpx.Response(200, content=yt("channels_info_multiple"))
    )
    result = youtube.fetch(
        client,
        source(max_pages=3, comment_videos=1, videos=["F1UP7wRCPH8"]),
        PollState(cursor="2019-01-01T00:00:00Z"),
    )
    assert search.call_count == 2  # stopped at the page without nextPageToken
    assert search.calls[0].request.url.params["publishedAfter"] == "2019-01-01T00:00:00Z"
    assert search.calls[0].request.url.params["key"] == "k-123"
    assert search.calls[1].request.url.params["pageToken"] == "CBkQAA"
    assert videos.call_count == 1 and threads.call_count == 2 and channels.call_count == 1
    assert [c.request.url.params["videoId"] for c in threads.calls] == [
        "gQ_1zX-F_No",  # newest video found
        "F1UP7wRCPH8",  # tracked by config
    ]
    assert len(result.mentions) == 25 + 5 + 5
    video = result.mentions[0]
    assert video.external_id == "gQ_1zX-F_No"
    assert (video.engagement.views, video.engagement.likes, video.engagement.comments) == (
        1000,
        10,
        3,
    )
    # the stats item's channel is UC_x5XG1OV2P6uZZ5FSM9Ttw, 2,260,000 subscribers
    assert video.author_followers == 2_260_000
    assert result.cursor == "2019-12-06T08:25:39Z"  # newest publishedAt seen
    assert result.quota_left == 10_000 - (100 + 100 + 1 + 2 + 1)


@respx.mock
def test_quota_stops_before_the_daily_limit(client: HttpClient) -> None:
    page = httpx.Response(200, content=yt("search_search_by_keywords_p1"))
    search = respx.get(f"{API}/search").mock(return_value=page)
    respx.get(f"{API}/videos").mock(side_effect=_videos_response)
    cfg = source(daily_quota=150, max_pages=2, comment_videos=0, followers=False)
    with pytest.raises(QuotaExceededError) as err:
        youtube.fetch(client, cfg, PollState())
    assert err.value.reason == "quota"
    assert search.call_count == 1  # the second search (100 units) was never sent
    assert youtube.quota_for(client, cfg, "k-123").remaining() == 50


@respx.mock
def test_sources_with_one_key_share_its_quota_and_api_url_is_followed(
    client: HttpClient,
) -> None:
    # YouTube counts units per API key: a second source on the same key spends the same budget.
    other = "http://127.0.0.1:9/yt/v3"
    page = httpx.Response(200, json={"kind": "youtube#searchListResponse", "items": []})
    search = respx.get(f"{other}/search").mock(return_value=page)
    first = source(daily_quota=150, followers=False, api_url=other + "/")
    second = SourceConfig(name="yt2", kind="youtube", params=dict(first.params))
    assert youtube.fetch(client, first, PollState()).quota_left == 50
    with pytest.raises(QuotaExceededError) as err:
        youtube.fetch(client, second, PollState())
    assert err.value.source == "yt2" and "yt2: daily quota of 150" in str(err.value)
    assert search.call_count == 1
    assert youtube.quota_for(client, source(key="another"), "another").remaining() == 10_000


@respx.mock
def test_403_is_explained_and_not_retried(client: HttpClient) -> None:
    route = respx.get(f"{API}/search").mock(return_value=httpx.Response(403, json={}))
    with pytest.raises(SourceAuthError, match="YouTube Data API v3"):
        youtube.fetch(client, source(), PollState())
    assert route.call_count == 1


@respx.mock
def test_5xx_and_429_are_retried_then_fail_transient(client: HttpClient) -> None:
    ok = httpx.Response(200, json={"kind": "youtube#searchListResponse", "items": []})
    route = respx.get(f"{API}/search").mock(
        side_effect=[httpx.Response(503), httpx.Response(429, headers={"Retry-After": "1"}), ok]
    )
    result = youtube.fetch(client, source(comment_videos=0), PollState())
    assert route.call_count == 3 and result.mentions == []
    respx.get(f"{API}/search").mock(return_value=httpx.Response(500))
    with pytest.raises(TransientSourceError):
        youtube.fetch(client, source(), PollState())


@respx.mock
def test_an_unreadable_response_never_names_the_key(client: HttpClient) -> None:
    respx.get(f"{API}/search").mock(return_value=httpx.Response(200, content=b"<html>"))
    with pytest.raises(ParseError) as info:
        youtube.fetch(client, source(), PollState())
    assert str(info.value).startswith(f"{API}/search: not JSON") and "k-123" not in str(info.value)


def test_missing_key_is_a_config_error(client: HttpClient) -> None:
    from earful.errors import ConfigError

    with pytest.raises(ConfigError, match="YOUTUBE_API_KEY"):
        youtube.fetch(client, source(key="${EARFUL_TEST_UNSET_KEY}"), PollState())


@respx.mock
def test_refresh_batches_fifty_ids_per_call(client: HttpClient) -> None:
    videos = respx.get(f"{API}/videos").mock(side_effect=_videos_response)
    comments = respx.get(f"{API}/comments").mock(
        return_value=httpx.Response(200, content=yt("comments_comments_by_parent_paged_1"))
    )
    channels = respx.get(f"{API}/channels").mock(
        return_value=httpx.Response(200, content=yt("channels_info_multiple"))
    )
    items = [
        RefreshItem(i, "youtube", f"vid{i:08d}", f"https://www.youtube.com/watch?v=vid{i:08d}")
        for i in range(60)
    ]
    items.append(
        RefreshItem(99, "youtube", "Ugw5zYU6n9pmIgAZWvN4AaABAg.91zT3cYb5B291za6voUoRh", None)
    )
    out = youtube.refresh(client, source(), items)
    assert [len(c.request.url.params["id"].split(",")) for c in videos.calls] == [50, 10]
    assert comments.call_count == 1
    assert channels.call_count == 1
    assert len(out) == 60 + 2
    assert out[0].engagement.views == 1000 and out[0].author_followers == 2_260_000


def test_an_unreadable_date_keeps_the_video_undated() -> None:
    body = {
        "kind": "youtube#videoListResponse",
        "items": [{"id": "v1", "snippet": {"title": "Acme", "publishedAt": "not a date"}}],
    }
    [mention] = youtube.parse(json.dumps(body).encode()).mentions
    assert mention.external_id == "v1" and mention.published_at is None


def test_hostile_shapes_skip_the_item_or_raise_parse_error() -> None:
    body = {
        "kind": "youtube#videoListResponse",
        "items": [7, {"id": "v1", "snippet": [None]}, {"id": "v2", "snippet": {"title": "ok"}}],
    }
    result = youtube.parse(json.dumps(body).encode())
    assert [m.external_id for m in result.mentions] == ["v2"]
    assert len(result.problems) == 2
    for bad in ({"kind": ["x"], "items": []}, {"kind": "youtube#videoListResponse", "items": 3}):
        with pytest.raises(ParseError):
            youtube.parse(json.dumps(bad).encode())
