"""Local servers of ``earful demo``: a time-aware "internet" and a signed-webhook receiver.

:class:`WorldServer` (ThreadingHTTPServer on 127.0.0.1) answers as the services the demo's
sources read, showing what exists at the *simulated* time of a shared clock:

* a Mastodon instance — ``/api/v1/timelines/tag/<tag>`` (``min_id`` paging, newest first)
  and ``/api/v1/statuses/<id>`` (engagement re-polls), with favourites, reblogs, replies and
  follower counts as of now;
* the YouTube Data API — ``/youtube/v3/search`` (``publishedAfter``), ``/videos``
  (statistics as of now) and ``/channels`` (subscribers). The YouTube connector's API host is
  fixed, so the demo's HTTP client routes ``www.googleapis.com`` to this server
  (:class:`LocalApiTransport`): real requests and responses over local HTTP, nothing mocked;
* JSON Feeds of the month of demo mentions (``/feeds/<name>.json``: items published by now),
  and any path listed in ``failing`` answering 503 (a source that is down).

:class:`WebhookReceiver` is the other end of the signed JSON webhook channel: it verifies
the Standard Webhooks signature and timestamp and de-duplicates on the idempotency key.
"""

from __future__ import annotations

import html
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from earful.clock import Clock, isoformat_z, parse_iso
from earful.demo.local_server import LocalServer, send_body

logger = logging.getLogger(__name__)

COUNT_FIELDS = ("views", "likes", "shares", "comments", "author_followers")


@dataclass
class Post:
    """One scenario post and its cumulative counts over time."""

    kind: str  # "mastodon" or "youtube"
    ident: str  # numeric status id, or the 11-character video id
    at: datetime  # when it appears
    published: datetime
    author: str
    text: str
    title: str | None = None
    language: str = "en"
    origin: str = ""  # the scenario's source (twitter, blog, ...)
    curve: list[tuple[datetime, dict[str, int]]] = field(default_factory=list)

    def counts(self, now: datetime) -> dict[str, int]:
        out: dict[str, int] = {}
        for at, values in self.curve:
            if at > now:
                break
            out.update(values)
        return out


def posts_from_events(events: list[dict[str, Any]], *, first_id: int = 1000) -> list[Post]:
    """Scenario events (``replay.load_scenario``) as posts: YouTube events become videos, the
    others statuses of the local Mastodon instance (numeric ids in order of appearance)."""
    posts: dict[tuple[str, str], Post] = {}
    next_id = first_id
    for ev in events:
        key = (str(ev["source"]), str(ev["id"]))
        counts = {f: int(ev[f]) for f in COUNT_FIELDS if ev.get(f) is not None}
        if ev["type"] == "mention":
            if key in posts:
                continue
            youtube = ev["source"] == "youtube" and len(str(ev["id"])) == 11
            ident = str(ev["id"]) if youtube else str(next_id)
            next_id += 0 if youtube else 1
            post = Post(
                kind="youtube" if youtube else "mastodon",
                ident=ident,
                at=ev["_at"],
                published=ev.get("_published") or ev["_at"],
                author=str(ev.get("author") or "anonymous"),
                text=str(ev.get("text") or ""),
                title=ev.get("title"),
                language=str(ev.get("language") or "en"),
                origin=str(ev["source"]),
            )
            post.curve.append((ev["_at"], counts))
            posts[key] = post
        elif key in posts:
            posts[key].curve.append((ev["_at"], counts))
    return list(posts.values())


@dataclass
class FeedItem:
    ident: str
    at: datetime
    author: str
    text: str
    title: str | None = None


