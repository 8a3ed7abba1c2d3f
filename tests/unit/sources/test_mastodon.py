"""Mastodon: every real payload parses (lists, one status, v2 search); fetch pages hashtag
timelines with min_id per instance, explains a 401 public-preview refusal; refresh re-reads the
origin server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from earful.config.models import SourceConfig
from earful.errors import ParseError, SourceAuthError, TransientSourceError
from earful.sources import mastodon
from earful.sources.base import PollState, RefreshItem
from earful.sources.http import HttpClient
from tests.conftest import fixture_bytes

DOCS = "mastodon-docs_entities_Status_example.json"
HOOT = "mastodonpy_test_hashtag_tl__timelines_tag_hoot.json"
PUBLIC = "mastodonpy_test_public_tl_anonymous__timelines_public.json"
SEARCH_ALL = "mastodonpy_test_search__v2_search_all.json"
SEARCH_STATUSES = "mastodonpy_test_search__v2_search_type_statuses.json"
STATUS = "mastodonpy_test_status__statuses_id.json"
TOOTS = "tg_toot4warder_mastodon.social_accounts_150831_statuses.json"


def md(name: str) -> bytes:
    return fixture_bytes("mastodon", name)


def source(**params: Any) -> SourceConfig:
    base: dict[str, Any] = {"instances": ["mastodon.social"], "hashtags": ["acme"]}
    base.update(params)
    return SourceConfig(name="masto", kind="mastodon", params=base)


# ------------------------------------------------------------------------ parse


def test_docs_status_example() -> None:
    result = mastodon.parse(md(DOCS))
    assert result.problems == []
    [status] = result.mentions
    assert status.external_id == "103270115826048975"
    assert status.url == "https://mastodon.social/@Gargron/103270115826048975"
    assert status.author == "Gargron@mastodon.social"
    assert status.author_followers == 322930
    assert status.published_at == datetime(2019, 12, 8, 3, 48, 33, 901000, tzinfo=UTC)
    assert status.to_dict()["published_at"] == "2019-12-08T03:48:33Z"
    assert status.language == "en"
    assert (status.engagement.likes, status.engagement.shares, status.engagement.comments) == (
        11,
        6,
        5,
    )
    assert status.engagement.views is None
    assert status.text == (
        '"I lost my inheritance with one wrong digit on my sort code"\n'
        "https://www.theguardian.com/money/2019/dec/07/"
        "i-lost-my-193000-inheritance-with-one-wrong-digit-on-my-sort-code"
    )
    assert status.title is None and status.parent_id is None and status.rating is None


def test_hashtag_timeline() -> None:
    [status] = mastodon.parse(
        md(HOOT), url="http://localhost:3000/api/v1/timelines/tag/hoot"
    ).mentions
    assert status.external_id == "117020593741189701"
    assert status.url == "http://localhost:3000/@mastodonpy_test_2/117020593741189701"
    assert status.text == "#hoot (hashtag toot)"
    assert status.language == "ja"
    assert status.author == "mastodonpy_test_2@localhost"
    assert status.author_followers == 0
    assert status.published_at == datetime(2026, 8, 1, 13, 55, 55, 867000, tzinfo=UTC)
    assert status.extra["tags"] == ["hoot"]
    assert status.extra["instance"] == "localhost"


def test_public_timeline_eight_statuses_with_entities_decoded() -> None:
    mentions = mastodon.parse(md(PUBLIC)).mentions
    assert len(mentions) == 8
    assert [m.language for m in mentions].count("en") == 6
    assert [m.language for m in mentions].count("ja") == 2
    texts = [m.text for m in mentions]
    assert "you can't say that on television" in texts
    assert "@mastodonpy_test beep beep I'm a jeep" in texts
    assert all("<" not in t and "&#39;" not in t for t in texts)
    admin = mentions[1]
    assert admin.author == "admin@localhost" and admin.author_followers == 1
    assert all(m.engagement.likes == 0 and m.engagement.shares == 0 for m in mentions)


def test_single_status_and_search_results() -> None:
    [status] = mastodon.parse(md(STATUS)).mentions
    assert status.external_id == "117020583223442465"
    assert status.text == "Toot!"
    assert status.author == "mastodonpy_test@localhost"
    # v2 search: accounts only / all empty -> no statuses, no problems
    for name in (SEARCH_ALL, SEARCH_STATUSES):
        result = mastodon.parse(md(name))
        assert result.mentions == [] and result.problems == []


def test_production_statuses_with_chinese_text_and_card() -> None:
    mentions = mastodon.parse(md(TOOTS)).mentions
    assert [m.external_id for m in mentions] == [
        "107755621835790856",
        "107751441476337212",
        "107722294184788555",
    ]
    assert [m.language for m in mentions] == ["zh-CN", "zh", "zh-CN"]
    assert mentions[0].text == "Orz又又又又要住院了……"
    assert mentions[2].text == "Crytek宣布了Crysis 4\nhttps://youtu.be/PQ_dmFUR2N8"
    assert {m.author for m in mentions} == {"thislight@mastodon.social"}
    assert {m.author_followers for m in mentions} == {17}
    assert mentions[0].published_at == datetime(2022, 2, 7, 7, 51, 43, 901000, tzinfo=UTC)


def test_reblog_is_normalized_as_the_original() -> None:
    original = json.loads(md(DOCS))
    wrapper = dict(original, id="999", content="", reblog=original)
    wrapper["account"] = dict(original["account"], acct="someone@example.org")
    [status] = mastodon.parse(json.dumps([wrapper]).encode()).mentions
    assert status.external_id == "103270115826048975"
    assert status.extra["reblogged_by"] == "someone@example.org"


def test_not_statuses_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        mastodon.parse(b'{"error": "This method requires an authenticated user"}')


# ------------------------------------------------------------------------ fetch

TAG_URL = "https://mastodon.social/api/v1/timelines/tag/acme"


def test_first_poll_reads_one_page_and_keeps_cursor_per_instance_and_tag(
    client: HttpClient,
) -> None:
    with respx.mock() as router:
        route = router.get(TAG_URL).respond(200, content=md(TOOTS))
        result = mastodon.fetch(client, source(), PollState())
    assert route.call_count == 1
    assert route.calls[0].request.url.params["limit"] == "40"
    assert "min_id" not in route.calls[0].request.url.params
    assert len(result.mentions) == 3
    cursor = json.loads(result.cursor or "{}")
    assert cursor == {"https://mastodon.social|tag:acme": "107755621835790856"}


def test_cursor_poll_pages_forward_with_min_id(client: HttpClient) -> None:
    one = json.loads(md(TOOTS))
    page1 = json.dumps([one[1]]).encode()  # older status first: min_id pages move forward
    page2 = json.dumps([one[0]]).encode()
    state = PollState(cursor=json.dumps({"https://mastodon.social|tag:acme": "107722294184788555"}))
    with respx.mock() as router:
        route = router.get(TAG_URL).mock(
            side_effect=[
                httpx.Response(200, content=page1),
                httpx.Response(200, content=page2),
                httpx.Response(200, content=b"[]"),
            ]
        )
        result = mastodon.fetch(client, source(limit=1), state)
    min_ids = [c.request.url.params["min_id"] for c in route.calls]
    assert min_ids == ["107722294184788555", "107751441476337212", "107755621835790856"]
    assert sorted(m.external_id for m in result.mentions) == [
        "107751441476337212",
        "107755621835790856",
    ]
    assert json.loads(result.cursor or "{}")["https://mastodon.social|tag:acme"] == (
        "107755621835790856"
    )


def test_401_public_preview_disabled_is_explained(client: HttpClient) -> None:
    refusal = {"error": "This method requires an authenticated user"}
    with respx.mock() as router:
        route = router.get(TAG_URL).respond(401, json=refusal)
        with pytest.raises(SourceAuthError) as info:
            mastodon.fetch(client, source(), PollState())
    assert route.call_count == 1  # never retried
    message = str(info.value)
    assert "https://mastodon.social" in message
    assert "public preview" in message and "anonymous" in message
    assert info.value.reason == "public_preview"


def test_one_refusing_instance_does_not_hide_the_others(client: HttpClient) -> None:
    with respx.mock() as router:
        router.get(TAG_URL).respond(401)
        router.get("https://fosstodon.org/api/v1/timelines/tag/acme").respond(
            200, content=md(PUBLIC)
        )
        result = mastodon.fetch(
            client, source(instances="mastodon.social, fosstodon.org"), PollState()
        )
    assert len(result.mentions) == 8
    assert any("mastodon.social" in p and "public preview" in p for p in result.problems)


def test_search_where_allowed_and_refused_search_is_a_problem(client: HttpClient) -> None:
    wrapped = json.dumps({"accounts": [], "statuses": json.loads(md(TOOTS))}).encode()
    with respx.mock() as router:
        router.get(TAG_URL).respond(200, content=b"[]")
        search = router.get("https://mastodon.social/api/v2/search").respond(200, content=wrapped)
        router.get("https://example.social/api/v1/timelines/tag/acme").respond(200, content=b"[]")
        router.get("https://example.social/api/v2/search").respond(401)
        result = mastodon.fetch(
            client,
            source(instances=["mastodon.social", "example.social"], search="crysis"),
            PollState(),
        )
    params = search.calls[0].request.url.params
    assert params["q"] == "crysis" and params["type"] == "statuses"
    assert len(result.mentions) == 3
    assert any("example.social" in p and "search" in p for p in result.problems)


def test_429_retry_after_then_ok(client: HttpClient, sleeps: list[float]) -> None:
    with respx.mock() as router:
        router.get(TAG_URL).mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "3"}),
                httpx.Response(200, content=md(HOOT)),
            ]
        )
        result = mastodon.fetch(client, source(), PollState())
    assert sleeps == [3.0]
    assert [m.external_id for m in result.mentions] == ["117020593741189701"]


def test_5xx_retried(client: HttpClient) -> None:
    with respx.mock() as router:
        route = router.get(TAG_URL).respond(503)
        with pytest.raises(TransientSourceError):
            mastodon.fetch(client, source(), PollState())
    assert route.call_count == 3


# ------------------------------------------------------------------------ refresh


def test_refresh_reads_the_origin_server_and_keeps_the_stored_id(client: HttpClient) -> None:
    item = RefreshItem(
        mention_id=1,
        source="masto",
        external_id="local-42",
        url="https://mastodon.social/@Gargron/103270115826048975",
    )
    with respx.mock() as router:
        route = router.get("https://mastodon.social/api/v1/statuses/103270115826048975").respond(
            200, content=md(DOCS)
        )
        [fresh] = mastodon.refresh(client, source(), [item])
    assert route.call_count == 1
    assert fresh.external_id == "local-42"
    assert (fresh.engagement.likes, fresh.engagement.shares, fresh.engagement.comments) == (
        11,
        6,
        5,
    )
    assert fresh.author_followers == 322930


def test_refresh_skips_deleted_statuses(client: HttpClient) -> None:
    item = RefreshItem(
        mention_id=1, source="masto", external_id="1", url="https://mastodon.social/@a/1"
    )
    with respx.mock() as router:
        router.get("https://mastodon.social/api/v1/statuses/1").respond(404)
        assert mastodon.refresh(client, source(), [item]) == []
