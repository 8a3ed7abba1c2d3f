"""Bluesky: Jetstream events, AppView post views (searchPosts, getPosts, feeds, threads),
and profiles for author reach.

``parse`` recognises, by shape:

* Jetstream events (one JSON object per line): ``kind=commit``, ``operation=create`` in
  ``app.bsky.feed.post`` are posts; likes, follows, reposts, deletes and identity events are
  not mentions and are skipped silently.
* ``{"posts": [postView]}`` (searchPosts, getPosts), ``{"feed": [feedViewPost]}``
  (getTimeline, getAuthorFeed), a single ``feedViewPost`` or ``postView``, and
  ``{"thread": threadViewPost}`` (getPostThread: the post, its parents and replies).
  A quoted post embedded as ``app.bsky.embed.record#viewRecord`` is a mention of its own.
* ``{"profiles": [...]}`` (getProfiles) and ``{"follows": [...]}``: no mentions;
  :func:`profile_followers` reads ``followersCount``.

Mapping: ``uri`` (``at://{did}/app.bsky.feed.post/{rkey}``) -> external_id;
``https://bsky.app/profile/{did}/post/{rkey}`` -> url; author handle -> author (display name in
``extra``); ``record.text``; ``record.langs[0]`` -> language; ``record.createdAt`` ->
published_at; ``record.reply.parent.uri`` -> parent_id; likeCount -> likes; repostCount +
quoteCount -> shares (both re-broadcast the post; each is kept in ``extra``); replyCount ->
comments. Jetstream events carry no counts and no handle: engagement and author stay unknown
(the DID is in ``extra``) until ``refresh`` reads them with getPosts.

``backfill_page`` searches the past (``earful sources backfill``, search sources only):
searchPosts with ``since``/``until`` set to the window, ``sort=latest``, one ``cursor`` page
at a time. The cursor is ``{"cursor": "..."}``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson

from earful.config.models import SourceConfig
from earful.errors import ConfigError, ParseError, SourceAuthError, SourceError
from earful.mention import Engagement, RawMention
from earful.sources.base import (
    BackfillPage,
    BackfillWindow,
    FetchResult,
    ParseResult,
    PollState,
    RefreshItem,
    oldest_of,
)
from earful.sources.http import HttpClient
from earful.sources.limits import as_int, resolve_secret
from earful.sources.values import MALFORMED, load_cursor, parse_iso_utc

logger = logging.getLogger(__name__)

KIND = "bluesky"
POST = "app.bsky.feed.post"
PUBLIC_APPVIEW = "https://public.api.bsky.app"
DEFAULT_SERVICE = "https://bsky.social"
GET_POSTS_BATCH = 25
GET_PROFILES_BATCH = 25
SESSION_TTL_S = 60 * 60.0  # access JWTs live about two hours; renew well before

_sessions: dict[tuple[str, str], tuple[float, str]] = {}
_sessions_lock = threading.Lock()


# --------------------------------------------------------------------------- parsing


def post_url(uri: str) -> str | None:
    """``at://{did}/app.bsky.feed.post/{rkey}`` -> ``https://bsky.app/profile/{did}/post/{rkey}``."""
    if not uri.startswith("at://"):
        return None
    parts = uri[5:].split("/")
    if len(parts) != 3 or parts[1] != POST:
        return None
    return f"https://bsky.app/profile/{parts[0]}/post/{parts[2]}"


def _language(record: dict[str, Any]) -> str | None:
    langs = record.get("langs")
    if isinstance(langs, list) and langs and isinstance(langs[0], str):
        return langs[0]
    return None


def _parent(record: dict[str, Any]) -> str | None:
    reply = record.get("reply")
    if isinstance(reply, dict):
        parent = reply.get("parent")
        if isinstance(parent, dict) and isinstance(parent.get("uri"), str):
            return str(parent["uri"])
    return None


