"""Lemmy search on chosen instances (no key).

``fetch`` calls ``GET /api/v3/search?q=…&type_=Posts|Comments&sort=New&listing_type=All`` on
every listed instance and pages (``page=1,2,…``) back to the newest ``published`` time of the
previous poll; the cursor is a JSON object mapping ``"<instance>|<type>"`` to that time. The
first poll reads one page.

``backfill_page`` searches the past (``earful sources backfill``): the same search, one
(instance, type) after the other, ``page=1,2,…`` until a page is short or older than
``since`` (Lemmy has no date filter: items newer than ``until`` are read and left out). The
cursor is ``{"job": N, "page": P}``.

``refresh`` re-reads ``GET /api/v3/post?id=`` / ``/api/v3/comment?id=`` on the item's origin
instance (from its ``ap_id`` URL, ``https://host/post/N``), whose counts are authoritative.

Params (``SourceConfig.params``):

=============  ===========================================================================
``instances``  list of instances (``[lemmy.world, programming.dev]``; host or URL)
``query``      search words (``q`` accepted too; required)
``types``      ``[Posts, Comments]`` (default both)
``limit``      items per page, default 50 (Lemmy's maximum)
``max_pages``  pages per instance and type per poll, default 3
=============  ===========================================================================

Normalization: ``external_id`` = ``post:<id>`` / ``comment:<id>`` (ids local to the instance
that served them; posts and comments have separate id spaces); ``url`` = ``ap_id`` (the
canonical, federated address); ``title`` = post ``name``; ``text`` = body/content (Markdown
kept as written, entities decoded); ``author`` = ``creator.name@host`` (from
``actor_id``); ``counts.score`` -> likes, ``counts.comments`` (posts) or
``counts.child_count`` (comments) -> comments;
``language`` from ``language_id`` only where the id is known (37 = en; 0 is "undetermined");
a comment's ``parent_id`` is the parent comment (from ``path``) or its post.
"""

from __future__ import annotations

import html
import json
import logging
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from earful.config.models import SourceConfig
from earful.errors import ParseError, SourceError, TransientSourceError
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
from earful.sources.http import HttpClient, HttpResponse
from earful.sources.limits import as_int, param_list
from earful.sources.values import keep_parsed, load_cursor, load_json, parse_iso_utc
from earful.text import tidy_whitespace

logger = logging.getLogger(__name__)

KIND = "lemmy"
MAX_LIMIT = 50
# Lemmy's language table is instance data; only ids that are the same everywhere are mapped.
_LANGUAGES = {37: "en"}
_AP_ID = re.compile(r"^(https?://[^/]+)/(post|comment)/(\d+)/?$")


def parse(body: bytes, *, url: str | None = None) -> ParseResult:
    """A search response (``posts``/``comments`` arrays), or ``post_view``/``comment_view``."""
    data = load_json(body, KIND)
    if not isinstance(data, dict):
        raise ParseError("lemmy: not a search or post response", source=KIND, reason="shape")
    if "error" in data and not any(k in data for k in ("posts", "comments")):
        raise ParseError(f"lemmy: error response: {data['error']}", source=KIND)
    posts, comments = data.get("posts") or [], data.get("comments") or []
    if not isinstance(posts, list) or not isinstance(comments, list):
        raise ParseError("lemmy: posts or comments is not an array", source=KIND, reason="shape")
    posts, comments = list(posts), list(comments)
    if isinstance(data.get("post_view"), dict):
        posts.append(data["post_view"])
    if isinstance(data.get("comment_view"), dict):
        comments.append(data["comment_view"])
    if not posts and not comments and not any(k in data for k in ("posts", "comments")):
        raise ParseError("lemmy: no posts[] or comments[]", source=KIND, reason="shape")
    result = ParseResult(mentions=[])
    for view in posts:
        keep_parsed(result, _post, view, "lemmy: a post without id was skipped")
    for view in comments:
        keep_parsed(result, _comment, view, "lemmy: a comment without id was skipped")
    return result


def _author(creator: dict[str, Any]) -> str | None:
    name = creator.get("name")
    if not name:
        return None
    host = urlsplit(str(creator.get("actor_id") or "")).hostname
    return f"{name}@{host}" if host else str(name)


