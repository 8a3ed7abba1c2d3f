"""The outside world of every source kind, mocked with respx for an in-process run.

Each API answers with the *real* recorded body from ../shared/fixtures/real/<kind>/ (read at
test time). Lemmy and GitHub have no real capture: they answer with the unit tests' fixtures,
which follow the APIs' shapes. Where a call has no recording the answer is derived from one:

* refresh endpoints (HN ``search?tags=story,(…)``, Reddit ``/api/info``, Mastodon
  ``statuses/:id``, Lemmy ``post``/``comment``, Stack Exchange ``questions/{ids}``, GitHub
  ``issues/N``, YouTube ``videos``/``comments``, Bluesky ``getPosts``) serve the recorded
  items whose ids were asked for, with every count grown by :func:`grow` for the current
  generation (0 = the recorded counts; :meth:`World.bump` moves to the next);
* YouTube ``videos.list``: the recorded videos.list item (which lacks ``statistics``) as the
  frame, each asked-for video's recorded search snippet, and statistics made here;
* Bluesky ``searchPosts``/``getProfiles``: the recorded postViews wrapped in ``{"posts": …}``;
  profiles are the recorded authors plus a made-up ``followersCount``;
* Reddit's token, Bluesky's session and jsonld's robots.txt are small bodies of the APIs'
  documented shapes.

Every request that no route matches fails the poll that made it (``assert_all_mocked``).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import respx

from tests.conftest import fixture_bytes
from tests.unit.sources.test_github import issue, search_body
from tests.unit.sources.test_lemmy import comment_view, post_view, search

# kind -> the recorded body served by the kind's search/listing endpoint
FIXTURES: dict[str, tuple[str, str]] = {
    "rss": ("rss", "netnewswire_manton.rss"),
    "hackernews": ("hn_algolia", "search_story_theoretical_biologist.json"),
    "reddit": ("reddit", "praw_TestSubredditListings.test_new__r_askreddit_new.json"),
    "mastodon": ("mastodon", "mastodonpy_test_hashtag_tl__timelines_tag_hoot.json"),
    "stackexchange": ("stackexchange", "search_java_withbody_total.json"),
    "youtube": ("youtube", "python-youtube_search_search_by_keywords_p1.json"),
    "appstore": ("appstore", "reviewer_customerreviews_jp_id1404176564_mostRecent_page1.json"),
    "jsonld": ("jsonld_reviews", "recipe-scrapers_allrecipes.com_jsonld.html"),
    "yelp": ("yelp", "yelp-fusion-docs-example_business_reviews_lapalma_2016.json"),
}
YT_VIDEOS = ("youtube", "python-youtube_videos_videos_info_multi.json")
YT_THREADS = ("youtube", "python-youtube_comment_threads_comment_threads_by_video_paged_1.json")
YT_CHANNELS = ("youtube", "python-youtube_channels_info_multiple.json")
BSKY_FEED_ITEM = ("bluesky", "feedViewPost_reasonRepost_quote_washingtonpost.json")
BSKY_THREAD = ("bluesky", "marshalx-atproto_thread_view_post_with_embed_media.json")

# The video whose comment threads YT_THREADS recorded (tracked via params.videos).
YT_TRACKED_VIDEO = "F1UP7wRCPH8"
LEMMY_POST, LEMMY_COMMENT = 7, 555
GITHUB_ISSUES = (1, 2)
FEED_URL = "https://www.manton.org/feed/"
JSONLD_URL = "https://www.allrecipes.com/recipe/133948/four-cheese-margherita-pizza/"
YELP_BUSINESS = "la-palma-mexicatessen-san-francisco"
APP_ID = "1404176564"


def grow(value: Any, gen: int) -> int:
    """``value`` (an int or a numeric string, as YouTube sends) after ``gen`` growth steps:
    at least doubled and +5 per step, so every count rises — zeros too."""
    base = int(value or 0)
    return base + gen * (base + 5)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(data).encode(), headers=headers)


def _real(kind: str) -> bytes:
    return fixture_bytes(*FIXTURES[kind])


def _real_json(parts: tuple[str, str]) -> Any:
    return json.loads(fixture_bytes(*parts))


class World:
    """The routes of every source, and the generation their refresh answers are at."""

    def __init__(self) -> None:
        self.gen = 0
        self.router = respx.Router(assert_all_called=False, assert_all_mocked=True)
        self.refresh_calls: dict[str, int] = {}
        self._route_all()

    def bump(self) -> None:
        """Engagement grows: every refresh answer from now on carries larger counts."""
        self.gen += 1

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.router.handler)

    # ----------------------------------------------------------------- plumbing

    def _counted(
        self, name: str, answer: Callable[[httpx.Request], httpx.Response]
    ) -> Callable[[httpx.Request], httpx.Response]:
        def handler(request: httpx.Request) -> httpx.Response:
            self.refresh_calls[name] = self.refresh_calls.get(name, 0) + 1
            return answer(request)

        return handler

    def _route_all(self) -> None:
        r = self.router
        r.get(FEED_URL).respond(
            200, content=_real("rss"), headers={"Content-Type": "application/rss+xml"}
        )
        self._route_hackernews()
        self._route_reddit()
        self._route_mastodon()
        self._route_lemmy()
        self._route_stackexchange()
        self._route_github()
        self._route_youtube()
        r.get(url__regex=r"^https://itunes\.apple\.com/jp/rss/customerreviews/").respond(
            200, content=_real("appstore"), headers={"Content-Type": "application/json"}
        )
        r.get("https://www.allrecipes.com/robots.txt").respond(
            200, text="User-agent: *\nDisallow: /search\n"
        )
        r.get(JSONLD_URL).respond(
            200, content=_real("jsonld"), headers={"Content-Type": "text/html; charset=utf-8"}
        )
        r.get(f"https://api.yelp.com/v3/businesses/{YELP_BUSINESS}/reviews", name="yelp").respond(
            200, content=_real("yelp"), headers={"Content-Type": "application/json"}
        )
        self._route_bluesky()

    # ----------------------------------------------------------------- per kind

    def _route_hackernews(self) -> None:
        body = _real("hackernews")
        recorded = json.loads(body)
        self.router.get("https://hn.algolia.com/api/v1/search_by_date").respond(
            200, content=body, headers={"Content-Type": "application/json"}
        )

        def items(request: httpx.Request) -> httpx.Response:
            wanted = set(re.findall(r"story_(\d+)", request.url.params.get("tags", "")))
            data = copy.deepcopy(recorded)
            data["hits"] = [h for h in data["hits"] if h["objectID"] in wanted]
            for hit in data["hits"]:
                hit["points"] = grow(hit.get("points"), self.gen)
                hit["num_comments"] = grow(hit.get("num_comments"), self.gen)
            data["nbHits"] = len(data["hits"])
            return _json(data)

        self.router.get("https://hn.algolia.com/api/v1/search").mock(
            side_effect=self._counted("hackernews", items)
        )

    def _route_reddit(self) -> None:
        body = _real("reddit")
        recorded = json.loads(body)
        limits = {
            "X-Ratelimit-Remaining": "595",
            "X-Ratelimit-Used": "5",
            "X-Ratelimit-Reset": "300",
        }
        self.router.post("https://www.reddit.com/api/v1/access_token", name="reddit-token").respond(
            200,
            json={"access_token": "app-token", "token_type": "bearer", "expires_in": 86400},
        )
        self.router.get("https://oauth.reddit.com/r/askreddit/new").respond(
            200, content=body, headers={"Content-Type": "application/json", **limits}
        )

        def info(request: httpx.Request) -> httpx.Response:
            wanted = set(request.url.params.get("id", "").split(","))
            children = [
                copy.deepcopy(c)
                for c in recorded["data"]["children"]
                if c["data"]["name"] in wanted
            ]
            for child in children:
                for count in ("score", "ups", "num_comments"):
                    child["data"][count] = grow(child["data"].get(count), self.gen)
            listing = {"after": None, "before": None, "children": children}
            return _json({"kind": "Listing", "data": listing}, headers=limits)

        self.router.get("https://oauth.reddit.com/api/info").mock(
            side_effect=self._counted("reddit", info)
        )

    def _route_mastodon(self) -> None:
        body = _real("mastodon")
        statuses = {s["id"]: s for s in json.loads(body)}
        self.router.get("https://mastodon.social/api/v1/timelines/tag/hoot").respond(
            200, content=body, headers={"Content-Type": "application/json"}
        )

        def status(request: httpx.Request) -> httpx.Response:
            found = statuses.get(request.url.path.rsplit("/", 1)[-1])
            if found is None:
                return _json({"error": "Record not found"}, status=404)
            data = copy.deepcopy(found)
            for count in ("favourites_count", "reblogs_count", "replies_count"):
                data[count] = grow(data.get(count), self.gen)
            data["account"]["followers_count"] = grow(
                data["account"].get("followers_count"), self.gen
            )
            return _json(data)

        # The recorded statuses come from a test server: their origin (from their URL) is it.
        self.router.get(url__regex=r"^https?://[^/]+/api/v1/statuses/\d+$").mock(
            side_effect=self._counted("mastodon", status)
        )

    def _route_lemmy(self) -> None:
        published = "2024-05-03T00:00:00Z"

        def find(request: httpx.Request) -> httpx.Response:
            if request.url.params.get("type_") == "Comments":
                return httpx.Response(
                    200, content=search(comments=[comment_view(LEMMY_COMMENT, "0.555", published)])
                )
            return httpx.Response(200, content=search(posts=[post_view(LEMMY_POST, published)]))

        def post(request: httpx.Request) -> httpx.Response:
            view = post_view(int(request.url.params["id"]), published)
            for count in ("score", "upvotes", "comments"):
                view["counts"][count] = grow(view["counts"][count], self.gen)
            return _json({"post_view": view, "moderators": [], "cross_posts": []})

        def comment(request: httpx.Request) -> httpx.Response:
            view = comment_view(int(request.url.params["id"]), "0.555", published)
            for count in ("score", "upvotes", "child_count"):
                view["counts"][count] = grow(view["counts"][count], self.gen)
            return _json({"comment_view": view})

        self.router.get("https://lemmy.world/api/v3/search").mock(side_effect=find)
        self.router.get("https://lemmy.world/api/v3/post").mock(
            side_effect=self._counted("lemmy", post)
        )
        self.router.get("https://programming.dev/api/v3/comment").mock(
            side_effect=self._counted("lemmy", comment)
        )

    def _route_stackexchange(self) -> None:
        body = _real("stackexchange")
        recorded = json.loads(body)
        self.router.get("https://api.stackexchange.com/2.3/search/advanced").respond(
            200, content=body, headers={"Content-Type": "application/json"}
        )

        def questions(request: httpx.Request) -> httpx.Response:
            wanted = set(request.url.path.rsplit("/", 1)[-1].split(";"))
            items = [copy.deepcopy(i) for i in recorded["items"] if str(i["question_id"]) in wanted]
            for item in items:
                for count in ("score", "view_count", "answer_count"):
                    item[count] = grow(item.get(count), self.gen)
            return _json(
                {"items": items, "has_more": False, "quota_max": 300, "quota_remaining": 290}
            )

        self.router.get(url__regex=r"^https://api\.stackexchange\.com/2\.3/questions/[\d;]+").mock(
            side_effect=self._counted("stackexchange", questions)
        )

    def _route_github(self) -> None:
        self.router.get("https://api.github.com/search/issues").respond(
            200,
            content=search_body([issue(n) for n in GITHUB_ISSUES]),
            headers={"X-RateLimit-Remaining": "9", "Content-Type": "application/json"},
        )

        def one(request: httpx.Request) -> httpx.Response:
            data = issue(int(request.url.path.rsplit("/", 1)[-1]))
            data["comments"] = grow(data["comments"], self.gen)
            data["reactions"] = dict(data["reactions"])
            data["reactions"]["total_count"] = grow(data["reactions"]["total_count"], self.gen)
            data["reactions"]["+1"] = grow(data["reactions"]["+1"], self.gen)
            return _json(data)

        self.router.get(url__regex=r"^https://api\.github\.com/repos/acme/widget/issues/\d+$").mock(
            side_effect=self._counted("github", one)
        )

    def _route_youtube(self) -> None:
        api = "https://www.googleapis.com/youtube/v3"
        search_body_ = _real("youtube")
        snippets = {
            i["id"]["videoId"]: i["snippet"]
            for i in json.loads(search_body_)["items"]
            if i["id"].get("videoId")
        }
        frame = _real_json(YT_VIDEOS)
        threads = _real_json(YT_THREADS)
        comments: dict[str, Any] = {}
        for thread in threads["items"]:
            top = thread["snippet"]["topLevelComment"]
            comments[top["id"]] = top
            for reply in thread.get("replies", {}).get("comments", []):
                comments[reply["id"]] = reply
        order = list(snippets)

        self.router.get(f"{api}/search", name="youtube-search").respond(
            200, content=search_body_, headers={"Content-Type": "application/json"}
        )
        self.router.get(f"{api}/commentThreads").respond(
            200, content=fixture_bytes(*YT_THREADS), headers={"Content-Type": "application/json"}
        )
        self.router.get(f"{api}/channels").respond(
            200, content=fixture_bytes(*YT_CHANNELS), headers={"Content-Type": "application/json"}
        )

        def videos(request: httpx.Request) -> httpx.Response:
            data = {k: v for k, v in frame.items() if k != "items"}
            template = frame["items"][0]
            items = []
            for vid in request.url.params.get("id", "").split(","):
                if vid not in snippets:
                    continue
                rank = order.index(vid)
                stats = {
                    "viewCount": str(grow(10_000 + 100 * rank, self.gen)),
                    "likeCount": str(grow(400 + rank, self.gen)),
                    "favoriteCount": "0",
                    "commentCount": str(grow(30 + rank, self.gen)),
                }
                items.append(
                    {
                        "kind": template["kind"],
                        "etag": template["etag"],
                        "id": vid,
                        "snippet": snippets[vid],
                        "statistics": stats,
                    }
                )
            data["items"] = items
            data["pageInfo"] = {"totalResults": len(items), "resultsPerPage": len(items)}
            return _json(data)

        def comment_list(request: httpx.Request) -> httpx.Response:
            items = []
            for cid in request.url.params.get("id", "").split(","):
                if cid in comments:
                    item = copy.deepcopy(comments[cid])
                    item["snippet"]["likeCount"] = grow(item["snippet"].get("likeCount"), self.gen)
                    items.append(item)
            return _json({"kind": "youtube#commentListResponse", "items": items})

        self.router.get(f"{api}/videos").mock(side_effect=self._counted("youtube", videos))
        self.router.get(f"{api}/comments").mock(side_effect=self._counted("youtube", comment_list))

    def _route_bluesky(self) -> None:
        outer = _real_json(BSKY_FEED_ITEM)["post"]
        quoted = outer["embed"]["record"]
        # the quoted viewRecord as the postView getPosts would answer for its URI
        quoted_view = {
            "uri": quoted["uri"],
            "cid": quoted["cid"],
            "author": quoted["author"],
            "record": quoted["value"],
            "embed": quoted["embeds"][0],
            **{k: quoted[k] for k in ("replyCount", "repostCount", "likeCount", "quoteCount")},
            "indexedAt": quoted["indexedAt"],
            "labels": quoted["labels"],
        }
        thread_post = _real_json(BSKY_THREAD)["thread"]["post"]
        views = {v["uri"]: v for v in (outer, quoted_view, thread_post)}
        authors = {v["author"]["did"]: v["author"] for v in (outer, quoted, thread_post)}
        dids = sorted(authors)

        def grown(view: dict[str, Any]) -> dict[str, Any]:
            view = copy.deepcopy(view)
            # The AppView hydrates a quoted post (embed viewRecord) with its live counts too.
            embedded = view.get("embed", {}).get("record", {})
            for node in (view, embedded):
                for count in ("likeCount", "repostCount", "replyCount", "quoteCount"):
                    if isinstance(node.get(count), int):
                        node[count] = grow(node[count], self.gen)
            return view

        def session(request: httpx.Request) -> httpx.Response:
            ident = json.loads(request.content)["identifier"]
            return _json(
                {
                    "accessJwt": "access-jwt",
                    "refreshJwt": "refresh-jwt",
                    "handle": ident,
                    "did": "did:plc:earfulfixture00000000000",
                }
            )

        def search_posts(request: httpx.Request) -> httpx.Response:
            if request.headers.get("Authorization") != "Bearer access-jwt":
                return _json({"error": "AuthMissing"}, status=401)
            return _json({"posts": [outer, thread_post]})

        def profiles(request: httpx.Request) -> httpx.Response:
            found = []
            for did in request.url.params.get_list("actors"):
                if did in authors:
                    profile = copy.deepcopy(authors[did])
                    profile["followersCount"] = grow(1000 * (dids.index(did) + 1), self.gen)
                    found.append(profile)
            return _json({"profiles": found})

        def get_posts(request: httpx.Request) -> httpx.Response:
            uris = request.url.params.get_list("uris")
            return _json({"posts": [grown(views[u]) for u in uris if u in views]})

        r = self.router
        r.post("https://bsky.social/xrpc/com.atproto.server.createSession", name="bsky-login").mock(
            side_effect=session
        )
        r.get("https://bsky.social/xrpc/app.bsky.feed.searchPosts").mock(side_effect=search_posts)
        r.get(
            url__regex=r"^https://(bsky\.social|public\.api\.bsky\.app)/xrpc/app\.bsky\.actor\.getProfiles"
        ).mock(side_effect=profiles)
        r.get("https://public.api.bsky.app/xrpc/app.bsky.feed.getPosts").mock(
            side_effect=self._counted("bluesky", get_posts)
        )