def mention_from_event(event: dict[str, Any]) -> RawMention | None:
    """A Jetstream event -> a post mention, or None when it is not a new post."""
    if event.get("kind") != "commit":
        return None
    commit = event.get("commit")
    if not isinstance(commit, dict) or commit.get("collection") != POST:
        return None
    if commit.get("operation") != "create":
        return None
    record = commit.get("record")
    did, rkey = event.get("did"), commit.get("rkey")
    if not isinstance(record, dict) or not did or not rkey:
        return None
    return RawMention(
        source=KIND,
        external_id=f"at://{did}/{POST}/{rkey}",
        url=f"https://bsky.app/profile/{did}/post/{rkey}",
        text=str(record.get("text") or ""),
        published_at=parse_iso_utc(record.get("createdAt")),
        language=_language(record),
        parent_id=_parent(record),
        extra={"did": did, "cid": commit.get("cid"), "time_us": event.get("time_us")},
    )


def mention_from_view(view: dict[str, Any]) -> RawMention | None:
    """An AppView ``postView`` (or embedded ``viewRecord``) -> mention."""
    uri = view.get("uri")
    if not isinstance(uri, str):
        return None
    record = view.get("record")
    if not isinstance(record, dict):
        record = view.get("value")  # embed#viewRecord keeps the post under "value"
    if not isinstance(record, dict) or record.get("$type", POST) != POST:
        return None
    author = view.get("author") or {}
    reposts, quotes = as_int(view.get("repostCount")), as_int(view.get("quoteCount"))
    shares = None if reposts is None else reposts + (quotes or 0)
    return RawMention(
        source=KIND,
        external_id=uri,
        url=post_url(uri),
        text=str(record.get("text") or ""),
        author=author.get("handle") or None,
        author_followers=as_int(author.get("followersCount")),
        published_at=parse_iso_utc(record.get("createdAt")),
        language=_language(record),
        engagement=Engagement(
            likes=as_int(view.get("likeCount")),
            shares=shares,
            comments=as_int(view.get("replyCount")),
        ),
        parent_id=_parent(record),
        extra={
            "did": author.get("did"),
            "display_name": author.get("displayName"),
            "cid": view.get("cid"),
            "reposts": reposts,
            "quotes": quotes,
        },
    )


def _with_quoted(view: dict[str, Any], out: list[RawMention], extra: dict[str, Any]) -> None:
    mention = mention_from_view(view)
    if mention is None:
        return
    mention.extra.update(extra)
    out.append(mention)
    embed = view.get("embed") or {}
    quoted = embed.get("record") if isinstance(embed, dict) else None
    if isinstance(quoted, dict) and isinstance(quoted.get("record"), dict):
        quoted = quoted["record"]  # recordWithMedia#view nests one level deeper
    if isinstance(quoted, dict) and str(quoted.get("$type", "")).endswith("#viewRecord"):
        inner = mention_from_view(quoted)
        if inner is not None:
            inner.extra["quoted_by"] = mention.external_id
            mention.extra["quotes_uri"] = inner.external_id
            out.append(inner)


def _thread(node: Any, out: list[RawMention], seen: set[int]) -> None:
    if not isinstance(node, dict) or id(node) in seen:
        return
    seen.add(id(node))
    post = node.get("post")
    if isinstance(post, dict):
        _with_quoted(post, out, {})
    _thread(node.get("parent"), out, seen)
    for reply in node.get("replies") or []:
        _thread(reply, out, seen)


def parse(body: bytes, *, url: str | None = None) -> ParseResult:
    """Mentions from any Bluesky payload Earful reads (see module docstring)."""
    text = body.strip()
    if not text:
        return ParseResult(mentions=[])
    lines = text.split(b"\n")
    if len(lines) > 1 and text.startswith(b"{") and b'"kind"' in lines[0]:
        return _parse_events(lines, url)
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"{url or 'bluesky'}: not JSON: {exc}", reason="json") from exc
    if not isinstance(data, dict):
        raise ParseError(f"{url or 'bluesky'}: expected a JSON object", reason="format")
    return parse_data(data)


