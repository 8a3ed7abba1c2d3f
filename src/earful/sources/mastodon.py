"""Mastodon: hashtag timelines on chosen instances, plus status search where allowed (no key).

``fetch`` reads ``GET /api/v1/timelines/tag/:tag`` for every (instance, hashtag) pair and, when
``search`` is set, ``GET /api/v2/search?type=statuses`` on every instance. Paging runs forward
with ``min_id`` from the newest id seen; the cursor is a JSON object
``{"<instance>|tag:<tag>": "<newest id>", "<instance>|search": "..."}`` because status ids are
local to each instance. The first poll reads one page (the newest ``limit`` statuses).

Many instances (mastodon.social among them since 4.2+ settings) disable anonymous access to
timelines ("public preview"): they answer 401 "This method requires an authenticated user".
That is reported as a :class:`SourceAuthError` naming the instance; when other instances of the
same source still answer, it is recorded as a problem and their statuses are kept. Anonymous
``/api/v2/search`` of statuses is refused by most instances; that too is a problem, not a crash.

``backfill_page`` reads the same timelines back in time (``earful sources backfill``): one
(instance, hashtag or search) after the other, paging with ``max_id`` (the smallest status id
of the page before; for ``until``, the snowflake id of that instant), until a page is short,
empty or older than ``since``. The cursor is ``{"job": N, "max_id": "..."}``.

``refresh`` re-reads ``GET /api/v1/statuses/:id`` on the status's *origin* server (parsed from
its ``url``, so the counts are the author's server's, the freshest), falling back to the first
listed instance and the stored id.

Params (``SourceConfig.params``):

=============  ===========================================================================
``instances``  list of instances, e.g. ``[mastodon.social, fosstodon.org]`` (host or URL)
``hashtags``   list of hashtags without ``#`` (``[acme, acmesupport]``)
``search``     optional full-text query for ``/api/v2/search`` (only where an instance allows)
``limit``      statuses per request, default 40 (Mastodon's maximum)
``max_pages``  pages per timeline per poll, default 5
=============  ===========================================================================

Normalization: ``external_id`` = the status id on the instance that served it; ``url`` = the
status's public URL (``uri`` when absent); ``text`` = content as plain text; ``title`` = the
content warning (``spoiler_text``) when set; ``author`` = ``acct`` completed with the account's
host; ``author_followers`` = ``account.followers_count``; favourites -> likes, reblogs ->
shares, replies -> comments; ``language``; ``parent_id`` = ``in_reply_to_id``. A reblog is
normalized as the status it reblogs.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from earful.config.models import SourceConfig
from earful.errors import ParseError, SourceAuthError, SourceError, TransientSourceError
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
from earful.sources.limits import as_int, param_list
from earful.sources.values import keep_parsed, load_cursor, load_json, parse_iso_utc
from earful.text import html_to_text

logger = logging.getLogger(__name__)

KIND = "mastodon"
MAX_LIMIT = 40
_STATUS_URL = re.compile(r"^(https?://[^/]+)/@[^/]+/(\d+)/?$")


def parse(body: bytes, *, url: str | None = None) -> ParseResult:
    """A list of statuses, one status, or a v2 search result (``{"statuses": [...]}``)."""
    data = load_json(body, KIND)
    if isinstance(data, list):
        statuses: list[Any] = data
    elif isinstance(data, dict) and isinstance(data.get("statuses"), list):
        statuses = data["statuses"]
    elif isinstance(data, dict) and "id" in data and "content" in data:
        statuses = [data]
    elif isinstance(data, dict) and "error" in data:
        raise ParseError(f"mastodon: error response: {data['error']}", source=KIND)
    else:
        raise ParseError("mastodon: not a status, status list or search result", source=KIND)
    result = ParseResult(mentions=[])
    for status in statuses:
        keep_parsed(
            result,
            lambda s: _mention(s, url) if s.get("id") else None,
            status,
            "mastodon: a status without id was skipped",
        )
    return result


def _mention(status: dict[str, Any], served_by: str | None) -> RawMention:
    reblogged = status.get("reblog")
    original = reblogged if isinstance(reblogged, dict) and reblogged.get("id") else status
    account = original.get("account") or {}
    status_url = original.get("url") or original.get("uri")
    spoiler = html_to_text(original.get("spoiler_text")) or None
    parent = original.get("in_reply_to_id")
    extra: dict[str, Any] = {"uri": original.get("uri")}
    tags = [t.get("name") for t in original.get("tags") or [] if isinstance(t, dict)]
    if tags:
        extra["tags"] = tags
    if served_by:
        host = urlsplit(served_by).hostname
        if host:
            extra["instance"] = host
    if original is not status:
        extra["reblogged_by"] = _handle(status.get("account") or {})
    return RawMention(
        source=KIND,
        external_id=str(original["id"]),
        url=str(status_url) if status_url else None,
        title=spoiler,
        text=html_to_text(original.get("content")),
        author=_handle(account),
        author_followers=as_int(account.get("followers_count")),
        published_at=parse_iso_utc(original.get("created_at")),
        language=original.get("language") or None,
        engagement=Engagement(
            likes=as_int(original.get("favourites_count")),
            shares=as_int(original.get("reblogs_count")),
            comments=as_int(original.get("replies_count")),
        ),
        parent_id=str(parent) if parent else None,
        extra=extra,
    )


def _handle(account: dict[str, Any]) -> str | None:
    """``user@host``: a local account's ``acct`` lacks the host, which its URL carries."""
    acct = account.get("acct") or account.get("username")
    if not acct:
        return None
    acct = str(acct)
    if "@" not in acct:
        host = urlsplit(str(account.get("url") or "")).hostname
        if host:
            acct = f"{acct}@{host}"
    return acct


