"""YouTube Data API v3: new videos by search, their statistics, and their comments.

``parse`` understands every list response Earful reads:

* ``youtube#searchListResponse`` -> one mention per video (also channel/playlist results);
  search carries no statistics, so engagement stays unknown.
* ``youtube#videoListResponse`` -> videos with ``statistics`` (counts arrive as *strings*):
  viewCount -> views, likeCount -> likes, commentCount -> comments; YouTube exposes no share
  count, so shares stay ``None``.
* ``youtube#commentThreadListResponse`` / ``youtube#commentListResponse`` -> comments;
  ``textDisplay`` is HTML and becomes plain text; likeCount -> likes, totalReplyCount ->
  comments; ``parent_id`` is the video id for a top-level comment, the thread id for a reply.
* ``youtube#channelListResponse`` -> no mentions; :func:`channel_followers` reads
  ``subscriberCount`` (``None`` when the channel hides it) for author reach.

``fetch`` spends quota units (search.list = 100, every *.list read = 1) from the daily quota of
its API key (``params.daily_quota``, default 10,000, reset at midnight Pacific), kept by the
client's :class:`~earful.sources.limits.Limits` — in Redis when Celery workers share it, so
sources with the same key, on any worker, spend one budget — and stops with
:class:`~earful.errors.QuotaExceededError` *before* a call would exceed it. ``params.api_url``
points at another API root (a proxy or a test server); the default is Google's.

``backfill_page`` searches the past (``earful sources backfill``): search.list with
``publishedAfter``/``publishedBefore`` set to the window, ``order=date``, one ``pageToken``
page (100 units) at a time, plus the page's statistics and channel subscribers (1 unit a
call). The cursor is ``{"pageToken": "..."}``; the daily quota stops it, resumable, with
:class:`~earful.errors.QuotaExceededError` before a call would exceed the budget. YouTube
serves about 500 results per search, so a long window may end before ``since``.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from earful.clock import isoformat_z
from earful.config.models import SourceConfig
from earful.errors import ConfigError, ParseError, SourceAuthError
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
from earful.sources.limits import Quota, as_int, param_list, resolve_secret
from earful.sources.values import MALFORMED, load_cursor, parse_iso_utc
from earful.text import html_to_text

logger = logging.getLogger(__name__)

KIND = "youtube"
API = "https://www.googleapis.com/youtube/v3"
SEARCH_COST = 100
LIST_COST = 1
DEFAULT_DAILY_QUOTA = 10_000
BATCH = 50  # ids per videos.list / channels.list / comments.list call
QUOTA_ZONE = "America/Los_Angeles"  # YouTube quotas reset at midnight Pacific


# --------------------------------------------------------------------------- parsing


def parse(body: bytes, *, url: str | None = None) -> ParseResult:
    """Mentions from any YouTube Data API list response (see module docstring)."""
    return parse_data(_load(body, url), url=url)


def parse_data(data: dict[str, Any], *, url: str | None = None) -> ParseResult:
    """``parse`` for an already decoded response object."""
    kind = data.get("kind", "")
    items = data.get("items") or []
    if not isinstance(kind, str) or not isinstance(items, list):
        raise ParseError(f"{url or 'youtube'}: kind or items of the wrong type", reason="format")
    result = ParseResult(mentions=[])
    handler = {
        "youtube#searchListResponse": _search_item,
        "youtube#videoListResponse": _video_item,
        "youtube#commentThreadListResponse": _thread_items,
        "youtube#commentListResponse": _comment_items,
    }.get(kind)
    if kind == "youtube#channelListResponse":
        return result  # author reach only: see channel_followers()
    if handler is None:
        raise ParseError(f"{url or 'youtube'}: unknown response kind {kind!r}", reason="format")
    for item in items:
        try:
            result.mentions.extend(handler(item))
        except MALFORMED as exc:
            ident = item.get("id") if isinstance(item, dict) else None
            result.problems.append(f"skipped item {ident!r}: {exc!r}")
    return result


def channel_followers(body: bytes | dict[str, Any]) -> dict[str, int | None]:
    """channel id -> subscriberCount from a channelListResponse (None when hidden or unreadable);
    an item without a string id is left out."""
    data = _load(body, None) if isinstance(body, bytes) else body
    items = data.get("items")
    out: dict[str, int | None] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        stats = item.get("statistics")
        stats = stats if isinstance(stats, dict) else {}
        hidden = bool(stats.get("hiddenSubscriberCount"))
        out[item["id"]] = None if hidden else as_int(stats.get("subscriberCount"))
    return out


def next_page_token(body: bytes | dict[str, Any]) -> str | None:
    data = _load(body, None) if isinstance(body, bytes) else body
    token = data.get("nextPageToken")
    return str(token) if token else None


def _load(body: bytes, url: str | None) -> dict[str, Any]:
    import orjson

    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"{url or 'youtube'}: not JSON: {exc}", reason="json") from exc
    if not isinstance(data, dict):
        raise ParseError(f"{url or 'youtube'}: expected a JSON object", reason="format")
    return data


def _search_item(item: dict[str, Any]) -> Iterable[RawMention]:
    ident = item.get("id") or {}
    snippet = item.get("snippet") or {}
    kind = ident.get("kind")
    if kind == "youtube#video":
        ext, url = ident["videoId"], f"https://www.youtube.com/watch?v={ident['videoId']}"
    elif kind == "youtube#channel":
        ext, url = ident["channelId"], f"https://www.youtube.com/channel/{ident['channelId']}"
    elif kind == "youtube#playlist":
        ext = ident["playlistId"]
        url = f"https://www.youtube.com/playlist?list={ident['playlistId']}"
    else:
        return []
    # search.list returns titles with HTML entities and descriptions cut to ~160 chars.
    return [
        RawMention(
            source=KIND,
            external_id=ext,
            url=url,
            title=html.unescape(snippet.get("title") or "") or None,
            text=html.unescape(snippet.get("description") or ""),
            author=snippet.get("channelTitle") or None,
            published_at=parse_iso_utc(snippet.get("publishedAt")),
            extra={
                "channel_id": snippet.get("channelId"),
                "result_kind": kind.split("#", 1)[1],
                "live": snippet.get("liveBroadcastContent"),
            },
        )
    ]


def _video_item(item: dict[str, Any]) -> Iterable[RawMention]:
    vid = item["id"]
    snippet = item.get("snippet") or {}
    stats = item.get("statistics")
    engagement = Engagement()
    if stats is not None:
        engagement = Engagement(
            likes=as_int(stats.get("likeCount")),
            comments=as_int(stats.get("commentCount")),
            views=as_int(stats.get("viewCount")),
        )
    language = snippet.get("defaultLanguage") or snippet.get("defaultAudioLanguage")
    return [
        RawMention(
            source=KIND,
            external_id=vid,
            url=f"https://www.youtube.com/watch?v={vid}",
            title=snippet.get("title") or None,
            text=snippet.get("description") or "",
            author=snippet.get("channelTitle") or None,
            published_at=parse_iso_utc(snippet.get("publishedAt")),
            language=language or None,
            engagement=engagement,
            extra={"channel_id": snippet.get("channelId"), "result_kind": "video"},
        )
    ]


def _comment(
    comment: dict[str, Any], *, replies: int | None, video_id: str | None, channel_id: str | None
) -> RawMention:
    cid = comment["id"]
    s = comment.get("snippet") or {}
    video_id = s.get("videoId") or video_id
    channel_id = s.get("channelId") or channel_id
    parent = s.get("parentId") or video_id
    if video_id:
        url: str | None = f"https://www.youtube.com/watch?v={video_id}&lc={cid}"
    elif channel_id:
        # A comment on a channel's discussion tab, not on a video.
        url = f"https://www.youtube.com/channel/{channel_id}/discussion?lc={cid}"
    else:
        url = None  # a reply read alone does not say which video it belongs to
    author_channel = (s.get("authorChannelId") or {}).get("value")
    return RawMention(
        source=KIND,
        external_id=cid,
        url=url,
        text=html_to_text(s.get("textDisplay") or s.get("textOriginal") or ""),
        author=s.get("authorDisplayName") or None,
        published_at=parse_iso_utc(s.get("publishedAt")),
        engagement=Engagement(likes=as_int(s.get("likeCount")), comments=replies),
        parent_id=parent,
        extra={
            "author_channel_id": author_channel,
            "video_id": video_id,
            "channel_id": channel_id,
            "result_kind": "comment",
        },
    )


def _thread_items(item: dict[str, Any]) -> Iterable[RawMention]:
    snippet = item.get("snippet") or {}
    video_id, channel_id = snippet.get("videoId"), snippet.get("channelId")
    out = [
        _comment(
            snippet["topLevelComment"],
            replies=as_int(snippet.get("totalReplyCount")),
            video_id=video_id,
            channel_id=channel_id,
        )
    ]
    for reply in (item.get("replies") or {}).get("comments") or []:
        out.append(_comment(reply, replies=None, video_id=video_id, channel_id=channel_id))
    return out


def _comment_items(item: dict[str, Any]) -> Iterable[RawMention]:
    return [_comment(item, replies=None, video_id=None, channel_id=None)]


# --------------------------------------------------------------------------- fetching


def quota_for(client: HttpClient, source: SourceConfig, key: str) -> Quota:
    """The daily budget of API key ``key`` (YouTube counts units per key's project), as
    ``source`` sees it: its own ``params.daily_quota`` as the limit, its name in errors."""
    limit = as_int(source.params.get("daily_quota")) or DEFAULT_DAILY_QUOTA
    # The key itself never becomes a Redis key name or a log line: a digest of it does.
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return client.limits.quota(f"youtube:{digest}", limit, zone=QUOTA_ZONE, name=source.name)


def _api(source: SourceConfig) -> str:
    return str(source.params.get("api_url") or API).rstrip("/")


def _key(source: SourceConfig) -> str:
    key = resolve_secret(source.params.get("key"))
    if not key:
        raise ConfigError(
            "youtube needs params.key (an API key with YouTube Data API v3 enabled), "
            "e.g. key: ${YOUTUBE_API_KEY}",
            field=f"sources.{source.name}.params.key",
        )
    return key


def _call(
    client: HttpClient,
    source: SourceConfig,
    quota: Quota,
    endpoint: str,
    params: dict[str, Any],
    cost: int,
) -> dict[str, Any]:
    quota.spend(cost)  # raises QuotaExceededError before the call is made
    try:
        response = client.get(f"{_api(source)}/{endpoint}", params=params, source=source.name)
    except SourceAuthError as exc:
        raise SourceAuthError(
            f"{source.name}: YouTube refused {endpoint} (HTTP 403/401): the key is invalid, "
            "the YouTube Data API v3 is not enabled for it, or Google's own daily quota for "
            "the key is used up",
            source=source.name,
            reason=exc.reason,
        ) from exc
    return _load(response.body, response.url_for_messages)


def fetch(client: HttpClient, source: SourceConfig, state: PollState) -> FetchResult:
    """New videos matching ``params.q`` (search.list, newest first, since the last poll),
    their statistics (videos.list), recent comments (commentThreads.list) on the newest
    ``params.comment_videos`` of them (default 5) and on every id in ``params.videos``, and
    the channels' subscriber counts (channels.list), all within the daily quota."""
    p = source.params
    q = p.get("q")
    if not q:
        raise ConfigError("youtube needs params.q", field=f"sources.{source.name}.params.q")
    key = _key(source)
    quota = quota_for(client, source, key)
    max_pages = max(1, as_int(p.get("max_pages")) or 1)
    comment_videos = as_int(p.get("comment_videos"))
    comment_videos = 5 if comment_videos is None else max(0, comment_videos)
    result = FetchResult()
    search: dict[str, Any] = {
        "part": "snippet",
        "q": q,
        "type": "video",
        "order": "date",
        "maxResults": 50,
        "key": key,
    }
    if state.cursor:
        search["publishedAfter"] = state.cursor
    for opt, name in (("region_code", "regionCode"), ("language", "relevanceLanguage")):
        if p.get(opt):
            search[name] = p[opt]
    videos: list[RawMention] = []
    token: str | None = None
    for _ in range(max_pages):
        if token:
            search["pageToken"] = token
        data = _call(client, source, quota, "search", search, SEARCH_COST)
        page = parse_data(data)
        videos.extend(page.mentions)
        result.problems.extend(page.problems)
        token = next_page_token(data)
        if not token:
            break
    newest = max((m.published_at for m in videos if m.published_at), default=None)
    result.cursor = isoformat_z(newest) if newest else state.cursor
    # Statistics and language for the videos just found (search has neither).
    by_id = {m.external_id: m for m in videos}
    detailed = _videos(client, source, quota, list(by_id), key)
    mentions = [detailed.get(vid, m) for vid, m in by_id.items()]
    # Comments on the newest videos found, plus on videos the admin tracks (params.videos,
    # e.g. the brand's own channel's uploads).
    watched = list(dict.fromkeys([*list(by_id)[:comment_videos], *param_list(p, "videos")]))
    for vid in watched:
        data = _call(
            client,
            source,
            quota,
            "commentThreads",
            {"part": "snippet", "videoId": vid, "maxResults": 100, "order": "time", "key": key},
            LIST_COST,
        )
        page = parse_data(data)
        mentions.extend(page.mentions)
        result.problems.extend(page.problems)
    if p.get("followers", True):
        _add_followers(client, source, quota, mentions, key)
    result.mentions = mentions
    result.quota_left = quota.remaining()
    return result


def backfill_page(
    client: HttpClient, source: SourceConfig, window: BackfillWindow, cursor: str | None
) -> BackfillPage:
    """One search.list page of videos published in ``window``, newest first, with their
    statistics and channels' subscribers (see the module docstring)."""
    p = source.params
    q = p.get("q")
    if not q:
        raise ConfigError("youtube needs params.q", field=f"sources.{source.name}.params.q")
    key = _key(source)
    quota = quota_for(client, source, key)
    search: dict[str, Any] = {
        "part": "snippet",
        "q": q,
        "type": "video",
        "order": "date",
        "maxResults": 50,
        "publishedAfter": isoformat_z(window.since),
        "key": key,
    }
    if window.until is not None:
        search["publishedBefore"] = isoformat_z(window.until)
    for opt, name in (("region_code", "regionCode"), ("language", "relevanceLanguage")):
        if p.get(opt):
            search[name] = p[opt]
    state = load_cursor(cursor)
    if isinstance(state, dict) and state.get("pageToken"):
        search["pageToken"] = str(state["pageToken"])
    requests_before = client.requests
    data = _call(client, source, quota, "search", search, SEARCH_COST)
    found = parse_data(data)
    by_id = {m.external_id: m for m in found.mentions}
    detailed = _videos(client, source, quota, list(by_id), key)
    mentions = [detailed.get(vid, m) for vid, m in by_id.items()]
    if p.get("followers", True):
        _add_followers(client, source, quota, mentions, key)
    token = next_page_token(data)
    return BackfillPage(
        mentions=mentions,
        cursor=json.dumps({"pageToken": token}) if token and mentions else None,
        oldest=oldest_of(mentions),
        problems=found.problems,
        requests=client.requests - requests_before,
        quota_left=quota.remaining(),
    )


def _list_by_ids(
    client: HttpClient,
    source: SourceConfig,
    quota: Quota,
    endpoint: str,
    part: str,
    ids: list[str],
    key: str,
) -> Iterator[dict[str, Any]]:
    """``endpoint``.list responses for ``ids``, BATCH ids a call (LIST_COST units each),
    each call made only when the previous response has been used."""
    for start in range(0, len(ids), BATCH):
        params = {"part": part, "id": ",".join(ids[start : start + BATCH]), "key": key}
        yield _call(client, source, quota, endpoint, params, LIST_COST)


def _videos(
    client: HttpClient, source: SourceConfig, quota: Quota, ids: list[str], key: str
) -> dict[str, RawMention]:
    out: dict[str, RawMention] = {}
    for data in _list_by_ids(client, source, quota, "videos", "snippet,statistics", ids, key):
        for m in parse_data(data).mentions:
            out[m.external_id] = m
    return out


def _add_followers(
    client: HttpClient,
    source: SourceConfig,
    quota: Quota,
    mentions: list[RawMention],
    key: str,
) -> None:
    """author_followers from channels.list: the uploader for videos, the commenter's own
    channel for comments."""

    def channel_of(m: RawMention) -> str | None:
        value = m.extra.get("author_channel_id") or (
            m.extra.get("channel_id") if m.extra.get("result_kind") == "video" else None
        )
        return str(value) if value else None

    ids = sorted({c for m in mentions if (c := channel_of(m))})
    followers: dict[str, int | None] = {}
    for data in _list_by_ids(client, source, quota, "channels", "statistics", ids, key):
        followers.update(channel_followers(data))
    for m in mentions:
        channel = channel_of(m)
        if channel and followers.get(channel) is not None:
            m.author_followers = followers[channel]


def refresh(client: HttpClient, source: SourceConfig, items: list[RefreshItem]) -> list[RawMention]:
    """Current counts of stored videos (videos.list, 50 ids a call) and comments
    (comments.list, 50 ids a call), with channel subscriber counts."""
    key = _key(source)
    quota = quota_for(client, source, key)
    video_ids = [i.external_id for i in items if not _is_comment(i)]
    comment_ids = [i.external_id for i in items if _is_comment(i)]
    out = list(_videos(client, source, quota, video_ids, key).values())
    for data in _list_by_ids(client, source, quota, "comments", "snippet", comment_ids, key):
        out.extend(parse_data(data).mentions)
    if source.params.get("followers", True):
        _add_followers(client, source, quota, out, key)
    return out


def _is_comment(item: RefreshItem) -> bool:
    # Video ids are 11 characters; comment ids are longer ("Ugy...AaABAg", replies "x.y").
    return len(item.external_id) > 11 or bool(item.url and "lc=" in item.url)