def parse_data(data: dict[str, Any]) -> ParseResult:
    """``parse`` for an already decoded object."""
    out: list[RawMention] = []
    problems: list[str] = []
    if "kind" in data and "did" in data:
        mention = mention_from_event(data)
        return ParseResult(mentions=[mention] if mention else [])
    if isinstance(data.get("posts"), list):
        for view in data["posts"]:
            _keep(lambda v: _with_quoted(v, out, {}), view, problems)
    elif isinstance(data.get("feed"), list):
        for item in data["feed"]:
            _keep(lambda i: _feed_item(i, out), item, problems)
    elif isinstance(data.get("post"), dict):
        _keep(lambda i: _feed_item(i, out), data, problems)
    elif isinstance(data.get("thread"), dict):
        _keep(lambda t: _thread(t, out, set()), data["thread"], problems)
    elif "uri" in data and ("record" in data or "value" in data):
        _keep(lambda v: _with_quoted(v, out, {}), data, problems)
    # profiles / follows / anything else: no mentions
    return ParseResult(mentions=_unique(out), problems=problems)


def _keep(step: Callable[[dict[str, Any]], None], item: object, problems: list[str]) -> None:
    """Run ``step`` on one item; a non-object or malformed one is noted, the others still read."""
    if not isinstance(item, dict):
        problems.append("bluesky: an item is not an object")
        return
    try:
        step(item)
    except MALFORMED as exc:
        problems.append(f"bluesky: a malformed item was skipped: {type(exc).__name__}: {exc}")


def _feed_item(item: dict[str, Any], out: list[RawMention]) -> None:
    reason = item.get("reason") or {}
    extra: dict[str, Any] = {}
    if isinstance(reason, dict) and str(reason.get("$type", "")).endswith("#reasonRepost"):
        extra["reposted_by"] = (reason.get("by") or {}).get("handle")
    _with_quoted(item["post"], out, extra)
    reply = item.get("reply") or {}
    for key in ("parent", "root"):
        node = reply.get(key) if isinstance(reply, dict) else None
        if isinstance(node, dict) and node.get("$type", "").endswith("#postView"):
            _with_quoted(node, out, {})


def _unique(mentions: list[RawMention]) -> list[RawMention]:
    seen: set[str] = set()
    out = []
    for m in mentions:
        if m.external_id not in seen:
            seen.add(m.external_id)
            out.append(m)
    return out


def _parse_events(lines: list[bytes], url: str | None) -> ParseResult:
    result = ParseResult(mentions=[])
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            result.problems.append(f"line {number}: not JSON")
            continue
        mention = mention_from_event(event) if isinstance(event, dict) else None
        if mention is not None:
            result.mentions.append(mention)
    return result


def profile_followers(body: bytes | dict[str, Any]) -> dict[str, int | None]:
    """DID and handle -> followersCount from getProfiles (or a single getProfile)."""
    data = orjson.loads(body) if isinstance(body, bytes) else body
    profiles = data.get("profiles")
    out: dict[str, int | None] = {}
    for p in profiles if isinstance(profiles, list) else [data]:
        if isinstance(p, dict) and p.get("did"):
            count = as_int(p.get("followersCount"))
            out[p["did"]] = count
            if p.get("handle"):
                out[p["handle"]] = count
    return out


# --------------------------------------------------------------------------- fetching


def _xrpc(base: str, method: str) -> str:
    return f"{base.rstrip('/')}/xrpc/{method}"


