"""Reddit through its OAuth API (approved credentials required).

Since 2025 Reddit grants API access only to registered, *approved* apps: create a "script" or
"web" app at https://www.reddit.com/prefs/apps, request access, then set its id and secret.
Anonymous requests and unapproved apps get 401/403; Earful reports that as a
:class:`SourceAuthError` explaining the approval step, and never retries it in a loop.

``fetch`` obtains an application-only token (client-credentials grant,
``POST https://www.reddit.com/api/v1/access_token``) once per poll, then reads
``oauth.reddit.com/r/{sub}/new`` for every subreddit — or ``/r/{sub}/search`` (``restrict_sr``)
when ``query`` is set, or ``/search`` when there is a query but no subreddit — with
``sort=new``, ``raw_json=1`` and ``after`` paging back to the previous poll. The cursor is a
JSON object mapping each listing to the newest ``created_utc`` seen. ``X-Ratelimit-Remaining``
and ``X-Ratelimit-Reset`` are honoured: paging stops when fewer than ``min_remaining``
requests are left (the rest waits for the next poll) and ``quota_left`` reports the remainder.

``refresh`` re-reads score and comment counts with ``/api/info?id=t3_a,t1_b`` (100 per call).

Params (``SourceConfig.params``):

=================  ======================================================================
``client_id``      app id, e.g. ``${REDDIT_CLIENT_ID}`` (required)
``client_secret``  app secret, e.g. ``${REDDIT_CLIENT_SECRET}`` (required)
``user_agent``     Reddit requires a unique one: ``platform:app:version (by /u/you)``
``subreddits``     list of subreddit names without ``r/`` (``[acme, techsupport]``)
``query``          optional Reddit search query (within the subreddits, or site-wide)
``limit``          items per page, default 100 (Reddit's maximum)
``max_pages``      pages per listing per poll, default 5
``min_remaining``  stop paging when the rate-limit window has fewer left, default 5
=================  ======================================================================

Parsing accepts a Listing (``/new``, ``/search``, user overview), a comments page (a JSON
array ``[post listing, comment listing]`` whose nested ``replies`` are flattened) and single
things. ``external_id`` is the fullname (``t3_…``, ``t1_…``), so ``parent_id`` (a fullname)
points at it; ``score`` (else ``ups``) -> likes, ``num_comments`` -> comments (posts only);
``permalink`` -> absolute ``https://www.reddit.com`` URL; ``created_utc`` -> UTC; text is
``selftext``/``body`` (the ``*_html`` variant through html_to_text when the plain one is
absent; a link post's title when it has no body). Reddit exposes no follower counts here.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from earful.config.models import SourceConfig
from earful.errors import ParseError, SourceAuthError, SourceError
from earful.mention import Engagement, RawMention
from earful.sources.base import FetchResult, ParseResult, PollState, RefreshItem
from earful.sources.http import HttpClient, HttpResponse
from earful.sources.limits import as_int, param_list, read_rate_limit, resolve_secret
from earful.sources.values import keep_parsed, load_json
from earful.text import html_to_text, tidy_whitespace

logger = logging.getLogger(__name__)

KIND = "reddit"
_SKIPPED = "reddit: a thing without id was skipped"
WEB = "https://www.reddit.com"
API = "https://oauth.reddit.com"
TOKEN_URL = "https://www.reddit.com/api/v1/access_token"
INFO_BATCH = 100
APPROVAL_HELP = (
    "Reddit API access needs approved OAuth credentials since 2025: register an app at "
    "https://www.reddit.com/prefs/apps, get it approved for API access, and set params "
    "client_id/client_secret (e.g. ${REDDIT_CLIENT_ID}, ${REDDIT_CLIENT_SECRET}) and a "
    "unique user_agent"
)


# ---------------------------------------------------------------------------- parsing


def parse(body: bytes, *, url: str | None = None) -> ParseResult:
    """Listing, comments array, or thing -> posts (t3) and comments (t1), replies flattened."""
    data = load_json(body, KIND)
    result = ParseResult(mentions=[])
    if not isinstance(data, list | dict):
        raise ParseError("reddit: not a Listing or thing", source=KIND, reason="shape")
    if isinstance(data, dict) and "kind" not in data:
        raise ParseError("reddit: not a Listing or thing", source=KIND, reason="shape")
    _walk(data, result)
    return result


def _walk(node: Any, result: ParseResult) -> None:
    if isinstance(node, list):
        for child in node:
            _walk(child, result)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("kind")
    data = node.get("data")
    if not isinstance(data, dict):
        return
    if kind == "Listing":
        _walk(data.get("children") or [], result)
    elif kind == "t3":
        keep_parsed(result, _post, data, _SKIPPED)
    elif kind == "t1":
        keep_parsed(result, _comment, data, _SKIPPED)
        replies = data.get("replies")
        if isinstance(replies, dict):  # "" when there are none
            _walk(replies, result)
    # "more" stubs and other kinds (t2 accounts, t5 subreddits) carry no mention.


def _fullname(data: dict[str, Any], prefix: str) -> str | None:
    name = data.get("name")
    if isinstance(name, str) and name:
        return name
    ident = data.get("id")
    return f"{prefix}_{ident}" if ident else None


def _absolute(permalink: object) -> str | None:
    if not isinstance(permalink, str) or not permalink:
        return None
    url = permalink if permalink.startswith("http") else WEB + permalink
    parts = urlsplit(url)
    # Search results append "?ref=search_posts"; the canonical permalink has no query.
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _author(data: dict[str, Any]) -> str | None:
    author = data.get("author")
    return author if isinstance(author, str) and author and author != "[deleted]" else None


def _published(data: dict[str, Any]) -> datetime | None:
    stamp = data.get("created_utc")
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        return datetime.fromtimestamp(float(stamp), UTC)
    return None


def _likes(data: dict[str, Any]) -> int | None:
    score = as_int(data.get("score"))
    return score if score is not None else as_int(data.get("ups"))


def _text(data: dict[str, Any], plain_key: str, html_key: str) -> str:
    plain = data.get(plain_key)
    if isinstance(plain, str) and plain.strip():
        return tidy_whitespace(plain)
    markup = data.get(html_key)
    return html_to_text(markup) if isinstance(markup, str) else ""


def _post(data: dict[str, Any]) -> RawMention | None:
    fullname = _fullname(data, "t3")
    if fullname is None:
        return None
    title = data.get("title") or None
    text = _text(data, "selftext", "selftext_html") or (title or "")
    url = _absolute(data.get("permalink")) or f"{WEB}/comments/{fullname[3:]}/"
    extra: dict[str, Any] = {"subreddit": data.get("subreddit"), "kind": "t3"}
    if not data.get("is_self") and data.get("url"):
        extra["link_url"] = data["url"]
    if data.get("upvote_ratio") is not None:
        extra["upvote_ratio"] = data["upvote_ratio"]
    if data.get("over_18"):
        extra["over_18"] = True
    return RawMention(
        source=KIND,
        external_id=fullname,
        url=url,
        title=title,
        text=text,
        author=_author(data),
        published_at=_published(data),
        engagement=Engagement(likes=_likes(data), comments=as_int(data.get("num_comments"))),
        extra=extra,
    )


def _comment(data: dict[str, Any]) -> RawMention | None:
    fullname = _fullname(data, "t1")
    if fullname is None:
        return None
    url = _absolute(data.get("permalink"))
    link_id = data.get("link_id")
    if url is None and isinstance(link_id, str) and data.get("subreddit"):
        # Older payloads lack permalink; this is the URL Reddit serves for a comment.
        url = f"{WEB}/r/{data['subreddit']}/comments/{link_id[3:]}/_/{fullname[3:]}/"
    extra: dict[str, Any] = {"subreddit": data.get("subreddit"), "kind": "t1", "link_id": link_id}
    if data.get("link_title"):
        extra["link_title"] = data["link_title"]
    parent = data.get("parent_id")
    return RawMention(
        source=KIND,
        external_id=fullname,
        url=url,
        text=_text(data, "body", "body_html"),
        author=_author(data),
        published_at=_published(data),
        # A comment's own reply count is not in the payload (num_comments is the post's).
        engagement=Engagement(likes=_likes(data)),
        parent_id=parent if isinstance(parent, str) and parent else None,
        extra=extra,
    )


# ---------------------------------------------------------------------------- I/O


def _credentials(source: SourceConfig) -> tuple[str, str, str | None]:
    client_id = resolve_secret(source.params.get("client_id"))
    secret = resolve_secret(source.params.get("client_secret"))
    if not client_id or not secret:
        raise SourceAuthError(
            f"reddit: client_id/client_secret are not set. {APPROVAL_HELP}",
            source=source.name,
            reason="no_credentials",
        )
    agent = source.params.get("user_agent")
    return client_id, secret, str(agent) if agent else None


def get_token(client: HttpClient, source: SourceConfig) -> tuple[str, dict[str, str]]:
    """An application-only bearer token and the headers every API call needs."""
    client_id, secret, agent = _credentials(source)
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")
    headers = {"Authorization": f"Basic {basic}"}
    if agent:
        headers["User-Agent"] = agent
    try:
        response = client.post(
            str(source.params.get("token_url") or TOKEN_URL),
            data={"grant_type": "client_credentials"},
            headers=headers,
            source=source.name,
        )
    except SourceAuthError as exc:
        raise SourceAuthError(
            f"reddit: the token request was refused ({exc.reason}). {APPROVAL_HELP}",
            source=source.name,
            reason="unapproved",
        ) from exc
    payload = response.json()
    token = payload.get("access_token") if isinstance(payload, dict) else None
    if not token:
        error = payload.get("error") if isinstance(payload, dict) else None
        raise SourceAuthError(
            f"reddit: no access token in the reply (error: {error}). {APPROVAL_HELP}",
            source=source.name,
            reason="unapproved",
        )
    api_headers = {"Authorization": f"bearer {token}"}
    if agent:
        api_headers["User-Agent"] = agent
    return str(token), api_headers


def _api_get(
    client: HttpClient,
    source: SourceConfig,
    path: str,
    params: dict[str, Any],
    headers: dict[str, str],
) -> HttpResponse:
    base = str(source.params.get("api_base") or source.url or API).rstrip("/")
    try:
        return client.get(base + path, params=params, headers=headers, source=source.name)
    except SourceAuthError as exc:
        raise SourceAuthError(
            f"reddit: {path} was refused ({exc.reason}). {APPROVAL_HELP}",
            source=source.name,
            reason="unapproved",
        ) from exc


def _listings(source: SourceConfig) -> list[tuple[str, str, dict[str, Any]]]:
    """(cursor key, path, params) for every listing this source reads."""
    subs = [s.removeprefix("r/").strip("/") for s in param_list(source.params, "subreddits")]
    query = str(source.params.get("query") or "").strip()
    out: list[tuple[str, str, dict[str, Any]]] = []
    if query and not subs:
        return [("search", "/search", {"q": query, "sort": "new", "type": "link"})]
    for sub in subs:
        path = f"/r/{quote(sub, safe='+')}"
        if query:
            search = {"q": query, "sort": "new", "restrict_sr": "1", "type": "link"}
            out.append((f"r/{sub.lower()}|search", path + "/search", search))
        else:
            out.append((f"r/{sub.lower()}|new", path + "/new", {}))
    return out


def fetch(client: HttpClient, source: SourceConfig, state: PollState) -> FetchResult:
    """New posts of each listing since the previous poll, paging with ``after``."""
    listings = _listings(source)
    if not listings:
        raise SourceError(
            "reddit: set `subreddits` and/or `query` in params", source=source.name, reason="config"
        )
    limit = max(1, min(100, as_int(source.params.get("limit")) or 100))
    max_pages = max(1, as_int(source.params.get("max_pages")) or 5)
    min_remaining = max(0, as_int(source.params.get("min_remaining")) or 5)
    try:
        cursors: dict[str, float] = {
            str(k): float(v) for k, v in json.loads(state.cursor or "{}").items()
        }
    except (ValueError, AttributeError):
        cursors = {}
    _, headers = get_token(client, source)
    result = FetchResult(requests=1)
    seen: dict[str, RawMention] = {}
    throttled = False
    for key, path, extra in listings:
        if throttled:
            result.problems.append(f"reddit: {key} skipped this poll: rate limit nearly used up")
            continue
        since = cursors.get(key)
        after: str | None = None
        newest = since
        for _page in range(max_pages):
            params: dict[str, Any] = dict(extra, limit=limit, raw_json=1)
            if after:
                params["after"] = after
            response = _api_get(client, source, path, params, headers)
            result.requests += 1
            result.bytes_received += len(response.body)
            parsed = parse(response.body, url=response.url)
            result.problems.extend(parsed.problems)
            reached = False
            for mention in parsed.mentions:
                stamp = mention.published_at.timestamp() if mention.published_at else None
                if since is not None and stamp is not None and stamp <= since:
                    reached = True
                    continue
                seen.setdefault(mention.external_id, mention)
                if stamp is not None and (newest is None or stamp > newest):
                    newest = stamp
            rate = read_rate_limit(response.headers, now_epoch=time.time())
            if rate.remaining is not None:
                result.quota_left = rate.remaining
            payload = response.json()
            data = payload.get("data") if isinstance(payload, dict) else None
            after = data.get("after") if isinstance(data, dict) else None
            low = rate.remaining is not None and rate.remaining < min_remaining
            throttled = throttled or low  # later listings wait for the next poll
            if since is None or reached or not after:
                break
            if low:
                result.problems.append(
                    f"reddit: {key}: only {rate.remaining} requests left in the rate-limit "
                    f"window (resets in {rate.reset_seconds or 0:.0f}s); older posts of this "
                    "poll were skipped"
                )
                break
        if newest is not None:
            cursors[key] = newest
    result.mentions = list(seen.values())
    result.cursor = json.dumps(cursors, sort_keys=True) if cursors else state.cursor
    return result


def refresh(client: HttpClient, source: SourceConfig, items: list[RefreshItem]) -> list[RawMention]:
    """Current score and comment counts via ``/api/info`` (100 fullnames per request)."""
    names = [i.external_id for i in items if i.external_id.startswith(("t1_", "t3_"))]
    if not names:
        return []
    _, headers = get_token(client, source)
    out: list[RawMention] = []
    for start in range(0, len(names), INFO_BATCH):
        batch = names[start : start + INFO_BATCH]
        response = _api_get(
            client, source, "/api/info", {"id": ",".join(batch), "raw_json": 1}, headers
        )
        out.extend(parse(response.body).mentions)
    return out