def _plain(value: object) -> str:
    """Markdown is kept as written; entities are decoded (Lemmy 0.18 HTML-escaped input)."""
    return tidy_whitespace(html.unescape(str(value or "")))


def _language(raw: object) -> str | None:
    ident = as_int(raw)
    return _LANGUAGES.get(ident) if ident is not None else None


def _common_extra(view: dict[str, Any]) -> dict[str, Any]:
    community = view.get("community") or {}
    extra: dict[str, Any] = {}
    if community.get("name"):
        host = urlsplit(str(community.get("actor_id") or "")).hostname
        extra["community"] = f"{community['name']}@{host}" if host else community["name"]
    return extra


def _post(view: dict[str, Any]) -> RawMention | None:
    post = view.get("post") or {}
    if post.get("id") is None:
        return None
    counts = view.get("counts") or {}
    title = html.unescape(str(post.get("name") or "")) or None
    extra = _common_extra(view)
    extra["language_id"] = post.get("language_id")
    if post.get("url"):
        extra["link_url"] = post["url"]
    body = _plain(post.get("body"))
    return RawMention(
        source=KIND,
        external_id=f"post:{post['id']}",
        url=post.get("ap_id") or None,
        title=title,
        text=body or (title or ""),
        author=_author(view.get("creator") or {}),
        published_at=parse_iso_utc(post.get("published")),
        language=_language(post.get("language_id")),
        engagement=Engagement(
            likes=as_int(counts.get("score")), comments=as_int(counts.get("comments"))
        ),
        extra=extra,
    )


def _comment(view: dict[str, Any]) -> RawMention | None:
    comment = view.get("comment") or {}
    if comment.get("id") is None:
        return None
    counts = view.get("counts") or {}
    post = view.get("post") or {}
    # path is "0.<ancestor ids>.<own id>": the element before our own id is the parent.
    path = [p for p in str(comment.get("path") or "").split(".") if p and p != "0"]
    if len(path) >= 2:
        parent: str | None = f"comment:{path[-2]}"
    elif comment.get("post_id") is not None:
        parent = f"post:{comment['post_id']}"
    else:
        parent = None
    extra = _common_extra(view)
    extra["language_id"] = comment.get("language_id")
    if post.get("name"):
        extra["post_title"] = post["name"]
    return RawMention(
        source=KIND,
        external_id=f"comment:{comment['id']}",
        url=comment.get("ap_id") or None,
        text=_plain(comment.get("content")),
        author=_author(view.get("creator") or {}),
        published_at=parse_iso_utc(comment.get("published")),
        language=_language(comment.get("language_id")),
        engagement=Engagement(
            likes=as_int(counts.get("score")), comments=as_int(counts.get("child_count"))
        ),
        parent_id=parent,
        extra=extra,
    )


def _instance_base(value: str) -> str:
    value = value.strip().rstrip("/")
    return value if "://" in value else f"https://{value}"


def _search(source: SourceConfig) -> tuple[str, list[str], list[str]]:
    """The source's (query, instance base URLs, content types); a config error without them."""
    params = source.params
    query = str(params.get("query") or params.get("q") or "").strip()
    instances = [_instance_base(i) for i in param_list(params, "instances")]
    if not instances and source.url:
        instances = [_instance_base(source.url)]
    if not query or not instances:
        raise SourceError(
            "lemmy: params.instances and params.query are required",
            source=source.name,
            reason="config",
        )
    return query, instances, param_list(params, "types") or ["Posts", "Comments"]


def _search_page(
    client: HttpClient,
    source: SourceConfig,
    base: str,
    query: str,
    kind: str,
    limit: int,
    page: int,
) -> HttpResponse:
    """One page of an instance's search for ``kind`` items, newest first."""
    params = {"q": query, "type_": kind, "sort": "New", "listing_type": "All"}
    return client.get(
        f"{base}/api/v3/search",
        params={**params, "limit": limit, "page": page},
        source=source.name,
    )