def _session(client: HttpClient, source: SourceConfig, service: str) -> str | None:
    """An access token from com.atproto.server.createSession, cached; None without a
    configured app password."""
    handle = resolve_secret(source.params.get("handle"))
    password = resolve_secret(source.params.get("app_password"))
    if not handle or not password:
        return None
    key = (service, handle)
    with _sessions_lock:
        cached = _sessions.get(key)
    if cached and time.monotonic() - cached[0] < SESSION_TTL_S:
        return cached[1]
    try:
        response = client.post(
            _xrpc(service, "com.atproto.server.createSession"),
            json={"identifier": handle, "password": password},
            source=source.name,
        )
    except SourceAuthError as exc:
        raise SourceAuthError(
            f"{source.name}: Bluesky refused the login of {handle!r}: check params.handle and "
            "the app password (Settings > Privacy and security > App passwords)",
            source=source.name,
            reason="login",
        ) from exc
    except SourceError as exc:
        if exc.reason == "http_400":  # createSession answers bad credentials with 400
            raise SourceAuthError(
                f"{source.name}: Bluesky rejected the handle/app password of {handle!r}",
                source=source.name,
                reason="login",
            ) from exc
        raise
    token = str(response.json().get("accessJwt") or "")
    if not token:
        raise SourceAuthError(f"{source.name}: createSession returned no token", reason="login")
    with _sessions_lock:
        _sessions[key] = (time.monotonic(), token)
    return token


