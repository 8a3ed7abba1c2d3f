"""GitHub issues and pull requests through the search API; a token is optional.

``fetch`` calls ``GET /search/issues?q=…&sort=created&order=desc`` and pages (100 per page)
back to the previous poll, which it expresses as a ``created:>TIMESTAMP`` qualifier. GitHub
serves at most 1,000 results per search; paging stops at that cap and says so in the
problems. Without a token the search API allows 10 requests a minute, with one 30.
``X-RateLimit-Remaining`` is reported as ``quota_left``; a 403 with the limit exhausted is a
:class:`TransientSourceError` whose ``retry_after`` comes from ``X-RateLimit-Reset`` (mapped in
the HTTP layer). Bodies are requested as plain text (``application/vnd.github.text+json``).

``backfill_page`` searches the past (``earful sources backfill``): the query with a
``created:SINCE..UNTIL`` qualifier, newest first, page by page; at the 1,000-result cap it
searches again with ``UNTIL`` moved to the oldest item read. The cursor is
``{"page": N, "until": ISO}``. The search API's rate limit is the HTTP layer's (a 403 with
the limit exhausted waits for the reset).

``refresh`` re-reads ``GET /repos/{owner}/{repo}/issues/{number}`` for each known item
(comments and reactions).

Params (``SourceConfig.params``):

=============  ==============================================================================
``query``      GitHub search syntax, e.g. ``acme in:title,body is:issue`` (``q`` accepted too)
``token``      optional, e.g. ``${GITHUB_TOKEN}`` (sent as ``Authorization: Bearer``)
``per_page``   default 100 (GitHub's maximum)
``max_pages``  pages per poll, default 10 (the 1,000-result cap)
=============  ==============================================================================

Normalization: ``external_id`` = the issue's global ``id``; ``url`` = ``html_url``; ``title``;
``text`` = body as plain text; ``author`` = ``user.login``; ``comments`` -> comments;
``reactions.total_count`` -> likes (the per-emoji breakdown is kept in ``extra``).
"""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import datetime, timedelta
from typing import Any

from earful.clock import isoformat_z
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
from earful.sources.http import HttpClient
from earful.sources.limits import as_int, read_rate_limit, resolve_secret
from earful.sources.values import keep_parsed, load_cursor, load_json, parse_iso_utc
from earful.text import html_to_text

logger = logging.getLogger(__name__)

