"""Lemmy search: parse posts and comments in the v3 API shape (own fixture: no real capture is in
../shared), fetch pages per instance back to the cursor, dedupes federated copies, refresh on
the origin instance."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from earful.config.models import SourceConfig
from earful.errors import ParseError, SourceError, TransientSourceError
from earful.sources import lemmy
from earful.sources.base import PollState, RefreshItem
from earful.sources.http import HttpClient

WORLD = "https://lemmy.world/api/v3/search"
DEV = "https://programming.dev/api/v3/search"


def creator(name: str, host: str = "lemmy.world") -> dict[str, Any]:
    return {
        "id": 4242,
        "name": name,
        "display_name": None,
        "avatar": None,
        "banned": False,
        "published": "2023-06-11T09:12:44.125117Z",
        "actor_id": f"https://{host}/u/{name}",
        "local": host == "lemmy.world",
        "deleted": False,
        "bot_account": False,
        "instance_id": 1,
    }


COMMUNITY = {
    "id": 77,
    "name": "technology",
    "title": "Technology",
    "removed": False,
    "published": "2023-06-10T00:00:00Z",
    "nsfw": False,
    "actor_id": "https://lemmy.world/c/technology",
    "local": True,
    "hidden": False,
    "posting_restricted_to_mods": False,
    "instance_id": 1,
}


def post_view(ident: int, published: str, **post: Any) -> dict[str, Any]:
    body = {
        "id": ident,
        "name": f"Acme router bricked after update #{ident}",
        "url": None,
        "body": "Anyone else? &amp; no reply from **support** for a week.",
        "creator_id": 4242,
        "community_id": 77,
        "removed": False,
        "locked": False,
        "published": published,
        "updated": None,
        "deleted": False,
        "nsfw": False,
        "ap_id": f"https://lemmy.world/post/{ident}",
        "local": True,
        "language_id": 37,
        "featured_community": False,
        "featured_local": False,
    }
    body.update(post)
    return {
        "post": body,
        "creator": creator("grumpy_admin"),
        "community": COMMUNITY,
        "creator_banned_from_community": False,
        "counts": {
            "post_id": ident,
            "comments": 14,
            "score": 57,
            "upvotes": 60,
            "downvotes": 3,
            "published": published,
            "newest_comment_time": published,
        },
        "subscribed": "NotSubscribed",
        "saved": False,
        "read": False,
        "creator_blocked": False,
        "unread_comments": 14,
    }


def comment_view(ident: int, path: str, published: str) -> dict[str, Any]:
    return {
        "comment": {
            "id": ident,
            "creator_id": 9,
            "post_id": 1001,
            "content": "Same here, Acme told me to *factory reset* twice.",
            "removed": False,
            "published": published,
            "updated": None,
            "deleted": False,
            "ap_id": f"https://programming.dev/comment/{ident}",
            "local": False,
            "path": path,
            "distinguished": False,
            "language_id": 0,
        },
        "creator": creator("dev_dan", "programming.dev"),
        "post": post_view(1001, "2024-05-01T10:00:00.000000Z")["post"],
        "community": COMMUNITY,
        "counts": {
            "comment_id": ident,
            "score": 3,
            "upvotes": 3,
            "downvotes": 0,
            "published": published,
            "child_count": 1,
        },
        "creator_banned_from_community": False,
        "subscribed": "NotSubscribed",
        "saved": False,
        "creator_blocked": False,
    }


def search(
    posts: list[dict[str, Any]] | None = None, comments: list[dict[str, Any]] | None = None
) -> bytes:
    body = {
        "type_": "All",
        "comments": comments or [],
        "posts": posts or [],
        "communities": [],
        "users": [],
    }
    return json.dumps(body).encode()


def source(**params: Any) -> SourceConfig:
    base: dict[str, Any] = {"instances": ["lemmy.world"], "query": "acme", "types": ["Posts"]}
    base.update(params)
    return SourceConfig(name="lemmy", kind="lemmy", params=base)


# ------------------------------------------------------------------------ parse


def test_posts_and_comments_parse() -> None:
    body = search(
        posts=[post_view(1001, "2024-05-01T10:00:00.000000Z")],
        comments=[
            comment_view(555, "0.550.555", "2024-05-01T11:30:00.5Z"),
            comment_view(550, "0.550", "2024-05-01T11:00:00"),  # 0.18: naive UTC
        ],
    )
    result = lemmy.parse(body)
    assert result.problems == []
    post, reply, top = result.mentions
    assert post.external_id == "post:1001"
    assert post.url == "https://lemmy.world/post/1001"
    assert post.title == "Acme router bricked after update #1001"
    # Lemmy 0.18 HTML-escaped stored input: entities are decoded, Markdown kept
    assert post.text == "Anyone else? & no reply from **support** for a week."
    assert post.author == "grumpy_admin@lemmy.world"
    assert post.published_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert post.language == "en"
    assert post.engagement.likes == 57 and post.engagement.comments == 14
    assert post.extra["community"] == "technology@lemmy.world"
    assert reply.external_id == "comment:555"
    assert reply.url == "https://programming.dev/comment/555"
    assert reply.parent_id == "comment:550"
    assert reply.author == "dev_dan@programming.dev"
    assert reply.language is None  # language_id 0 = undetermined
    assert reply.engagement.likes == 3 and reply.engagement.comments == 1
    assert reply.published_at == datetime(2024, 5, 1, 11, 30, 0, 500000, tzinfo=UTC)
    assert top.parent_id == "post:1001"
    assert top.published_at == datetime(2024, 5, 1, 11, 0, tzinfo=UTC)


def test_single_post_view_parses() -> None:
    body = json.dumps({"post_view": post_view(7, "2024-05-02T00:00:00Z"), "moderators": []})
    [post] = lemmy.parse(body.encode()).mentions
    assert post.external_id == "post:7"


# ------------------------------------------------------------------------ fetch


def test_first_poll_one_page_per_instance_and_type(client: HttpClient) -> None:
    with respx.mock() as router:
        world = router.get(WORLD).respond(
            200, content=search(posts=[post_view(1001, "2024-05-01T10:00:00Z")])
        )
        result = lemmy.fetch(client, source(), PollState())
    params = world.calls[0].request.url.params
    assert (params["q"], params["type_"], params["sort"]) == ("acme", "Posts", "New")
    assert params["page"] == "1" and params["limit"] == "50"
    assert [m.external_id for m in result.mentions] == ["post:1001"]
    assert json.loads(result.cursor or "{}") == {
        "https://lemmy.world|posts": "2024-05-01T10:00:00+00:00"
    }


def test_cursor_poll_pages_back_to_the_cursor_and_dedupes_instances(client: HttpClient) -> None:
    page1 = search(
        posts=[post_view(3, "2024-05-03T00:00:00Z"), post_view(2, "2024-05-02T00:00:00Z")]
    )
    page2 = search(posts=[post_view(1, "2024-05-01T00:00:00Z")])  # at the cursor: stop
    state = PollState(
        cursor=json.dumps(
            {
                "https://lemmy.world|posts": "2024-05-01T00:00:00+00:00",
                "https://programming.dev|posts": "2024-05-01T00:00:00+00:00",
            }
        )
    )
    with respx.mock() as router:
        world = router.get(WORLD).mock(
            side_effect=[httpx.Response(200, content=page1), httpx.Response(200, content=page2)]
        )
        # programming.dev federates the same post 3 under its own local id
        copy = post_view(3, "2024-05-03T00:00:00Z")
        copy["post"]["id"] = 88
        dev = router.get(DEV).respond(200, content=search(posts=[copy]))
        result = lemmy.fetch(
            client, source(instances="lemmy.world, programming.dev", limit=2), state
        )
    assert [c.request.url.params["page"] for c in world.calls] == ["1", "2"]
    assert dev.call_count == 1
    assert sorted(m.url or "" for m in result.mentions) == [
        "https://lemmy.world/post/2",
        "https://lemmy.world/post/3",
    ]
    cursor = json.loads(result.cursor or "{}")
    assert cursor["https://lemmy.world|posts"] == "2024-05-03T00:00:00+00:00"


def test_missing_query_is_a_config_problem(client: HttpClient) -> None:
    with pytest.raises(SourceError, match="query"):
        lemmy.fetch(client, source(query=""), PollState())


def test_5xx_retried_then_raised(client: HttpClient) -> None:
    with respx.mock() as router:
        route = router.get(WORLD).respond(500)
        with pytest.raises(TransientSourceError):
            lemmy.fetch(client, source(), PollState())
    assert route.call_count == 3


# ------------------------------------------------------------------------ refresh


def test_refresh_reads_the_origin_instance(client: HttpClient) -> None:
    items = [
        RefreshItem(
            mention_id=1, source="lemmy", external_id="post:88", url="https://lemmy.world/post/3"
        ),
        RefreshItem(
            mention_id=2,
            source="lemmy",
            external_id="comment:555",
            url="https://programming.dev/comment/555",
        ),
    ]
    fresh_post = post_view(3, "2024-05-03T00:00:00Z")
    fresh_post["counts"]["score"] = 250
    with respx.mock() as router:
        post = router.get("https://lemmy.world/api/v3/post").respond(
            200, json={"post_view": fresh_post, "moderators": [], "cross_posts": []}
        )
        comment = router.get("https://programming.dev/api/v3/comment").respond(
            200, json={"comment_view": comment_view(555, "0.555", "2024-05-01T11:30:00Z")}
        )
        fresh = lemmy.refresh(client, source(), items)
    assert post.calls[0].request.url.params["id"] == "3"
    assert comment.calls[0].request.url.params["id"] == "555"
    assert [(m.external_id, m.engagement.likes) for m in fresh] == [
        ("post:88", 250),
        ("comment:555", 3),
    ]


def test_parse_skips_a_malformed_view_and_refuses_a_non_array() -> None:
    good = {"post": {"id": 7, "name": "Acme", "published": "2024-05-01T10:00:00Z"}}
    body = json.dumps({"posts": [good, {"post": {"id": 8}, "creator": 0.5}]}).encode()
    result = lemmy.parse(body)
    assert [m.external_id for m in result.mentions] == ["post:7"]
    assert result.problems and "AttributeError" in result.problems[0]
    with pytest.raises(ParseError) as info:
        lemmy.parse(b'{"posts": 12}')
    assert info.value.reason == "shape"