def _instance_base(value: str) -> str:
    value = value.strip().rstrip("/")
    return value if "://" in value else f"https://{value}"


def _id_key(value: str) -> tuple[int, str]:
    # Snowflake ids are digit strings of growing length; compare numerically.
    return (len(value), value)


def _load_cursor(raw: str | None) -> dict[str, str]:
    data = load_cursor(raw)
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _jobs(source: SourceConfig) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(instance base, cursor key, endpoint, extra query) of every timeline to read."""
    params = source.params
    instances = [_instance_base(i) for i in param_list(params, "instances")]
    if not instances and source.url:
        instances = [_instance_base(source.url)]
    hashtags = [h.lstrip("#") for h in param_list(params, "hashtags")]
    query = str(params.get("search") or "").strip()
    jobs: list[tuple[str, str, str, dict[str, Any]]] = []
    for base in instances:
        for tag in hashtags:
            endpoint = f"{base}/api/v1/timelines/tag/{quote(tag, safe='')}"
            jobs.append((base, f"{base}|tag:{tag.lower()}", endpoint, {}))
        if query:
            search = {"q": query, "type": "statuses"}
            jobs.append((base, f"{base}|search", f"{base}/api/v2/search", search))
    return jobs


def fetch(client: HttpClient, source: SourceConfig, state: PollState) -> FetchResult:
    """New statuses of every configured hashtag timeline (and search) since the cursor."""
    params = source.params
    limit = max(1, min(MAX_LIMIT, as_int(params.get("limit")) or MAX_LIMIT))
    max_pages = max(1, as_int(params.get("max_pages")) or 5)
    cursors = _load_cursor(state.cursor)
    result = FetchResult()
    seen: dict[tuple[str, str], RawMention] = {}
    auth_failures: list[str] = []
    succeeded = 0
    jobs = _jobs(source)

    for base, key, endpoint, extra_params in jobs:
        try:
            mentions = _read_timeline(
                client, source, endpoint, extra_params, cursors.get(key), limit, max_pages, result
            )
        except SourceAuthError as exc:
            if key.endswith("|search"):
                result.problems.append(
                    f"mastodon: {base} refuses anonymous status search ({exc.reason}); "
                    "remove `search` or use an instance that allows it"
                )
                continue
            auth_failures.append(
                f"{base} does not allow anonymous hashtag timelines (HTTP 401 'This method "
                "requires an authenticated user': the instance disabled public preview); "
                "remove it from `instances` or pick another instance"
            )
            continue
        succeeded += 1
        for mention in mentions:
            seen.setdefault((base, mention.external_id), mention)
        if mentions:
            newest = max((m.external_id for m in mentions), key=_id_key)
            old = cursors.get(key)
            cursors[key] = newest if old is None else max(old, newest, key=_id_key)

    if auth_failures and not succeeded:
        raise SourceAuthError(
            "mastodon: " + "; ".join(auth_failures), source=source.name, reason="public_preview"
        )
    result.problems.extend(f"mastodon: {msg}" for msg in auth_failures)
    # The same status reached through two instances has two local ids; keep one.
    unique: dict[str, RawMention] = {}
    for mention in seen.values():
        unique.setdefault(str(mention.extra.get("uri") or mention.url), mention)
    result.mentions = list(unique.values())
    result.cursor = json.dumps(cursors, sort_keys=True) if cursors else state.cursor
    return result


def _read_timeline(
    client: HttpClient,
    source: SourceConfig,
    endpoint: str,
    extra_params: dict[str, Any],
    since: str | None,
    limit: int,
    max_pages: int,
    result: FetchResult,
) -> list[RawMention]:
    out: list[RawMention] = []
    min_id = since
    for _ in range(max_pages):
        query: dict[str, Any] = dict(extra_params, limit=limit)
        if min_id:
            query["min_id"] = min_id
        response = client.get(endpoint, params=query, source=source.name)
        result.requests += 1
        result.bytes_received += len(response.body)
        parsed = parse(response.body, url=endpoint)
        result.problems.extend(parsed.problems)
        out.extend(parsed.mentions)
        if since is None or len(parsed.mentions) < limit:
            break  # first poll reads one page; a short page means we caught up
        min_id = max((m.external_id for m in parsed.mentions), key=_id_key)
    return out


def snowflake_at(when: datetime) -> str:
    """The smallest Mastodon status id created at ``when`` (ids are milliseconds << 16), so
    ``max_id`` of it pages from that instant back."""
    return str(int(when.timestamp() * 1000) << 16)


def backfill_next_max_id(body: bytes) -> str | None:
    """The ``max_id`` of the page after ``body`` (a status list or v2 search result): the
    smallest id on it, reblog wrappers included (paging follows the timeline's own ids).
    ``None`` for an empty page. Pure."""
    data = load_json(body, KIND)
    items = data.get("statuses") if isinstance(data, dict) else data
    ids = [str(i["id"]) for i in items or [] if isinstance(i, dict) and i.get("id")]
    return min(ids, key=_id_key) if ids else None


def backfill_page(
    client: HttpClient, source: SourceConfig, window: BackfillWindow, cursor: str | None
) -> BackfillPage:
    """One page of one timeline back in time (see the module docstring)."""
    jobs = _jobs(source)
    if not jobs:
        raise SourceError(
            "mastodon: params.instances and params.hashtags (or search) are required",
            source=source.name,
            reason="config",
        )
    state = load_cursor(cursor)
    state = state if isinstance(state, dict) else {}
    job = as_int(state.get("job")) or 0
    if job >= len(jobs):
        return BackfillPage()
    _base, _key, endpoint, extra = jobs[job]
    limit = max(1, min(MAX_LIMIT, as_int(source.params.get("limit")) or MAX_LIMIT))
    max_id = state.get("max_id") or (snowflake_at(window.until) if window.until else None)
    query: dict[str, Any] = dict(extra, limit=limit)
    if max_id:
        query["max_id"] = str(max_id)
    response = client.get(endpoint, params=query, source=source.name)
    parsed = parse(response.body, url=endpoint)
    page = BackfillPage(
        mentions=parsed.mentions,
        oldest=oldest_of(parsed.mentions),
        problems=parsed.problems,
        requests=1,
        bytes_received=len(response.body),
    )
    after = backfill_next_max_id(response.body)
    finished = (
        after is None
        or len(parsed.mentions) < limit
        or (page.oldest is not None and page.oldest < window.since)
    )
    if not finished:
        page.cursor = json.dumps({"job": job, "max_id": after}, sort_keys=True)
    elif job + 1 < len(jobs):
        page.cursor = json.dumps({"job": job + 1}, sort_keys=True)
    return page


def refresh(client: HttpClient, source: SourceConfig, items: list[RefreshItem]) -> list[RawMention]:
    """Current favourites/reblogs/replies and follower counts, one status per request."""
    instances = [_instance_base(i) for i in param_list(source.params, "instances")]
    out: list[RawMention] = []
    for item in items:
        match = _STATUS_URL.match(item.url or "")
        if match:
            endpoint = f"{match.group(1)}/api/v1/statuses/{match.group(2)}"
        elif instances:
            endpoint = f"{instances[0]}/api/v1/statuses/{quote(item.external_id, safe='')}"
        else:
            continue
        try:
            response = client.get(endpoint, source=source.name)
        except TransientSourceError:
            raise
        except SourceError as exc:
            logger.info("mastodon: cannot refresh %s: %s", item.external_id, exc)
            continue
        for mention in parse(response.body, url=endpoint).mentions:
            mention.external_id = item.external_id  # the id it is stored under
            out.append(mention)
    return out