KIND = "github"
DEFAULT_BASE = "https://api.github.com"
SEARCH_CAP = 1000
_ISSUE_URL = re.compile(r"^https://github\.com/([^/]+)/([^/]+)/(?:issues|pull)/(\d+)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def parse(body: bytes, *, url: str | None = None) -> ParseResult:
    """A search result (``{"items": [...]}``), a list of issues, or one issue."""
    data = load_json(body, KIND)
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        items: list[Any] = data["items"]
    elif isinstance(data, list):
        items = data
    elif isinstance(data, dict) and "html_url" in data and "id" in data:
        items = [data]
    elif isinstance(data, dict) and "message" in data:
        raise ParseError(f"github: error response: {data['message']}", source=KIND)
    else:
        raise ParseError("github: not a search result or issue", source=KIND, reason="shape")
    result = ParseResult(mentions=[])
    for item in items:
        keep_parsed(result, _mention, item, "github: an item without id/html_url was skipped")
    return result


def _body_text(item: dict[str, Any]) -> str:
    plain = item.get("body_text")
    if isinstance(plain, str):
        return plain.strip()
    if isinstance(item.get("body_html"), str):
        return html_to_text(item["body_html"])
    raw = item.get("body")
    if not isinstance(raw, str):
        return ""
    # Markdown is kept as written (code like List<String> must survive); template comments go.
    return _HTML_COMMENT.sub("", raw).replace("\r\n", "\n").strip()


def _mention(item: dict[str, Any]) -> RawMention | None:
    ident = item.get("id")
    html_url = item.get("html_url")
    if ident is None or not isinstance(html_url, str):
        return None
    user = item.get("user") or {}
    reactions = item.get("reactions") if isinstance(item.get("reactions"), dict) else {}
    extra: dict[str, Any] = {
        "number": item.get("number"),
        "state": item.get("state"),
        "is_pull_request": "pull_request" in item,
    }
    match = _ISSUE_URL.match(html_url)
    if match:
        extra["repo"] = f"{match.group(1)}/{match.group(2)}"
    if reactions:
        extra["reactions"] = {
            k: v for k, v in reactions.items() if isinstance(v, int) and k != "total_count"
        }
    title = item.get("title") or None
    return RawMention(
        source=KIND,
        external_id=str(ident),
        url=html_url,
        title=title,
        text=_body_text(item) or (title or ""),
        author=user.get("login") or None,
        published_at=parse_iso_utc(item.get("created_at")),
        engagement=Engagement(
            likes=as_int(reactions.get("total_count")) if reactions else None,
            comments=as_int(item.get("comments")),
        ),
        extra=extra,
    )


def _headers(source: SourceConfig, accept: str) -> dict[str, str]:
    headers = {"Accept": accept, "X-GitHub-Api-Version": "2022-11-28"}
    token = resolve_secret(source.params.get("token"))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _base(source: SourceConfig) -> str:
    return (source.url or DEFAULT_BASE).rstrip("/")


def fetch(client: HttpClient, source: SourceConfig, state: PollState) -> FetchResult:
    """Issues/PRs created since the cursor (ISO time of the newest seen), up to 1,000."""
    params = source.params
    query = str(params.get("query") or params.get("q") or "").strip()
    if not query:
        raise SourceError("github: params.query is empty", source=source.name, reason="config")
    per_page = max(1, min(100, as_int(params.get("per_page")) or 100))
    max_pages = max(1, min(SEARCH_CAP // per_page, as_int(params.get("max_pages")) or 10))
    since = parse_iso_utc(state.cursor) if state.cursor else None
    q = f"{query} created:>{isoformat_z(since)}" if since else query
    headers = _headers(source, "application/vnd.github.text+json")
    result = FetchResult(cursor=state.cursor)
    newest = since
    for page in range(1, max_pages + 1):
        response = client.get(
            f"{_base(source)}/search/issues",
            params={"q": q, "sort": "created", "order": "desc", "per_page": per_page, "page": page},
            headers=headers,
            source=source.name,
        )
        result.requests += 1
        result.bytes_received += len(response.body)
        rate = read_rate_limit(response.headers, now_epoch=time.time())
        if rate.remaining is not None:
            result.quota_left = rate.remaining
        parsed = parse(response.body, url=response.url)
        result.problems.extend(parsed.problems)
        result.mentions.extend(parsed.mentions)
        for mention in parsed.mentions:
            if mention.published_at and (newest is None or mention.published_at > newest):
                newest = mention.published_at
        total = as_int(response.json().get("total_count")) or 0
        if since is None or page * per_page >= total or len(parsed.mentions) < per_page:
            break  # first poll: newest page only; or everything read
        if page * per_page >= SEARCH_CAP:
            result.problems.append(
                f"github: {total} results exceed the search API's 1,000-result cap; "
                "the oldest were not read (narrow the query or poll more often)"
            )
            break
        if rate.exhausted:
            result.problems.append("github: rate limit used up; paging stopped for this poll")
            break
    else:
        if since is not None:
            result.problems.append(f"github: stopped after max_pages={max_pages}")
    if newest is not None:
        result.cursor = isoformat_z(newest)
    return result


def backfill_next(
    data: Any, page: int, *, per_page: int, oldest: datetime | None
) -> dict[str, Any] | None:
    """The cursor after page ``page`` whose body (parsed JSON) is ``data``; ``None``: done.
    Pure."""
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list) or len(items) < per_page:
        return None
    total = as_int(data.get("total_count")) or 0
    if page * per_page >= total:
        return None
    if page * per_page >= SEARCH_CAP:
        if oldest is None:
            return None
        # A new search below the oldest item read: the cap counts per search. Its second is
        # read again (ids dedupe).
        return {"page": 1, "until": isoformat_z(oldest + timedelta(seconds=1))}
    return {"page": page + 1}


def backfill_page(
    client: HttpClient, source: SourceConfig, window: BackfillWindow, cursor: str | None
) -> BackfillPage:
    """One page of issues/PRs created in ``window``, newest first (see the module docstring)."""
    query = str(source.params.get("query") or source.params.get("q") or "").strip()
    if not query:
        raise SourceError("github: params.query is empty", source=source.name, reason="config")
    per_page = max(1, min(100, as_int(source.params.get("per_page")) or 100))
    state = load_cursor(cursor)
    state = state if isinstance(state, dict) else {}
    page = max(1, as_int(state.get("page")) or 1)
    until = parse_iso_utc(state.get("until")) or window.until
    # GitHub's range is inclusive at both ends; the window's end is not.
    upper = isoformat_z(until - timedelta(seconds=1)) if until is not None else "*"
    response = client.get(
        f"{_base(source)}/search/issues",
        params={
            "q": f"{query} created:{isoformat_z(window.since)}..{upper}",
            "sort": "created",
            "order": "desc",
            "per_page": per_page,
            "page": page,
        },
        headers=_headers(source, "application/vnd.github.text+json"),
        source=source.name,
    )
    parsed = parse(response.body, url=response.url)
    oldest = oldest_of(parsed.mentions)
    nxt = backfill_next(response.json(), page, per_page=per_page, oldest=oldest)
    if nxt is not None and "until" not in nxt and state.get("until"):
        nxt["until"] = state["until"]
    return BackfillPage(
        mentions=parsed.mentions,
        cursor=json.dumps(nxt, sort_keys=True) if nxt is not None else None,
        oldest=oldest,
        problems=parsed.problems,
        requests=1,
        bytes_received=len(response.body),
    )


def refresh(client: HttpClient, source: SourceConfig, items: list[RefreshItem]) -> list[RawMention]:
    """Current comments and reactions of known issues/PRs, one request each."""
    headers = _headers(source, "application/vnd.github.text+json")
    out: list[RawMention] = []
    for item in items:
        match = _ISSUE_URL.match(item.url or "")
        if not match:
            continue
        owner, repo, number = match.groups()
        try:
            response = client.get(
                f"{_base(source)}/repos/{owner}/{repo}/issues/{number}",
                headers=headers,
                source=source.name,
            )
        except TransientSourceError:
            raise
        except SourceError as exc:
            logger.info("github: cannot refresh %s: %s", item.url, exc)
            continue
        out.extend(parse(response.body).mentions)
    return out
