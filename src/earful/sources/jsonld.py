"""Review pages carrying schema.org ``Review`` / ``AggregateRating`` JSON-LD.

Any page with ``<script type="application/ld+json">`` works: a single object, a top-level
array, a ``@graph``, reviews nested in their item (``Recipe.review``, ``Product.reviews``) or
standing alone. Per review:

* text: ``reviewBody``, else ``description`` (HTML entities decoded, tags stripped);
* author: a string or a ``Person``/``Organization`` (``name``), trimmed;
* published_at: ``datePublished`` (else ``dateCreated``) in ISO 8601 or human formats such
  as "October 24, 2011"; a date without a time is midnight UTC, a time without an offset UTC;
* rating: ``reviewRating.ratingValue`` (string or number) on a 0–5 scale: scaled by 5 /
  ``bestRating`` when the page gives ``bestRating`` (schema.org's default is 5); the raw values
  stay in ``extra``;
* title: the review's ``name``, else the name of the item reviewed;
* url: the page URL (``parse(..., url=...)``; without it, the page's own ``url``/``@id``);
* external_id: the review's ``@id`` when it has one, else the page URL plus a short hash of
  author, date and text — stable when the site reorders or adds reviews, unlike a list index.

Exact duplicates inside one page (some sites print each review twice) are kept once and noted
in ``problems``. Pages with only an ``AggregateRating`` yield no mention and no problem;
:func:`parse_aggregate` reads their (ratingValue, count).

``fetch`` obeys robots.txt: it reads ``/robots.txt`` once per host with the same client,
caches it, and refuses a disallowed page with ``SourceError(reason="robots")``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
import urllib.robotparser
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from earful.config.models import SourceConfig
from earful.errors import ConfigError, SourceAuthError, SourceError, SourceGoneError
from earful.mention import RawMention
from earful.sources.base import FetchResult, ParseResult, PollState
from earful.sources.http import HttpClient
from earful.sources.limits import as_int, param_list
from earful.sources.values import parse_iso_utc
from earful.text import html_to_text

logger = logging.getLogger(__name__)

KIND = "jsonld"
ROBOTS_TTL_S = 24 * 3600.0
_SCRIPT = re.compile(
    r"<script\b[^>]*\btype\s*=\s*[\"']?application/ld\+json[\"']?[^>]*>(.*?)</script\s*>",
    re.I | re.S,
)
_REVIEW_TYPES = frozenset({"Review", "UserReview", "CriticReview", "EmployerReview"})
_HUMAN_DATES = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%m/%d/%Y", "%d.%m.%Y")


# --------------------------------------------------------------------------- parsing


def extract_blocks(body: bytes) -> tuple[list[Any], list[str]]:
    """Every JSON-LD block of an HTML page (or a bare JSON-LD document), and problems."""
    text = body.decode("utf-8", errors="replace")
    raw_blocks = _SCRIPT.findall(text)
    if not raw_blocks and text.lstrip()[:1] in ("{", "["):
        raw_blocks = [text]
    blocks: list[Any] = []
    problems: list[str] = []
    for i, raw in enumerate(raw_blocks):
        raw = raw.strip()
        if raw.startswith("<!--"):  # old pages hide the JSON in an HTML comment
            raw = raw.removeprefix("<!--").removesuffix("-->").strip()
        if not raw:
            continue
        try:
            blocks.append(json.loads(raw, strict=False))  # strict=False: raw newlines in strings
        except ValueError as exc:
            problems.append(f"JSON-LD block {i + 1} is not valid JSON: {exc}")
    return blocks, problems


def _types(node: dict[str, Any]) -> set[str]:
    value = node.get("@type")
    values = value if isinstance(value, list) else [value]
    return {str(v).rsplit("/", 1)[-1] for v in values if v}


def _walk(node: Any, parent: dict[str, Any] | None = None) -> Iterator[tuple[dict[str, Any], Any]]:
    """(dict, nearest enclosing dict) for every object in the tree."""
    if isinstance(node, dict):
        yield node, parent
        for value in node.values():
            yield from _walk(value, node)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value, parent)


def _is_review(node: dict[str, Any], parent: dict[str, Any] | None) -> bool:
    if _types(node) & _REVIEW_TYPES:
        return True
    # untyped entries of a review list still count when they look like reviews
    if parent is not None and "@type" not in node:
        listed = parent.get("review"), parent.get("reviews")
        in_list = any(isinstance(v, list) and any(x is node for x in v) for v in listed)
        return in_list and bool(node.get("reviewBody") or node.get("reviewRating"))
    return False


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", "."))
        except ValueError:
            return None
    return None


def parse_date(value: object) -> datetime | None:
    """ISO 8601 (with or without time/offset) or a common human format -> UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    found = parse_iso_utc(text)
    if found is not None:
        return found
    for fmt in _HUMAN_DATES:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _name(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        return _name(value.get("name"))
    if isinstance(value, list):
        names = [n for n in (_name(v) for v in value) if n]
        return ", ".join(names) or None
    return None


def _top_nodes(blocks: list[Any]) -> Iterator[dict[str, Any]]:
    """The page's main objects: each block, array members and @graph members (not nested
    ones such as a publisher, whose ``url`` is the site's, not the page's)."""
    for block in blocks:
        members = block if isinstance(block, list) else [block]
        for node in members:
            if isinstance(node, dict):
                graph = node.get("@graph")
                if isinstance(graph, list):
                    yield from (g for g in graph if isinstance(g, dict))
                else:
                    yield node


def _page_url(blocks: list[Any]) -> str | None:
    """The page's own address as the JSON-LD states it (used when the caller gives none)."""
    candidates: list[str] = []
    for node in _top_nodes(blocks):
        if "WebPage" in _types(node) and isinstance(node.get("@id"), str):
            candidates.insert(0, node["@id"])
        for key in ("url", "mainEntityOfPage", "@id"):
            value = node.get(key)
            if isinstance(value, dict):
                value = value.get("@id")
            if isinstance(value, str) and value.startswith("http"):
                candidates.append(value.split("#", 1)[0])
    return candidates[0] if candidates else None


def _language(blocks: list[Any]) -> str | None:
    for block in blocks:
        for node, _ in _walk(block):
            lang = node.get("inLanguage")
            if isinstance(lang, str) and lang:
                return lang
    return None


def parse(body: bytes, *, url: str | None = None) -> ParseResult:
    """One mention per schema.org Review on the page (see module docstring)."""
    blocks, problems = extract_blocks(body)
    result = ParseResult(mentions=[], problems=problems)
    page = url or _page_url(blocks)
    page_language = _language(blocks)
    seen: set[tuple[str | None, str | None, str]] = set()
    for block in blocks:
        for node, parent in _walk(block):
            if not _is_review(node, parent):
                continue
            mention = _review(node, parent, page, page_language)
            if mention is None:
                result.problems.append("review without text or rating skipped")
                continue
            key = (mention.author, mention.extra.get("date_raw"), mention.text)
            if key in seen:
                result.problems.append(f"duplicate review by {mention.author!r} skipped")
                continue
            seen.add(key)
            result.mentions.append(mention)
    return result


def _review(
    node: dict[str, Any], parent: dict[str, Any] | None, page: str | None, page_lang: str | None
) -> RawMention | None:
    text = html_to_text(_text(node.get("reviewBody")) or _text(node.get("description")))
    rating_node = node.get("reviewRating")
    rating_node = rating_node if isinstance(rating_node, dict) else {}
    raw = _number(rating_node.get("ratingValue"))
    best = _number(rating_node.get("bestRating"))
    worst = _number(rating_node.get("worstRating"))
    if not text and raw is None:
        return None
    rating = None if raw is None else (raw * 5.0 / best if best else raw)
    author = _name(node.get("author"))
    date_raw = node.get("datePublished") or node.get("dateCreated")
    item = node.get("itemReviewed")
    item_name = _name(item) if isinstance(item, dict) else None
    if item_name is None and parent is not None and not (_types(parent) & _REVIEW_TYPES):
        item_name = _name(parent.get("name"))
    review_id = node.get("@id") if isinstance(node.get("@id"), str) else None
    if review_id and page and not review_id.startswith("http"):
        review_id = urljoin(page, review_id)
    if not review_id:
        digest = hashlib.sha1(f"{author}\x1f{date_raw}\x1f{text}".encode()).hexdigest()[:16]
        review_id = f"{page}#review-{digest}" if page else f"review-{digest}"
    language = node.get("inLanguage") if isinstance(node.get("inLanguage"), str) else None
    return RawMention(
        source=KIND,
        external_id=review_id,
        url=page,
        title=_name(node.get("name")) or item_name,
        text=text,
        author=author,
        published_at=parse_date(date_raw),
        language=language or page_lang,
        rating=round(rating, 3) if rating is not None else None,
        extra={
            "rating_raw": raw,
            "best_rating": best,
            "worst_rating": worst,
            "date_raw": date_raw,
            "item": item_name,
        },
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def parse_aggregate(body: bytes) -> tuple[float | None, int | None] | None:
    """(ratingValue, count) of the page's first AggregateRating; count is ``ratingCount``
    (what the average is over), else ``reviewCount``. ``None`` when the page has none."""
    blocks, _ = extract_blocks(body)
    for block in blocks:
        for node, _ in _walk(block):
            if "AggregateRating" in _types(node):
                count = as_int(node.get("ratingCount"))
                if count is None:
                    count = as_int(node.get("reviewCount"))
                return _number(node.get("ratingValue")), count
    return None


# --------------------------------------------------------------------------- robots + fetch


class RobotsCache:
    """robots.txt per scheme+host, read once with the connector's own client and kept
    for ``ttl_s``. 404 (or any 4xx but 401/403) means everything is allowed; 401/403 means
    nothing is (the robots standard); transient errors propagate so the poll is retried."""

    def __init__(self, ttl_s: float = ROBOTS_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._parsers: dict[str, tuple[float, urllib.robotparser.RobotFileParser]] = {}

    def clear(self) -> None:
        with self._lock:
            self._parsers.clear()

    def parser_for(
        self, client: HttpClient, url: str, source: str = ""
    ) -> urllib.robotparser.RobotFileParser:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        now = time.monotonic()
        with self._lock:
            cached = self._parsers.get(origin)
        if cached and now - cached[0] < self.ttl_s:
            return cached[1]
        robots = urllib.robotparser.RobotFileParser(f"{origin}/robots.txt")
        try:
            response = client.get(f"{origin}/robots.txt", source=source)
            robots.parse(response.body.decode("utf-8", errors="replace").splitlines())
        except SourceAuthError:
            robots.parse(["User-agent: *", "Disallow: /"])
        except SourceGoneError:
            robots.parse([])
        except SourceError as exc:
            if not exc.reason.startswith("http_4"):
                raise
            robots.parse([])
        with self._lock:
            self._parsers[origin] = (now, robots)
        return robots

    def allowed(self, client: HttpClient, url: str, source: str = "") -> bool:
        agent = str(client.client.headers.get("user-agent", "*"))
        token = agent.split("/", 1)[0] or "*"
        return self.parser_for(client, url, source).can_fetch(token, url)


robots_cache = RobotsCache()


def fetch(client: HttpClient, source: SourceConfig, state: PollState) -> FetchResult:
    """Reviews from each page in ``params.urls`` (or ``url``), robots.txt permitting."""
    urls = param_list(source.params, "urls") or ([source.url] if source.url else [])
    if not urls:
        raise ConfigError(
            "jsonld needs url (or params.urls): review pages carrying schema.org JSON-LD",
            field=f"sources.{source.name}.url",
        )
    result = FetchResult()
    for page in urls:
        if not robots_cache.allowed(client, page, source.name):
            raise SourceError(
                f"{source.name}: robots.txt of {urlsplit(page).netloc} disallows {page} for "
                "Earful's user agent; remove the page from the config or ask the site owner",
                source=source.name,
                reason="robots",
            )
        response = client.get(page, source=source.name)
        parsed = parse(response.body, url=response.url)
        result.mentions.extend(parsed.mentions)
        result.problems.extend(f"{page}: {p}" for p in parsed.problems)
    return result
