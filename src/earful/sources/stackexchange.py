"""Stack Exchange (Stack Overflow, Super User, ...) through API 2.3; a free key is optional.

``fetch`` calls ``/2.3/search/advanced`` (``sort=creation``, ``order=desc``,
``filter=withbody``) from the newest ``creation_date`` of the previous poll, paging while
``has_more``. Without a key an IP gets 300 requests a day; with one (register at
https://stackapps.com/apps/oauth/register), 10,000. ``quota_remaining`` is reported as
``quota_left``.

The API's ``backoff`` field (seconds) forbids calling the same method again before it has
passed. Earful obeys it across polls: the deadline is kept in the cursor, paging stops when a
page carries ``backoff``, and a poll that comes too early raises
:class:`TransientSourceError` with ``retry_after`` instead of calling the API.

``backfill_page`` searches the past (``earful sources backfill``): the same search with
``fromdate``/``todate`` set to the window, page by page while ``has_more``. The cursor is
``{"page": N}``; a ``backoff`` on a page is returned as the wait before the next one, and
``quota_remaining`` as ``quota_left`` (the backfill stops, resumable, when it reaches 0).

``refresh`` re-reads score, answer and view counts with ``/2.3/questions/{ids}`` (100 ids a
call, per site).

Params (``SourceConfig.params``):

=============  =============================================================================
``q``          free-text query (``query`` is accepted too)
``site``       site, default ``stackoverflow`` (any api_site_parameter or domain)
``key``        optional app key, e.g. ``${STACKEXCHANGE_KEY}`` (raises the daily quota)
``tagged``     optional ``;``-separated tags to restrict the search
``pagesize``   items per page, default 100 (the API's maximum)
``max_pages``  pages per poll, default 3
=============  =============================================================================

Normalization: ``external_id`` = ``{site host}:{question_id}`` (ids repeat across sites);
``url`` = ``link``; ``title`` with entities decoded; ``text`` = ``body`` as plain text (the
title when the body was not requested); ``author`` = ``owner.display_name``; score -> likes,
answer_count -> comments, view_count -> views. ``owner.reputation`` is not a follower count,
so ``author_followers`` stays null (reputation is kept in ``extra``).
"""

from __future__ import annotations

import html
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from earful.config.models import SourceConfig
from earful.errors import ParseError, TransientSourceError
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
from earful.sources.values import keep_parsed, load_cursor, load_json
from earful.text import html_to_text

logger = logging.getLogger(__name__)

KIND = "stackexchange"
DEFAULT_BASE = "https://api.stackexchange.com/2.3"
REFRESH_BATCH = 100


def parse(body: bytes, *, url: str | None = None) -> ParseResult:
    """A Stack Exchange wrapper object (``{"items": [...], "quota_remaining": ...}``)."""
    data = load_json(body, KIND)
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        if isinstance(data, dict) and data.get("error_id"):
            raise ParseError(
                f"stackexchange: error {data.get('error_id')} {data.get('error_name')}: "
                f"{data.get('error_message')}",
                source=KIND,
                reason="api_error",
            )
        raise ParseError("stackexchange: no items[] in the response", source=KIND, reason="shape")
    result = ParseResult(mentions=[])
    for item in data["items"]:
        keep_parsed(
            result, _mention, item, "stackexchange: an item without question_id/link was skipped"
        )
    return result


def _mention(item: dict[str, Any]) -> RawMention | None:
    link = item.get("link")
    is_answer = item.get("answer_id") is not None
    ident = item.get("answer_id") if is_answer else item.get("question_id")
    host = urlsplit(link).hostname if isinstance(link, str) else None
    if ident is None or not host:
        return None
    owner = item.get("owner") or {}
    title = html.unescape(item["title"]) if isinstance(item.get("title"), str) else None
    body = item.get("body")
    text = html_to_text(body) if isinstance(body, str) else (title or "")
    created = as_int(item.get("creation_date"))
    extra: dict[str, Any] = {"site": host}
    for key in ("tags", "is_answered", "accepted_answer_id", "last_activity_date"):
        if item.get(key) is not None:
            extra[key] = item[key]
    if owner.get("reputation") is not None:
        extra["author_reputation"] = owner["reputation"]
    name = owner.get("display_name")
    return RawMention(
        source=KIND,
        external_id=f"{host}:{'a' if is_answer else ''}{ident}",
        url=link,
        title=title,
        text=text,
        author=html.unescape(name) if isinstance(name, str) and name else None,
        author_followers=None,
        published_at=datetime.fromtimestamp(created, UTC) if created is not None else None,
        engagement=Engagement(
            likes=as_int(item.get("score")),
            comments=as_int(item.get("answer_count")),
            views=as_int(item.get("view_count")),
        ),
        parent_id=(
            f"{host}:{item['question_id']}" if is_answer and item.get("question_id") else None
        ),
        extra=extra,
    )


def _base(source: SourceConfig) -> str:
    return (source.url or DEFAULT_BASE).rstrip("/")


def _cursor(raw: str | None) -> dict[str, float]:
    data = load_cursor(raw)
    if isinstance(data, int | float):  # a bare fromdate
        return {"fromdate": float(data)}
    if isinstance(data, dict):
        return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}
    return {}


