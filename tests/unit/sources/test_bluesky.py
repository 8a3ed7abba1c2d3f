"""Bluesky: real Jetstream events, feed/thread views; search with app password, refresh."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from earful.config.models import SourceConfig
from earful.errors import SourceAuthError
from earful.sources import bluesky
from earful.sources.base import PollState, RefreshItem
from earful.sources.http import HttpClient
from tests.conftest import fixture_bytes

FERRARI = "at://did:plc:niay7ajcptgklwrhknvnhk44/app.bsky.feed.post/3lhjnkjle5s2o"
WAPO = "at://did:plc:k5nskatzhyxersjilvtnz4lh/app.bsky.feed.post/3lhjg47rc6c2o"


def bsky(name: str) -> bytes:
    return fixture_bytes("bluesky", name)


@pytest.fixture(autouse=True)
def _fresh_sessions() -> Iterator[None]:
    bluesky._sessions.clear()
    yield
    bluesky._sessions.clear()


@pytest.fixture
def max_retries() -> int:
    return 1


def test_jetstream_events_only_post_creates_are_mentions() -> None:
    ms = bluesky.parse(bsky("jetstream_events_2024-11-21.jsonl")).mentions
    assert len(ms) == 2  # 2 posts; 2 likes and 1 follow are not mentions
    first = ms[0]
    assert (
        first.external_id
        == "at://did:plc:yj3sjq3blzpynh27cumnp5ks/app.bsky.feed.post/3lbhtyteurk2y"
    )
    assert (
        first.url == "https://bsky.app/profile/did:plc:yj3sjq3blzpynh27cumnp5ks/post/3lbhtyteurk2y"
    )
    assert first.text == "aaaaah.  LIght shines in a corner of WTF...."
    assert first.language == "en"
    assert first.published_at == datetime(2024, 11, 21, 16, 9, 27, 95000, tzinfo=UTC)
    assert (
        first.parent_id == "at://did:plc:6tr6tuzlx2db3rduzr2d6r24/app.bsky.feed.post/3lbhqo2rtys2z"
    )
    assert first.author is None and first.engagement.is_empty()  # the stream has neither
    assert first.extra["time_us"] == 1732206349000167
    assert ms[1].text == "okay i take mine back because I hadn’t heard this one yet^^"
    assert (
        ms[1].parent_id == "at://did:plc:6wx2gg5yqgvmlu35r6y3bk6d/app.bsky.feed.post/3lbhtj2eb4s2o"
    )


def test_single_event_delete_and_like() -> None:
    line = bsky("jetstream_events_2024-11-21.jsonl").splitlines()[0]
    assert len(bluesky.parse(line).mentions) == 1
    event = json.loads(line)
    event["commit"]["operation"] = "delete"
    assert bluesky.mention_from_event(event) is None
    like = json.loads(bsky("jetstream_events_2024-11-21.jsonl").splitlines()[1])
    assert bluesky.mention_from_event(like) is None


def test_feed_view_post_repost_with_quote() -> None:
    ms = bluesky.parse(bsky("feedViewPost_reasonRepost_quote_washingtonpost.json")).mentions
    assert [m.external_id for m in ms] == [FERRARI, WAPO]
    post, quoted = ms
    assert (
        post.url == "https://bsky.app/profile/did:plc:niay7ajcptgklwrhknvnhk44/post/3lhjnkjle5s2o"
    )
    assert post.author == "theferrarilab.bsky.social"
    assert post.extra["display_name"] == "The Ferrari Lab"
    assert post.text.startswith("Rule 2. If you ever find yourself in a bar fight")
    assert "\n\nRule 1. Know when you are in a bar fight." in post.text
    assert post.published_at == datetime(2025, 2, 6, 17, 50, 33, 851000, tzinfo=UTC)
    assert (post.engagement.likes, post.engagement.shares, post.engagement.comments) == (9, 7, 1)
    assert post.extra["reposted_by"] == "daniloc.xyz"
    assert post.extra["quotes_uri"] == WAPO
    assert quoted.author == "washingtonpost.com"
    # shares = 722 reposts + 217 quote posts
    assert (quoted.engagement.likes, quoted.engagement.shares, quoted.engagement.comments) == (
        1700,
        939,
        193,
    )
    assert quoted.extra["reposts"] == 722 and quoted.extra["quotes"] == 217
    assert quoted.language == "en" and quoted.author_followers is None


def test_thread_view_with_record_with_media() -> None:
    ms = bluesky.parse(bsky("marshalx-atproto_thread_view_post_with_embed_media.json")).mentions
    assert [m.external_id for m in ms] == [
        "at://did:plc:kvwvcn5iqfooopmyzvb4qzba/app.bsky.feed.post/3kaheyt6vpc22",
        "at://did:plc:kvwvcn5iqfooopmyzvb4qzba/app.bsky.feed.post/3kahesw26il2z",
    ]
    assert ms[0].text == "" and ms[0].author == "test.marshal.dev"
    assert ms[0].engagement.likes == 0 and ms[0].engagement.comments == 0
    assert ms[1].text == "test"
    assert ms[1].published_at == datetime(2023, 9, 28, 12, 46, 18, 414000, tzinfo=UTC)


def test_follows_and_profiles_are_not_mentions() -> None:
    assert bluesky.parse(bsky("marshalx-atproto_get_follows.json")).mentions == []
    profiles = {"profiles": [{"did": "did:plc:x", "handle": "x.bsky.social", "followersCount": 42}]}
    assert bluesky.parse(json.dumps(profiles).encode()).mentions == []
    assert bluesky.profile_followers(profiles) == {"did:plc:x": 42, "x.bsky.social": 42}


# ------------------------------------------------------------------------ fetch / refresh


def _post_view(likes: int = 9) -> dict[str, Any]:
    view: dict[str, Any] = json.loads(bsky("feedViewPost_reasonRepost_quote_washingtonpost.json"))[
        "post"
    ]
    view["likeCount"] = likes
    return view


def _profiles(request: httpx.Request) -> httpx.Response:
    dids = request.url.params.get_list("actors")
    return httpx.Response(
        200, json={"profiles": [{"did": d, "followersCount": 1000 + i} for i, d in enumerate(dids)]}
    )


@respx.mock
def test_search_with_app_password_session(client: HttpClient) -> None:
    login = respx.post("https://bsky.social/xrpc/com.atproto.server.createSession").mock(
        return_value=httpx.Response(200, json={"accessJwt": "jwt-1", "did": "did:plc:me"})
    )
    search = respx.get("https://bsky.social/xrpc/app.bsky.feed.searchPosts").mock(
        side_effect=[
            httpx.Response(200, json={"posts": [_post_view()], "cursor": "25"}),
            httpx.Response(200, json={"posts": []}),
        ]
    )
    profiles = respx.get("https://bsky.social/xrpc/app.bsky.actor.getProfiles").mock(
        side_effect=_profiles
    )
    cfg = SourceConfig(
        name="bs",
        kind="bluesky",
        params={"q": "acme", "handle": "me.bsky.social", "app_password": "xxxx", "max_pages": 3},
    )
    result = bluesky.fetch(client, cfg, PollState(cursor="2025-01-01T00:00:00Z"))
    assert login.call_count == 1
    assert json.loads(login.calls[0].request.content) == {
        "identifier": "me.bsky.social",
        "password": "xxxx",
    }
    first = search.calls[0].request
    assert first.headers["authorization"] == "Bearer jwt-1"
    assert first.url.params["since"] == "2025-01-01T00:00:00Z"
    assert search.calls[1].request.url.params["cursor"] == "25"
    assert profiles.call_count == 1
    assert [m.external_id for m in result.mentions] == [FERRARI, WAPO]
    assert result.mentions[0].author_followers in (1000, 1001)
    assert result.cursor == "2025-02-06T17:50:33.851000Z"
    search.side_effect = None
    search.return_value = httpx.Response(200, json={"posts": []})
    bluesky.fetch(client, cfg, PollState())
    assert login.call_count == 1  # session reused


@respx.mock
def test_anonymous_search_refused_is_explained(client: HttpClient) -> None:
    respx.get(f"{bluesky.PUBLIC_APPVIEW}/xrpc/app.bsky.feed.searchPosts").mock(
        return_value=httpx.Response(403, json={"error": "Forbidden"})
    )
    cfg = SourceConfig(name="bs", kind="bluesky", params={"q": "acme"})
    with pytest.raises(SourceAuthError, match="app_password") as err:
        bluesky.fetch(client, cfg, PollState())
    assert err.value.reason == "auth_required"


@respx.mock
def test_bad_app_password_is_a_login_error(client: HttpClient) -> None:
    respx.post("https://bsky.social/xrpc/com.atproto.server.createSession").mock(
        return_value=httpx.Response(401, json={"error": "AuthenticationRequired"})
    )
    cfg = SourceConfig(
        name="bs", kind="bluesky", params={"q": "a", "handle": "me", "app_password": "bad"}
    )
    with pytest.raises(SourceAuthError, match="app password"):
        bluesky.fetch(client, cfg, PollState())


@respx.mock
def test_refresh_batches_25_uris(client: HttpClient) -> None:
    def get_posts(request: httpx.Request) -> httpx.Response:
        posts = []
        for uri in request.url.params.get_list("uris"):
            view = _post_view(likes=50)
            view["uri"] = uri
            view.pop("embed", None)
            posts.append(view)
        return httpx.Response(200, json={"posts": posts})

    route = respx.get(f"{bluesky.PUBLIC_APPVIEW}/xrpc/app.bsky.feed.getPosts").mock(
        side_effect=get_posts
    )
    respx.get(f"{bluesky.PUBLIC_APPVIEW}/xrpc/app.bsky.actor.getProfiles").mock(
        side_effect=_profiles
    )
    items = [
        RefreshItem(i, "bluesky", f"at://did:plc:a{i}/app.bsky.feed.post/r{i}", None)
        for i in range(30)
    ]
    out = bluesky.refresh(client, SourceConfig(name="bs", kind="bluesky"), items)
    assert [len(c.request.url.params.get_list("uris")) for c in route.calls] == [25, 5]
    assert len(out) == 30 and all(m.engagement.likes == 50 for m in out)
    assert out[0].author_followers == 1000


def test_jetstream_mode_poll_is_a_no_op(client: HttpClient) -> None:
    cfg = SourceConfig(name="fh", kind="bluesky", params={"mode": "jetstream"})
    result = bluesky.fetch(client, cfg, PollState(cursor="1732206349001905"))
    assert result.mentions == [] and result.cursor == "1732206349001905"


@respx.mock
def test_refresh_retries_429_with_retry_after(client: HttpClient) -> None:
    ok = httpx.Response(200, json={"posts": [_post_view(likes=12)]})
    route = respx.get(f"{bluesky.PUBLIC_APPVIEW}/xrpc/app.bsky.feed.getPosts").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "2"}), ok]
    )
    cfg = SourceConfig(name="bs", kind="bluesky", params={"followers": False})
    out = bluesky.refresh(client, cfg, [RefreshItem(1, "bluesky", FERRARI, None)])
    assert route.call_count == 2
    assert [(m.external_id, m.engagement.likes) for m in out] == [(FERRARI, 12)]


def test_a_malformed_post_view_is_noted_and_the_others_kept() -> None:
    good = {
        "uri": "at://did:plc:a/app.bsky.feed.post/1",
        "record": {"text": "Acme", "createdAt": "2024-05-01T10:00:00Z"},
        "author": {"handle": "a.bsky.social"},
    }
    bad = dict(good, uri="at://did:plc:a/app.bsky.feed.post/2", author="a.bsky.social")
    result = bluesky.parse(json.dumps({"posts": [7, bad, good]}).encode())
    assert [m.external_id for m in result.mentions] == [good["uri"]]
    assert len(result.problems) == 2