def _get(
    client: HttpClient,
    source: SourceConfig,
    base: str,
    method: str,
    params: dict[str, Any],
    token: str | None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    response = client.get(_xrpc(base, method), params=params, headers=headers, source=source.name)
    data = orjson.loads(response.body) if response.body else {}
    return data if isinstance(data, dict) else {}


def fetch(client: HttpClient, source: SourceConfig, state: PollState) -> FetchResult:
    """Posts matching ``params.q`` via app.bsky.feed.searchPosts (newest first, ``since`` the
    last poll), then authors' follower counts via getProfiles.

    With ``params.handle`` + ``params.app_password`` the search goes through the user's PDS
    (``params.service``, default bsky.social) with a session token. Without them Earful tries
    the public AppView anonymously, which Bluesky may refuse (403): the error says what to
    configure. The key-free alternative is the Jetstream firehose (earful.sources.jetstream).
    """
    p = source.params
    if p.get("mode") == "jetstream":
        # The firehose is consumed by a long-lived stream (earful.run.stream.run_source),
        # which stores its cursor and health itself; a poll has nothing to add.
        return FetchResult(cursor=state.cursor)
    q = p.get("q")
    if not q:
        raise ConfigError(
            "bluesky search needs params.q (or params.mode: jetstream for the firehose)",
            field=f"sources.{source.name}.params.q",
        )
    service, base, token = _search_base(client, source)
    params: dict[str, Any] = {"q": q, "sort": "latest", "limit": 100}
    if p.get("lang"):
        params["lang"] = p["lang"]
    if state.cursor:
        params["since"] = state.cursor
    max_pages = max(1, as_int(p.get("max_pages")) or 1)
    result = FetchResult()
    mentions: list[RawMention] = []
    for _ in range(max_pages):
        data = _search_posts(client, source, service, base, token, params)
        mentions.extend(parse_data(data).mentions)
        cursor = data.get("cursor")
        if not cursor:
            break
        params["cursor"] = cursor
    mentions = _unique(mentions)
    newest = max((m.published_at for m in mentions if m.published_at), default=None)
    result.cursor = newest.isoformat().replace("+00:00", "Z") if newest else state.cursor
    if p.get("followers", True):
        _add_followers(client, source, base, token, mentions)
    result.mentions = mentions
    return result


def _search_base(client: HttpClient, source: SourceConfig) -> tuple[str, str, str | None]:
    """(PDS service, base URL of the search, session token or None)."""
    service = str(source.params.get("service") or DEFAULT_SERVICE)
    token = _session(client, source, service)
    base = service if token else str(source.params.get("appview") or PUBLIC_APPVIEW)
    return service, base, token


def _search_posts(
    client: HttpClient,
    source: SourceConfig,
    service: str,
    base: str,
    token: str | None,
    params: dict[str, Any],
) -> dict[str, Any]:
    """One app.bsky.feed.searchPosts call; a refusal says what to configure."""
    try:
        return _get(client, source, base, "app.bsky.feed.searchPosts", params, token)
    except SourceAuthError as exc:
        if token:
            with _sessions_lock:
                _sessions.pop((service, str(resolve_secret(source.params.get("handle")))), None)
            raise
        raise SourceAuthError(
            f"{source.name}: Bluesky's public AppView refused anonymous searchPosts "
            f"({exc.reason}). Set params.handle and params.app_password "
            "(${BLUESKY_APP_PASSWORD}, an app password from Settings > Privacy and "
            "security > App passwords), or use the key-free Jetstream firehose.",
            source=source.name,
            reason="auth_required",
        ) from exc


def backfill_next(data: dict[str, Any], mentions: list[RawMention]) -> str | None:
    """The searchPosts cursor of the page after ``data`` (``None``: the last page). Pure."""
    cursor = data.get("cursor")
    return str(cursor) if cursor and mentions else None


def backfill_page(
    client: HttpClient, source: SourceConfig, window: BackfillWindow, cursor: str | None
) -> BackfillPage:
    """One searchPosts page of posts in ``window``, newest first (``since``/``until``/
    ``cursor``), with the authors' followers. A Jetstream source cannot: the firehose replays
    only its last hours."""
    p = source.params
    if p.get("mode") == "jetstream":
        raise SourceError(
            f"{source.name}: a Jetstream source cannot be backfilled (the firehose keeps only "
            "its last hours); add a search source (params.q) for the past",
            source=source.name,
            reason="config",
        )
    q = p.get("q")
    if not q:
        raise ConfigError("bluesky search needs params.q", field=f"sources.{source.name}.params.q")
    requests_before = client.requests
    service, base, token = _search_base(client, source)
    params: dict[str, Any] = {"q": q, "sort": "latest", "limit": 100}
    params["since"] = window.since.isoformat().replace("+00:00", "Z")
    if window.until is not None:
        params["until"] = window.until.isoformat().replace("+00:00", "Z")
    if p.get("lang"):
        params["lang"] = p["lang"]
    state = load_cursor(cursor)
    if isinstance(state, dict) and state.get("cursor"):
        params["cursor"] = str(state["cursor"])
    data = _search_posts(client, source, service, base, token, params)
    parsed = parse_data(data)
    mentions = _unique(parsed.mentions)
    if p.get("followers", True):
        _add_followers(client, source, base, token, mentions)
    nxt = backfill_next(data, mentions)
    return BackfillPage(
        mentions=mentions,
        cursor=json.dumps({"cursor": nxt}) if nxt else None,
        oldest=oldest_of(mentions),
        problems=parsed.problems,
        requests=client.requests - requests_before,
    )


def _add_followers(
    client: HttpClient,
    source: SourceConfig,
    base: str,
    token: str | None,
    mentions: list[RawMention],
) -> None:
    dids = sorted({str(m.extra["did"]) for m in mentions if m.extra.get("did")})
    followers: dict[str, int | None] = {}
    for start in range(0, len(dids), GET_PROFILES_BATCH):
        params = {"actors": dids[start : start + GET_PROFILES_BATCH]}  # repeated param
        data = _get(client, source, base, "app.bsky.actor.getProfiles", params, token)
        followers.update(profile_followers(data))
    for m in mentions:
        count = followers.get(str(m.extra.get("did")))
        if count is not None:
            m.author_followers = count


def refresh(client: HttpClient, source: SourceConfig, items: list[RefreshItem]) -> list[RawMention]:
    """Current likes/reposts/quotes/replies of stored posts (getPosts, 25 URIs a call, on
    the public AppView, which needs no login) and their authors' followers (getProfiles)."""
    base = str(source.params.get("appview") or PUBLIC_APPVIEW)
    uris = [i.external_id for i in items if i.external_id.startswith("at://")]
    out: list[RawMention] = []
    for start in range(0, len(uris), GET_POSTS_BATCH):
        params = {"uris": uris[start : start + GET_POSTS_BATCH]}
        data = _get(client, source, base, "app.bsky.feed.getPosts", params, None)
        wanted = set(uris[start : start + GET_POSTS_BATCH])
        out.extend(m for m in parse_data(data).mentions if m.external_id in wanted)
    if source.params.get("followers", True):
        _add_followers(client, source, base, None, out)
    return out