def fetch(client: HttpClient, source: SourceConfig, state: PollState) -> FetchResult:
    """New posts/comments matching ``query`` on every instance since the previous poll."""
    params = source.params
    query, instances, types = _search(source)
    limit = max(1, min(MAX_LIMIT, as_int(params.get("limit")) or MAX_LIMIT))
    max_pages = max(1, as_int(params.get("max_pages")) or 3)
    raw = load_cursor(state.cursor)
    cursors: dict[str, str] = (
        {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    )
    result = FetchResult()
    seen: dict[str, RawMention] = {}
    for base in instances:
        for kind in types:
            key = f"{base}|{kind.lower()}"
            since = parse_iso_utc(cursors.get(key))
            newest = since
            for page in range(1, max_pages + 1):
                response = _search_page(client, source, base, query, kind, limit, page)
                result.requests += 1
                result.bytes_received += len(response.body)
                parsed = parse(response.body, url=response.url)
                result.problems.extend(parsed.problems)
                reached = False
                for mention in parsed.mentions:
                    when = mention.published_at
                    if since is not None and when is not None and when <= since:
                        reached = True
                        continue
                    # The same federated item seen on two instances shares its ap_id.
                    seen.setdefault(mention.url or f"{base}|{mention.external_id}", mention)
                    if when is not None and (newest is None or when > newest):
                        newest = when
                if since is None or reached or len(parsed.mentions) < limit:
                    break
            if newest is not None:
                cursors[key] = newest.isoformat()
    result.mentions = list(seen.values())
    result.cursor = json.dumps(cursors, sort_keys=True) if cursors else state.cursor
    return result


def backfill_next(
    mentions: list[RawMention], cursor: dict[str, int], *, jobs: int, limit: int, since: datetime
) -> dict[str, int] | None:
    """The cursor after the page read at ``cursor`` that held ``mentions``; ``None``: done.
    A job (one instance and type) ends at a short page or one older than ``since``. Pure."""
    job, page = cursor.get("job", 0), cursor.get("page", 1)
    oldest = oldest_of(mentions)
    if len(mentions) >= limit and (oldest is None or oldest >= since):
        return {"job": job, "page": page + 1}
    return {"job": job + 1, "page": 1} if job + 1 < jobs else None


def backfill_page(
    client: HttpClient, source: SourceConfig, window: BackfillWindow, cursor: str | None
) -> BackfillPage:
    """One page of one instance's search, sorted New, back in time (module docstring)."""
    params = source.params
    query, instances, types = _search(source)
    jobs = [(base, kind) for base in instances for kind in types]
    limit = max(1, min(MAX_LIMIT, as_int(params.get("limit")) or MAX_LIMIT))
    raw = load_cursor(cursor)
    state = raw if isinstance(raw, dict) else {}
    job, page = as_int(state.get("job")) or 0, max(1, as_int(state.get("page")) or 1)
    if job >= len(jobs):
        return BackfillPage()
    base, kind = jobs[job]
    response = _search_page(client, source, base, query, kind, limit, page)
    parsed = parse(response.body, url=response.url)
    nxt = backfill_next(
        parsed.mentions, {"job": job, "page": page}, jobs=len(jobs), limit=limit, since=window.since
    )
    return BackfillPage(
        mentions=parsed.mentions,
        cursor=json.dumps(nxt, sort_keys=True) if nxt is not None else None,
        oldest=oldest_of(parsed.mentions),
        problems=parsed.problems,
        requests=1,
        bytes_received=len(response.body),
    )


def refresh(client: HttpClient, source: SourceConfig, items: list[RefreshItem]) -> list[RawMention]:
    """Current score and comment counts from each item's origin instance."""
    out: list[RawMention] = []
    for item in items:
        match = _AP_ID.match(item.url or "")
        if not match:
            continue
        base, what, ident = match.groups()
        try:
            response = client.get(f"{base}/api/v3/{what}", params={"id": ident}, source=source.name)
        except TransientSourceError:
            raise
        except SourceError as exc:
            logger.info("lemmy: cannot refresh %s: %s", item.url, exc)
            continue
        for mention in parse(response.body, url=response.url).mentions:
            mention.external_id = item.external_id  # stored under the serving instance's id
            out.append(mention)
    return out