class WorldServer(LocalServer):
    """See the module docstring. ``clock`` decides what exists; counts are read per request."""

    def __init__(
        self,
        clock: Clock,
        *,
        posts: list[Post] | None = None,
        feeds: dict[str, list[FeedItem]] | None = None,
        failing: set[str] | None = None,
        tag: str = "united",
    ) -> None:
        self.clock = clock
        self.posts = sorted(posts or [], key=lambda p: p.at)
        self.feeds = feeds or {}
        self.failing = failing or set()
        self.tag = tag
        self.requests = 0
        self._lock = threading.Lock()
        world = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with world._lock:
                    world.requests += 1
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                try:
                    status, body, ctype = world.answer(parts.path, query)
                except Exception:  # a demo bug answers 500, like a real server would
                    logger.exception("demo server: %s", self.path)
                    status, body, ctype = 500, b"error", "text/plain"
                send_body(self, status, body, ctype)

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("demo server: " + format, *args)

        self._serve(Handler)

    # -- answers ----------------------------------------------------------------------------

    def _visible(self, kind: str, now: datetime) -> list[Post]:
        return [p for p in self.posts if p.kind == kind and p.at <= now]

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, bytes, str]:
        now = self.clock.now()
        if path in self.failing:
            return 503, b"service unavailable", "text/plain"
        if path.startswith("/feeds/") and path.endswith(".json"):
            name = path[len("/feeds/") : -len(".json")]
            if name not in self.feeds:
                return 404, b"not found", "text/plain"
            return 200, self.json_feed(name, now), "application/feed+json"
        if path == f"/api/v1/timelines/tag/{self.tag}":
            return 200, self.timeline(now, query), "application/json"
        if path.startswith("/api/v1/statuses/"):
            ident = path.rsplit("/", 1)[1]
            found = [p for p in self._visible("mastodon", now) if p.ident == ident]
            if not found:
                return 404, b'{"error":"Record not found"}', "application/json"
            return 200, json.dumps(self.status(found[0], now)).encode(), "application/json"
        if path == "/youtube/v3/search":
            return 200, self.yt_search(now, query), "application/json"
        if path == "/youtube/v3/videos":
            return 200, self.yt_videos(now, query), "application/json"
        if path == "/youtube/v3/channels":
            return 200, self.yt_channels(now, query), "application/json"
        return 404, b"not found", "text/plain"

    def json_feed(self, name: str, now: datetime) -> bytes:
        items = [i for i in self.feeds[name] if i.at <= now]
        items.sort(key=lambda i: i.at, reverse=True)
        feed = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": f"Demo {name}",
            "home_page_url": f"{self.base_url}/{name}/",
            "feed_url": f"{self.base_url}/feeds/{name}.json",
            "items": [
                {
                    "id": f"{name}-{i.ident}",
                    "url": f"{self.base_url}/{name}/{i.ident}",
                    **({"title": i.title} if i.title else {}),
                    "content_text": i.text,
                    "date_published": isoformat_z(i.at),
                    "authors": [{"name": i.author}],
                    "language": "en",
                }
                for i in items
            ],
        }
        return json.dumps(feed, ensure_ascii=False).encode()

    def status(self, post: Post, now: datetime) -> dict[str, Any]:
        counts = post.counts(now)
        account_url = f"{self.base_url}/@{post.author}"
        content = html.escape(post.text)
        return {
            "id": post.ident,
            "created_at": isoformat_z(post.published),
            "url": f"{account_url}/{post.ident}",
            "uri": f"{account_url}/statuses/{post.ident}",
            "content": f"<p>{content}</p>",
            "spoiler_text": post.title or "",
            "language": post.language,
            "visibility": "public",
            "in_reply_to_id": None,
            "reblog": None,
            "favourites_count": counts.get("likes", 0),
            "reblogs_count": counts.get("shares", 0),
            "replies_count": counts.get("comments", 0),
            "tags": [{"name": self.tag}],
            "account": {
                "id": post.author,
                "username": post.author,
                "acct": post.author,
                "url": account_url,
                "followers_count": counts.get("author_followers", 0),
            },
        }

    def timeline(self, now: datetime, query: dict[str, str]) -> bytes:
        limit = max(1, min(40, int(query.get("limit") or 20)))
        visible = self._visible("mastodon", now)
        if query.get("min_id"):
            newer = [p for p in visible if int(p.ident) > int(query["min_id"])]
            page = sorted(newer, key=lambda p: int(p.ident))[:limit]
        else:
            page = sorted(visible, key=lambda p: int(p.ident))[-limit:]
        page.sort(key=lambda p: int(p.ident), reverse=True)
        return json.dumps([self.status(p, now) for p in page]).encode()

    def _snippet(self, post: Post) -> dict[str, Any]:
        return {
            "publishedAt": isoformat_z(post.published),
            "channelId": f"UC{post.author}",
            "title": post.title or "",
            "description": post.text,
            "channelTitle": post.author,
            "defaultAudioLanguage": post.language,
        }

    def yt_search(self, now: datetime, query: dict[str, str]) -> bytes:
        after = query.get("publishedAfter")
        since = parse_iso(after) if after else None
        found = [p for p in self._visible("youtube", now) if since is None or p.published > since]
        items = [
            {"id": {"kind": "youtube#video", "videoId": p.ident}, "snippet": self._snippet(p)}
            for p in sorted(found, key=lambda p: p.published, reverse=True)
        ]
        return json.dumps({"kind": "youtube#searchListResponse", "items": items}).encode()

    def yt_videos(self, now: datetime, query: dict[str, str]) -> bytes:
        ids = set((query.get("id") or "").split(","))
        items = []
        for p in self._visible("youtube", now):
            if p.ident not in ids:
                continue
            c = p.counts(now)
            stats = {
                "viewCount": str(c.get("views", 0)),
                "likeCount": str(c.get("likes", 0)),
                "commentCount": str(c.get("comments", 0)),
            }
            items.append({"id": p.ident, "snippet": self._snippet(p), "statistics": stats})
        return json.dumps({"kind": "youtube#videoListResponse", "items": items}).encode()

    def yt_channels(self, now: datetime, query: dict[str, str]) -> bytes:
        ids = set((query.get("id") or "").split(","))
        items = [
            {
                "id": f"UC{p.author}",
                "statistics": {"subscriberCount": str(p.counts(now).get("author_followers", 0))},
            }
            for p in self._visible("youtube", now)
            if f"UC{p.author}" in ids
        ]
        return json.dumps({"kind": "youtube#channelListResponse", "items": items}).encode()


