"""Yelp Fusion reviews (API key required).

``fetch`` calls ``GET https://api.yelp.com/v3/businesses/{id}/reviews`` for every configured
business with ``Authorization: Bearer <key>``. Yelp Fusion returns at most **three review
excerpts per business** (truncated text ending in "...", newest first by default) and offers no
paging beyond them: it tells you that a business is being reviewed, not what every review says;
link to the review for the full text. There is no cursor; the pipeline's dedupe drops repeats.

There is nothing to ``refresh``: reviews carry no engagement counts.

Params (``SourceConfig.params``):

==============  ===========================================================================
``api_key``     Fusion API key, e.g. ``${YELP_API_KEY}`` (required; ``key`` accepted too)
``businesses``  list of business ids or aliases (``[gary-danko-san-francisco]``)
``locale``      optional, e.g. ``en_US``; also sets the mentions' language
``sort_by``     optional, ``yelp_sort`` (default) or ``newest`` where the plan allows it
==============  ===========================================================================

Normalization: ``external_id`` = review ``id``; the early v3 format had none, so the ``hrid``
of the review URL stands in. ``url`` = the review URL without Yelp's tracking parameters
(``hrid`` kept); ``rating`` (1–5); ``author`` = ``user.name``; ``time_created`` is Pacific
local time without a zone ("2016-08-29 00:41:13") and is converted from America/Los_Angeles
to UTC (absent in the early format: ``published_at`` null); ``language`` from ``locale`` or
from ``possible_languages`` when it names exactly one.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from earful.config.models import SourceConfig
from earful.errors import ParseError, SourceAuthError, SourceError
from earful.mention import RawMention
from earful.sources.base import FetchResult, ParseResult, PollState
from earful.sources.http import HttpClient
from earful.sources.limits import param_list, resolve_secret
from earful.sources.values import keep_parsed, load_json
from earful.text import tidy_whitespace

logger = logging.getLogger(__name__)

KIND = "yelp"
DEFAULT_BASE = "https://api.yelp.com/v3"
PACIFIC = ZoneInfo("America/Los_Angeles")
_TRACKING = ("utm_", "adjust_creative")


def parse(body: bytes, *, url: str | None = None) -> ParseResult:
    """A ``/businesses/{id}/reviews`` response -> up to three review mentions."""
    data = load_json(body, KIND)
    if not isinstance(data, dict) or not isinstance(data.get("reviews"), list):
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            error = data["error"]
            raise ParseError(f"yelp: {error.get('code')}: {error.get('description')}", source=KIND)
        raise ParseError("yelp: no reviews[] in the response", source=KIND, reason="shape")
    language = _language(data, url)
    result = ParseResult(mentions=[])
    for review in data["reviews"]:
        keep_parsed(
            result,
            lambda r: _mention(r, language),
            review,
            "yelp: a review without id or url was skipped",
        )
    return result


def _language(data: dict[str, Any], url: str | None) -> str | None:
    if url:
        locale = dict(parse_qsl(urlsplit(url).query)).get("locale")
        if locale:
            return locale.split("_")[0].lower()
    possible = data.get("possible_languages")
    if isinstance(possible, list) and len(possible) == 1 and isinstance(possible[0], str):
        return possible[0]
    return None


def _clean_url(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.startswith(_TRACKING)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _mention(review: dict[str, Any], language: str | None) -> RawMention | None:
    raw_url = review.get("url")
    url = _clean_url(raw_url) if isinstance(raw_url, str) and raw_url else None
    ident = review.get("id")
    if not ident and url:
        ident = dict(parse_qsl(urlsplit(url).query)).get("hrid")
    if not ident:
        return None
    user = review.get("user") or {}
    rating = review.get("rating")
    extra: dict[str, Any] = {"excerpt": True}
    if user.get("id"):
        extra["user_id"] = user["id"]
    return RawMention(
        source=KIND,
        external_id=str(ident),
        url=url,
        text=tidy_whitespace(str(review.get("text") or "")),
        author=user.get("name") or None,
        published_at=pacific_to_utc(review.get("time_created")),
        language=language,
        rating=float(rating) if isinstance(rating, int | float) else None,
        extra=extra,
    )


def pacific_to_utc(raw: object) -> datetime | None:
    """Yelp's zone-less "YYYY-MM-DD HH:MM:SS" (Pacific local time) -> aware UTC."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        local = datetime.strptime(raw.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return local.replace(tzinfo=PACIFIC).astimezone(UTC)


def fetch(client: HttpClient, source: SourceConfig, state: PollState) -> FetchResult:
    """The (up to three) review excerpts of every configured business."""
    params = source.params
    key = resolve_secret(params.get("api_key") or params.get("key"))
    if not key:
        raise SourceAuthError(
            "yelp: params.api_key is not set (a Yelp Fusion API key, e.g. ${YELP_API_KEY})",
            source=source.name,
            reason="no_credentials",
        )
    businesses = param_list(params, "businesses")
    if not businesses:
        raise SourceError("yelp: params.businesses is empty", source=source.name, reason="config")
    base = (source.url or DEFAULT_BASE).rstrip("/")
    query: dict[str, Any] = {}
    for name in ("locale", "sort_by"):
        if params.get(name):
            query[name] = str(params[name])
    result = FetchResult(cursor=state.cursor)
    for business in businesses:
        endpoint = f"{base}/businesses/{quote(business, safe='')}/reviews"
        response = client.get(
            endpoint,
            params=query or None,
            headers={"Authorization": f"Bearer {key}", "Accept": "application/json"},
            source=source.name,
        )
        result.requests += 1
        result.bytes_received += len(response.body)
        parsed = parse(response.body, url=response.url)
        for mention in parsed.mentions:
            mention.extra["business"] = business
        result.mentions.extend(parsed.mentions)
        result.problems.extend(parsed.problems)
    return result