def _search_params(source: SourceConfig) -> dict[str, Any]:
    params = source.params
    query: dict[str, Any] = {
        "order": "desc",
        "sort": "creation",
        "site": str(params.get("site") or "stackoverflow"),
        "filter": "withbody",
        "pagesize": max(1, min(100, as_int(params.get("pagesize")) or 100)),
    }
    q = params.get("q") or params.get("query")
    if q:
        query["q"] = str(q)
    if params.get("tagged"):
        query["tagged"] = str(params["tagged"])
    key = resolve_secret(params.get("key"))
    if key:
        query["key"] = key
    return query


def fetch(client: HttpClient, source: SourceConfig, state: PollState) -> FetchResult:
    """Questions created since the previous poll, obeying ``backoff`` and reporting quota."""
    params = source.params
    cursor = _cursor(state.cursor)
    now = time.time()
    not_before = cursor.get("not_before", 0.0)
    if not_before > now:
        raise TransientSourceError(
            f"stackexchange: the API asked for a backoff; next call allowed in "
            f"{not_before - now:.0f}s",
            source=source.name,
            reason="backoff",
            retry_after=not_before - now,
        )
    query = _search_params(source)
    since = cursor.get("fromdate")
    if since is not None:
        query["fromdate"] = int(since) + 1  # fromdate is inclusive
    max_pages = max(1, as_int(params.get("max_pages")) or 3)

    result = FetchResult()
    newest = since
    cursor.pop("not_before", None)
    for page in range(1, max_pages + 1):
        query["page"] = page
        response = client.get(f"{_base(source)}/search/advanced", params=query, source=source.name)
        result.requests += 1
        result.bytes_received += len(response.body)
        parsed = parse(response.body, url=response.url)
        result.problems.extend(parsed.problems)
        result.mentions.extend(parsed.mentions)
        for mention in parsed.mentions:
            if mention.published_at is not None:
                stamp = mention.published_at.timestamp()
                newest = stamp if newest is None else max(newest, stamp)
        data = response.json()
        remaining = as_int(data.get("quota_remaining"))
        if remaining is not None:
            result.quota_left = remaining
        backoff = as_int(data.get("backoff"))
        if backoff:
            cursor["not_before"] = time.time() + backoff
            if data.get("has_more"):
                result.problems.append(
                    f"stackexchange: API backoff of {backoff}s; remaining pages wait for the "
                    "next poll"
                )
            break
        if not data.get("has_more") or since is None:
            break  # the first poll reads the newest page only
        if remaining is not None and remaining <= 0:
            result.problems.append("stackexchange: daily quota used up; paging stopped")
            break
    if newest is not None:
        cursor["fromdate"] = newest
    result.cursor = json.dumps(cursor, sort_keys=True) if cursor else state.cursor
    return result


def backfill_next(data: Any, page: int) -> dict[str, int] | None:
    """The cursor after page ``page`` whose body (parsed JSON) is ``data``; ``None``: done.
    Pure."""
    if not isinstance(data, dict) or not data.get("has_more") or not data.get("items"):
        return None
    return {"page": page + 1}


def backfill_page(
    client: HttpClient, source: SourceConfig, window: BackfillWindow, cursor: str | None
) -> BackfillPage:
    """One page of questions created in ``window``, newest first (see the module docstring)."""
    raw = load_cursor(cursor)
    page = as_int(raw.get("page")) if isinstance(raw, dict) else None
    page = max(1, page or 1)
    query = _search_params(source)
    query["fromdate"] = int(window.since.timestamp())
    if window.until is not None:
        query["todate"] = int(window.until.timestamp()) - 1  # todate is inclusive
    query["page"] = page
    response = client.get(f"{_base(source)}/search/advanced", params=query, source=source.name)
    parsed = parse(response.body, url=response.url)
    data = response.json()
    nxt = backfill_next(data, page)
    return BackfillPage(
        mentions=parsed.mentions,
        cursor=json.dumps(nxt) if nxt is not None else None,
        oldest=oldest_of(parsed.mentions),
        problems=parsed.problems,
        requests=1,
        bytes_received=len(response.body),
        quota_left=as_int(data.get("quota_remaining")),
        wait_s=float(as_int(data.get("backoff")) or 0),
    )


def refresh(client: HttpClient, source: SourceConfig, items: list[RefreshItem]) -> list[RawMention]:
    """Current score/answers/views of known questions, 100 ids per request per site."""
    by_site: dict[str, list[str]] = {}
    for item in items:
        site, _, ident = item.external_id.rpartition(":")
        if site and ident.isdigit():
            by_site.setdefault(site, []).append(ident)
    key = resolve_secret(source.params.get("key"))
    out: list[RawMention] = []
    for site, ids in by_site.items():
        for start in range(0, len(ids), REFRESH_BATCH):
            batch = ids[start : start + REFRESH_BATCH]
            query: dict[str, Any] = {"site": site, "pagesize": len(batch)}
            if key:
                query["key"] = key
            response = client.get(
                f"{_base(source)}/questions/{';'.join(batch)}", params=query, source=source.name
            )
            out.extend(parse(response.body).mentions)
    return out
