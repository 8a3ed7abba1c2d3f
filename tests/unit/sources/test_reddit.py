"""Reddit: every real payload (listings, comment trees, user overview) parses; fetch gets a
client-credentials token, pages with ``after`` back to the cursor, slows down near the rate
limit, explains 403 without retrying it; refresh uses /api/info."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from earful.config.models import SourceConfig
from earful.errors import SourceAuthError
from earful.sources import reddit
from earful.sources.base import PollState, RefreshItem
from earful.sources.http import HttpClient
from tests.conftest import fixture_bytes

SEARCH = "praw_TestSubreddit.test_search__r_all_search.json"
NEW = "praw_TestSubredditListings.test_new__r_askreddit_new.json"
TREE_2014 = "praw_TestSubmission.test_comments__comments_2gmzqe.json"
TREE_2022 = "praw_TestReddit.test_notes__call____comments_jlbw48.json"
OVERVIEW = "praw_TestRedditorListings.test_overview__top__user_spez_overview.truncated12.json"
TOKEN = {"access_token": "tok-1", "token_type": "bearer", "expires_in": 86400, "scope": "*"}
NEW_URL = "https://oauth.reddit.com/r/askreddit/new"


def rd(name: str) -> bytes:
    return fixture_bytes("reddit", name)


def source(**params: Any) -> SourceConfig:
    base: dict[str, Any] = {
        "client_id": "cid",
        "client_secret": "csecret",
        "user_agent": "linux:earful-test:0.1 (by /u/earful)",
        "subreddits": ["askreddit"],
    }
    base.update(params)
    return SourceConfig(name="rd", kind="reddit", params=base)


# ------------------------------------------------------------------------ parse


def test_comment_tree_2022_flattens_replies_with_parents() -> None:
    result = reddit.parse(rd(TREE_2022))
    assert result.problems == []
    ids = [m.external_id for m in result.mentions]
    assert ids == [
        "t3_jlbw48",
        "t1_gao5889",
        "t1_gao66g9",
        "t1_gao66wc",
        "t1_gius5s0",
        "t1_gt00mip",
        "t1_gt032vq",
    ]
    post = result.mentions[0]
    assert post.url == "https://www.reddit.com/r/SubTestBot1/comments/jlbw48/test_self_post/"
    assert post.title == "Test self post" and post.text == "Test self post text"
    assert post.author == "Watchful1BotTest"
    assert post.published_at == datetime(2020, 10, 31, 3, 59, 49, tzinfo=UTC)
    assert post.engagement.likes == 1 and post.engagement.comments == 6
    parents = {m.external_id: m.parent_id for m in result.mentions}
    assert parents["t1_gao66wc"] == "t1_gao66g9"
    assert parents["t1_gt032vq"] == "t1_gt00mip"
    assert parents["t1_gao5889"] == "t3_jlbw48"
    deepest = result.mentions[-1]
    assert deepest.author == "KJ_Bot"
    assert deepest.url == (
        "https://www.reddit.com/r/SubTestBot1/comments/jlbw48/test_self_post/gt032vq/"
    )
    assert deepest.text.startswith("Watchful1 mentions kids in 0 posts and 4 comments.")
    assert all(m.author_followers is None for m in result.mentions)


def test_comment_tree_2014_without_permalinks_gets_comment_urls() -> None:
    post, first, reply = reddit.parse(rd(TREE_2014)).mentions
    assert post.external_id == "t3_2gmzqe"
    assert post.title == "[PRAW] HTTPS enabled PRAW testing needed"
    assert post.engagement.likes == 11 and post.engagement.comments == 2
    assert post.published_at == datetime(2014, 9, 17, 6, 34, 31, tzinfo=UTC)
    assert first.url == "https://www.reddit.com/r/redditdev/comments/2gmzqe/_/cklfmye/"
    assert first.author == "paneer_burrito" and first.parent_id == "t3_2gmzqe"
    assert reply.parent_id == "t1_cklfmye" and reply.author == "bboe"
    assert reply.text.startswith("Yes it does. That fix is also in the master branch")


def test_user_overview_comments_keep_their_own_counts() -> None:
    mentions = reddit.parse(rd(OVERVIEW)).mentions
    assert len(mentions) == 12
    top = mentions[0]
    assert top.external_id == "t1_cszv2lg"
    assert top.author == "spez"
    assert top.engagement.likes == 5497
    # num_comments in an overview row is the *post's* count: not this comment's
    assert top.engagement.comments is None
    assert top.parent_id == "t1_cszufkb"
    assert top.url == (
        "https://www.reddit.com/r/IAmA/comments/3cxedn/"
        "i_am_steve_huffman_the_new_ceo_of_reddit_ama/cszv2lg/"
    )
    assert top.published_at == datetime(2015, 7, 11, 17, 51, 48, tzinfo=UTC)
    assert top.text.startswith("Absolutely. Shadowbanning is for spammers.")
    assert "<rant>Also, I hate seeing [deleted]" in mentions[1].text  # literal text, not markup
    assert [m.engagement.likes for m in mentions][-1] == 2916


def test_search_listing_urls_are_absolute_and_canonical() -> None:
    mentions = reddit.parse(rd(SEARCH)).mentions
    assert [m.external_id for m in mentions] == [
        "t3_3gpbiu",
        "t3_3x4kt2",
        "t3_3b4erh",
        "t3_1qvzkd",
        "t3_3qc02b",
        "t3_4at068",
    ]
    japanese = mentions[5]
    assert japanese.url == (
        "https://www.reddit.com/r/p18s/comments/4at068/"
        "たびたび話題になるサイドバーの閲覧中ユーザ数についてまた調べた/"
    )
    assert japanese.title == "たびたび話題になるサイドバーの閲覧中ユーザ数について（また）調べた"
    assert japanese.author == "nmtake"
    assert japanese.engagement.likes == 15 and japanese.engagement.comments == 0
    assert japanese.published_at == datetime(2016, 3, 17, 13, 33, 54, tzinfo=UTC)
    assert japanese.text.startswith("## tl;dr")
    assert mentions[0].engagement.comments == 21
    assert all(m.url and "?" not in m.url for m in mentions)


def test_new_listing_hundred_posts() -> None:
    mentions = reddit.parse(rd(NEW)).mentions
    assert len(mentions) == 100
    first, last = mentions[0], mentions[-1]
    assert first.external_id == "t3_48fbm9" and first.author == "RedHeadQc"
    assert first.published_at == datetime(2016, 3, 1, 8, 37, 38, tzinfo=UTC)
    # a title-only post: the title is its text
    assert first.text == first.title
    assert last.external_id == "t3_48f6io"
    assert (last.engagement.likes, last.engagement.comments) == (3, 8)
    assert {m.extra["subreddit"] for m in mentions} == {"AskReddit"}


# ------------------------------------------------------------------------ fetch


def mock_token(router: respx.MockRouter) -> respx.Route:
    return router.post(reddit.TOKEN_URL).respond(200, json=TOKEN)


def test_first_poll_authenticates_and_reads_one_page(client: HttpClient) -> None:
    with respx.mock() as router:
        token = mock_token(router)
        listing = router.get(NEW_URL).respond(
            200,
            content=rd(NEW),
            headers={"X-Ratelimit-Remaining": "99.0", "X-Ratelimit-Reset": "300"},
        )
        result = reddit.fetch(client, source(), PollState())
    auth = token.calls[0].request.headers["Authorization"]
    assert auth == "Basic " + base64.b64encode(b"cid:csecret").decode()
    assert b"grant_type=client_credentials" in token.calls[0].request.content
    request = listing.calls[0].request
    assert request.headers["Authorization"] == "bearer tok-1"
    assert request.headers["User-Agent"] == "linux:earful-test:0.1 (by /u/earful)"
    assert request.url.params["raw_json"] == "1" and request.url.params["limit"] == "100"
    assert listing.call_count == 1
    assert len(result.mentions) == 100
    assert result.quota_left == 99
    assert json.loads(result.cursor or "{}") == {"r/askreddit|new": 1456821458.0}


def test_cursor_poll_pages_with_after_until_reaching_the_cursor(client: HttpClient) -> None:
    older = json.dumps(json.loads(rd(TREE_2014))[0]).encode()  # a listing of a 2014 post
    state = PollState(cursor=json.dumps({"r/askreddit|new": 1456818000.0}))
    with respx.mock() as router:
        mock_token(router)
        listing = router.get(NEW_URL).mock(
            side_effect=[httpx.Response(200, content=rd(NEW)), httpx.Response(200, content=older)]
        )
        result = reddit.fetch(client, source(), state)
    assert listing.call_count == 2
    assert listing.calls[1].request.url.params["after"] == "t3_48f6io"
    assert len(result.mentions) == 100  # the 2014 post is older than the cursor
    assert "t3_2gmzqe" not in {m.external_id for m in result.mentions}
    assert result.requests == 3


def test_slows_down_near_the_rate_limit(client: HttpClient) -> None:
    state = PollState(cursor=json.dumps({"r/askreddit|new": 1456818000.0}))
    with respx.mock() as router:
        mock_token(router)
        listing = router.get(NEW_URL).respond(
            200,
            content=rd(NEW),
            headers={"X-Ratelimit-Remaining": "2.0", "X-Ratelimit-Reset": "240"},
        )
        result = reddit.fetch(client, source(), state)
    assert listing.call_count == 1
    assert result.quota_left == 2
    assert any("rate-limit" in p and "240s" in p for p in result.problems)


def test_search_query_within_subreddits(client: HttpClient) -> None:
    with respx.mock() as router:
        mock_token(router)
        route = router.get("https://oauth.reddit.com/r/redditdev/search").respond(
            200, content=rd(SEARCH)
        )
        result = reddit.fetch(client, source(subreddits="redditdev", query="praw"), PollState())
    params = route.calls[0].request.url.params
    assert (params["q"], params["sort"], params["restrict_sr"]) == ("praw", "new", "1")
    assert len(result.mentions) == 6


def test_403_is_explained_and_never_retried(client: HttpClient) -> None:
    with respx.mock() as router:
        mock_token(router)
        listing = router.get(NEW_URL).respond(403, json={"message": "Forbidden", "error": 403})
        with pytest.raises(SourceAuthError) as info:
            reddit.fetch(client, source(), PollState())
    assert listing.call_count == 1
    assert "approved" in str(info.value) and "2025" in str(info.value)


def test_refused_token_is_explained(client: HttpClient) -> None:
    with respx.mock() as router:
        token = router.post(reddit.TOKEN_URL).respond(401, json={"message": "Unauthorized"})
        with pytest.raises(SourceAuthError) as info:
            reddit.fetch(client, source(), PollState())
    assert token.call_count == 1
    assert "approved OAuth credentials since 2025" in str(info.value)


def test_missing_credentials_fail_before_any_request(
    client: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDDIT_CLIENT_ID", raising=False)
    with respx.mock(assert_all_called=False) as router:
        token = mock_token(router)
        with pytest.raises(SourceAuthError) as info:
            reddit.fetch(client, source(client_id="${REDDIT_CLIENT_ID}"), PollState())
    assert token.call_count == 0
    assert info.value.reason == "no_credentials"


def test_secrets_come_from_the_environment(
    client: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDDIT_CLIENT_ID", "env-id")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "env-secret")
    with respx.mock() as router:
        token = mock_token(router)
        router.get(NEW_URL).respond(200, content=rd(NEW))
        reddit.fetch(
            client,
            source(client_id="${REDDIT_CLIENT_ID}", client_secret="${REDDIT_CLIENT_SECRET}"),
            PollState(),
        )
    expected = base64.b64encode(b"env-id:env-secret").decode()
    assert token.calls[0].request.headers["Authorization"] == f"Basic {expected}"


def test_429_then_5xx_are_retried(client: HttpClient, sleeps: list[float]) -> None:
    with respx.mock() as router:
        mock_token(router)
        listing = router.get(NEW_URL).mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "4"}),
                httpx.Response(500),
                httpx.Response(200, content=rd(NEW)),
            ]
        )
        result = reddit.fetch(client, source(), PollState())
    assert listing.call_count == 3
    assert sleeps[0] == 4.0
    assert len(result.mentions) == 100


# ------------------------------------------------------------------------ refresh


def test_refresh_uses_api_info_in_batches_of_100(client: HttpClient) -> None:
    items = [
        RefreshItem(mention_id=i, source="rd", external_id=f"t3_{i:05d}", url=None)
        for i in range(150)
    ]
    with respx.mock() as router:
        mock_token(router)
        info = router.get("https://oauth.reddit.com/api/info").respond(200, content=rd(SEARCH))
        fresh = reddit.refresh(client, source(), items)
    assert info.call_count == 2
    first_ids = info.calls[0].request.url.params["id"].split(",")
    assert len(first_ids) == 100 and first_ids[0] == "t3_00000"
    assert len(info.calls[1].request.url.params["id"].split(",")) == 50
    assert len(fresh) == 12  # the served listing twice


def test_low_rate_limit_defers_the_next_listing(client: HttpClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_token(router)
        first = router.get(NEW_URL).respond(
            200,
            content=rd(NEW),
            headers={"X-Ratelimit-Remaining": "1.0", "X-Ratelimit-Reset": "100"},
        )
        second = router.get("https://oauth.reddit.com/r/redditdev/new").respond(
            200, content=rd(SEARCH)
        )
        result = reddit.fetch(client, source(subreddits=["askreddit", "redditdev"]), PollState())
    assert first.call_count == 1 and second.call_count == 0
    assert len(result.mentions) == 100
    assert any("r/redditdev|new skipped" in p for p in result.problems)