class LocalApiTransport(httpx.BaseTransport):
    """Sends requests for the hosts in ``hosts`` to a local server instead (same path and
    query), over a real HTTP connection; every other request goes out unchanged."""

    def __init__(self, hosts: set[str], base_url: str) -> None:
        self.hosts = hosts
        self.target = httpx.URL(base_url)
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host in self.hosts:
            request.url = request.url.copy_with(
                scheme=self.target.scheme, host=self.target.host, port=self.target.port
            )
            request.headers["Host"] = f"{self.target.host}:{self.target.port}"
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@dataclass
class Delivery:
    valid: bool
    key: str
    payload: dict[str, Any]


class WebhookReceiver(LocalServer):
    """A real HTTP server on 127.0.0.1 receiving signed JSON notifications.

    Answers 401 to a missing or wrong signature, 200 otherwise; a repeated idempotency key is
    acknowledged and dropped. ``on_delivery`` sees each accepted (or refused) delivery.
    """

    def __init__(self, secret: str, on_delivery: Callable[[Delivery], None] | None = None) -> None:
        from earful.notify.channels.webhook import IDEMPOTENCY_HEADER, verify

        self.secret = secret
        self.deliveries: list[Delivery] = []
        self.refused = 0
        self._keys: set[str] = set()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                valid = verify(secret, body, dict(self.headers.items()))
                key = self.headers.get(IDEMPOTENCY_HEADER) or ""
                self.send_response(200 if valid else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {}
                delivery = Delivery(valid=valid, key=key, payload=payload)
                with receiver._lock:
                    if not valid:
                        receiver.refused += 1
                    elif key in receiver._keys:
                        return
                    else:
                        receiver._keys.add(key)
                        receiver.deliveries.append(delivery)
                if on_delivery is not None:
                    on_delivery(delivery)

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("webhook receiver: " + format, *args)

        self._serve(Handler)

    @property
    def url(self) -> str:
        return self.base_url + "/earful"
