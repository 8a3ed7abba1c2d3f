"""Hacker News through the Algolia search API (no key).

``fetch`` calls ``search_by_date`` (newest first) and pages until it reaches the cursor.
Algolia serves at most 1,000 hits per query (``page * hitsPerPage``), so a backlog larger than
that is *time-sliced*: the next slice asks again with ``created_at_i<`` the oldest hit seen,
down to the cursor. The cursor is the newest ``created_at_i`` seen (epoch seconds, as text).
The first poll (no cursor) reads one page of the newest hits, not all of history.

``backfill_page`` searches the past (``earful sources backfill``): ``search_by_date`` with
``numericFilters=created_at_i>=SINCE,created_at_i<UNTIL``, newest first, page by page; past
Algolia's 1,000-hit window it slices again below the oldest hit, like ``fetch``. The cursor is
``{"page": N, "upper": EPOCH}`` (``upper``: the exclusive upper bound of the current slice).

``refresh`` re-reads points and comment counts of known stories in batches of 50 with one
``search?tags=story,(story_1,story_2,...)`` call per batch. Comment hits carry no points in the
API, so only stories are refreshed.

Params (``SourceConfig.params``):

=================  =========================================================================
``query``          search words (Algolia full text); empty = everything matching ``tags``
``tags``           Algolia tag filter, default ``(story,comment)``; e.g. ``story``,
                   ``comment``, ``(story,comment),author_pg``
``hits_per_page``  hits per request, default 100 (Algolia allows up to 1,000)
``max_requests``   request budget per poll, default 20 (a gap is reported when it runs out)
=================  =========================================================================

``url`` (optional): the API base, default ``https://hn.algolia.com/api/v1``.

Normalization: ``external_id`` = ``objectID``; ``url`` is always the HN discussion
(``https://news.ycombinator.com/item?id=ID``) — the points and comments belong to it, and a
story's link target would collide with the linked article in URL dedupe (it is kept in
``extra["link_url"]``); ``title`` for stories; ``text`` = ``story_text``/``comment_text`` as
plain text (the title for link-only stories); ``points`` -> likes, ``num_comments`` ->
comments; ``parent_id`` for comments.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from earful.config.models import SourceConfig
from earful.errors import ParseError
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
from earful.sources.limits import as_int
from earful.sources.values import keep_parsed, load_json, parse_iso_utc
from earful.text import html_to_text

logger = logging.getLogger(__name__)

KIND = "hackernews"
DEFAULT_BASE = "https://hn.algolia.com/api/v1"
ITEM_URL = "https://news.ycombinator.com/item?id={id}"
ALGOLIA_HIT_CAP = 1000
REFRESH_BATCH = 50


def parse(body: bytes, *, url: str | None = None) -> ParseResult:
    """Algolia search response (``{"hits": [...]}``) or one item -> mentions."""
    data = load_json(body, KIND)
    if isinstance(data, dict) and isinstance(data.get("hits"), list):
        hits: list[Any] = data["hits"]
    elif isinstance(data, dict) and ("objectID" in data or "id" in data):
        hits = [data]
    else:
        raise ParseError("hackernews: no hits[] in the response", source=KIND, reason="shape")
    result = ParseResult(mentions=[])
    for hit in hits:
        keep_parsed(result, _mention_from_hit, hit, "hackernews: a hit without id was skipped")
    return result


def _mention_from_hit(hit: dict[str, Any]) -> RawMention | None:
    # Search hits use objectID/created_at_i; /api/v1/items/:id uses id/type/text.
    ident = hit.get("objectID", hit.get("id"))
    if ident is None or str(ident) == "":
        return None
    external_id = str(ident)
    tags = [t for t in hit.get("_tags") or [] if isinstance(t, str)]
    kind = hit.get("type") or next(
        (t for t in tags if t in ("story", "comment", "poll", "pollopt", "job")), None
    )
    is_comment = kind == "comment" or (kind is None and hit.get("comment_text") is not None)
    title = None if is_comment else (hit.get("title") or None)
    markup = hit.get("comment_text") or hit.get("story_text") or hit.get("text")
    text = html_to_text(markup) if markup else (title or "")
    published = _published(hit)
    parent = hit.get("parent_id")
    extra: dict[str, Any] = {"type": kind or ("comment" if is_comment else "story")}
    for key in ("story_id", "story_title", "story_url"):
        if hit.get(key) is not None:
            extra[key] = hit[key]
    if hit.get("url"):
        extra["link_url"] = hit["url"]
    return RawMention(
        source=KIND,
        external_id=external_id,
        url=ITEM_URL.format(id=external_id),
        title=title,
        text=text,
        author=hit.get("author") or None,
        published_at=published,
        engagement=Engagement(
            likes=as_int(hit.get("points")),
            comments=as_int(hit.get("num_comments")),
        ),
        parent_id=str(parent) if is_comment and parent is not None else None,
        extra=extra,
    )


def _published(hit: dict[str, Any]) -> datetime | None:
    epoch = as_int(hit.get("created_at_i"))
    if epoch is not None:
        return datetime.fromtimestamp(epoch, UTC)
    return parse_iso_utc(hit.get("created_at"))


def _base(source: SourceConfig) -> str:
    return (source.url or DEFAULT_BASE).rstrip("/")


def fetch(client: HttpClient, source: SourceConfig, state: PollState) -> FetchResult:
    """New hits since ``state.cursor`` (newest ``created_at_i``), time-sliced past 1,000 hits."""
    params = source.params
    per_page = max(1, min(ALGOLIA_HIT_CAP, as_int(params.get("hits_per_page")) or 100))
    budget = max(1, as_int(params.get("max_requests")) or 20)
    tags = str(params.get("tags") or "(story,comment)")
    query = str(params.get("query") or "")
    since = as_int(state.cursor) if state.cursor else None
    endpoint = f"{_base(source)}/search_by_date"

    result = FetchResult(cursor=state.cursor)
    seen: dict[str, RawMention] = {}
    newest = since
    upper: int | None = None  # exclusive upper bound of the current time slice
    page = 0
    while True:
        if result.requests >= budget:
            if since is not None:
                result.problems.append(
                    f"hackernews: request budget of {budget} spent before reaching the cursor; "
                    "older hits of this poll were skipped"
                )
            break
        filters = []
        if since is not None:
            filters.append(f"created_at_i>{since}")
        if upper is not None:
            filters.append(f"created_at_i<{upper}")
        query_params: dict[str, Any] = {
            "query": query,
            "tags": tags,
            "hitsPerPage": per_page,
            "page": page,
        }
        if filters:
            query_params["numericFilters"] = ",".join(filters)
        response = client.get(endpoint, params=query_params, source=source.name)
        result.requests += 1
        result.bytes_received += len(response.body)
        parsed = parse(response.body, url=response.url)
        result.problems.extend(parsed.problems)
        for mention in parsed.mentions:
            seen.setdefault(mention.external_id, mention)
            stamp = _epoch(mention)
            if stamp is not None and (newest is None or stamp > newest):
                newest = stamp
        data = response.json()
        nb_pages = as_int(data.get("nbPages")) or 0
        nb_hits = as_int(data.get("nbHits")) or 0
        if since is None or not parsed.mentions:
            break  # first poll: the newest page is enough; or nothing (more) to read
        if page + 1 < nb_pages and (page + 1) * per_page < ALGOLIA_HIT_CAP:
            page += 1
            continue
        if nb_hits > (page + 1) * per_page:
            # Algolia's 1,000-hit window is used up: slice below the oldest hit seen. The
            # boundary second is read again (ids dedupe) unless that would not make progress.
            oldest = min((s for s in map(_epoch, parsed.mentions) if s is not None), default=None)
            if oldest is None:
                break
            new_upper = oldest + 1
            if upper is not None and new_upper >= upper:
                new_upper = oldest
            if upper is not None and new_upper >= upper:
                break
            upper, page = new_upper, 0
            continue
        break
    result.mentions = sorted(seen.values(), key=lambda m: _epoch(m) or 0)
    if newest is not None:
        result.cursor = str(newest)
    return result


def _epoch(mention: RawMention) -> int | None:
    return int(mention.published_at.timestamp()) if mention.published_at else None


def backfill_next(data: Any, cursor: dict[str, int], *, per_page: int) -> dict[str, int] | None:
    """The cursor of the page after ``data`` (an Algolia search body already parsed as JSON)
    read at ``cursor``; ``None`` when the window is exhausted. Pure."""
    hits = data.get("hits") if isinstance(data, dict) else None
    if not isinstance(hits, list) or not hits:
        return None
    page = cursor.get("page", 0)
    upper = cursor.get("upper")
    nb_pages = as_int(data.get("nbPages")) or 0
    nb_hits = as_int(data.get("nbHits")) or 0
    if page + 1 < nb_pages and (page + 2) * per_page <= ALGOLIA_HIT_CAP:
        return {"page": page + 1, **({"upper": upper} if upper is not None else {})}
    if nb_hits <= (page + 1) * per_page:
        return None
    stamps = (as_int(h.get("created_at_i")) for h in hits if isinstance(h, dict))
    oldest = min((s for s in stamps if s is not None), default=None)
    if oldest is None:
        return None
    # The window's 1,000 hits are used up: slice below the oldest hit. Its second is read
    # again (ids dedupe) unless that would make no progress.
    new_upper = oldest + 1 if upper is None or oldest + 1 < upper else oldest
    if upper is not None and new_upper >= upper:
        return None
    return {"page": 0, "upper": new_upper}


def _backfill_cursor(raw: str | None) -> dict[str, int]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k in ("page", "upper") if isinstance(v := data.get(k), int)}


def backfill_page(
    client: HttpClient, source: SourceConfig, window: BackfillWindow, cursor: str | None
) -> BackfillPage:
    """One page of hits created in ``window``, newest first (see the module docstring)."""
    params = source.params
    per_page = max(1, min(ALGOLIA_HIT_CAP, as_int(params.get("hits_per_page")) or 100))
    state = _backfill_cursor(cursor)
    upper = state.get("upper")
    if upper is None and window.until is not None:
        upper = int(window.until.timestamp())
    filters = [f"created_at_i>={int(window.since.timestamp())}"]
    if upper is not None:
        filters.append(f"created_at_i<{upper}")
    response = client.get(
        f"{_base(source)}/search_by_date",
        params={
            "query": str(params.get("query") or ""),
            "tags": str(params.get("tags") or "(story,comment)"),
            "hitsPerPage": per_page,
            "page": state.get("page", 0),
            "numericFilters": ",".join(filters),
        },
        source=source.name,
    )
    parsed = parse(response.body, url=response.url)
    read_at = {"page": state.get("page", 0), **({"upper": upper} if upper is not None else {})}
    nxt = backfill_next(response.json(), read_at, per_page=per_page)
    return BackfillPage(
        mentions=parsed.mentions,
        cursor=json.dumps(nxt, sort_keys=True) if nxt is not None else None,
        oldest=oldest_of(parsed.mentions),
        problems=parsed.problems,
        requests=1,
        bytes_received=len(response.body),
    )


def refresh(client: HttpClient, source: SourceConfig, items: list[RefreshItem]) -> list[RawMention]:
    """Current points and comment counts of known stories, 50 per request."""
    ids = [item.external_id for item in items if item.external_id.isdigit()]
    out: list[RawMention] = []
    for batch in _chunks(ids, REFRESH_BATCH):
        tag_filter = "story,(" + ",".join(f"story_{i}" for i in batch) + ")"
        response = client.get(
            f"{_base(source)}/search",
            params={"tags": tag_filter, "hitsPerPage": len(batch)},
            source=source.name,
        )
        wanted = set(batch)
        out.extend(m for m in parse(response.body).mentions if m.external_id in wanted)
    return out


def _chunks(values: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
