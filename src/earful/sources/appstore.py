"""Apple App Store customer reviews: the public iTunes RSS feed, JSON and XML (Atom) variants.

``https://itunes.apple.com/{cc}/rss/customerreviews/page={n}/id={app}/sortby=mostrecent/json``
(no key; one storefront per country; Apple serves pages 1–10 of 50 reviews, newest first).

Field mapping (nothing invented):

* ``id`` -> external_id; ``title`` -> title; ``content`` (``type="text"``) -> text;
  ``author.name`` -> author; ``im:rating`` ("1".."5") -> rating (already a 0–5 scale).
* ``im:voteSum`` -> ``engagement.likes``: Apple's count of "helpful" votes on the review.
  ``im:voteCount`` (all helpfulness votes, helpful or not) is kept as ``extra["vote_count"]``;
  shares, comments and views do not exist on App Store reviews and stay ``None``.
* ``updated`` -> published_at (UTC). The JSON variant often has no per-entry date: ``None``.
* language: the XML feed's ``xml:lang``; otherwise the storefront's language where the
  country has one dominant language (jp -> ja, de -> de, ...); ``None`` for multilingual
  storefronts (ca, ch, be, in, ...).
* url: reviews have no page of their own; the app's review page on apps.apple.com with the
  review id as a query parameter, so every review keeps a distinct absolute URL.
"""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from earful.config.models import SourceConfig
from earful.errors import ConfigError, ParseError
from earful.mention import Engagement, RawMention
from earful.sources.base import FetchResult, ParseResult, PollState
from earful.sources.http import HttpClient
from earful.sources.limits import as_int, param_list
from earful.sources.values import keep_parsed, parse_iso_utc

logger = logging.getLogger(__name__)

KIND = "appstore"
MAX_PAGES = 10
FEED_URL = (
    "https://itunes.apple.com/{cc}/rss/customerreviews/page={page}/id={app}/sortby=mostrecent/{fmt}"
)
_FEED_ID = re.compile(
    r"itunes\.apple\.com/([a-z]{2})/rss/customerreviews/(?:[^?]*?/)?id=(\d+)", re.I
)
_ATOM = "{http://www.w3.org/2005/Atom}"
_IM = "{http://itunes.apple.com/rss}"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Storefronts with one dominant review language. Multilingual ones are left out on purpose.
COUNTRY_LANGUAGE = {
    "us": "en", "gb": "en", "au": "en", "nz": "en", "ie": "en",
    "jp": "ja", "kr": "ko", "cn": "zh", "tw": "zh",
    "de": "de", "at": "de", "fr": "fr", "it": "it", "es": "es", "mx": "es", "ar": "es",
    "cl": "es", "co": "es", "pe": "es", "nl": "nl", "pt": "pt", "br": "pt", "ru": "ru",
    "se": "sv", "no": "no", "dk": "da", "fi": "fi", "pl": "pl", "tr": "tr", "gr": "el",
    "cz": "cs", "hu": "hu", "th": "th", "vn": "vi", "id": "id", "il": "he", "ua": "uk",
}  # fmt: skip


def parse(body: bytes, *, url: str | None = None) -> ParseResult:
    """Reviews from one feed page, JSON or XML (told apart by the first byte)."""
    head = body.lstrip()[:1]
    if head == b"{":
        return _parse_json(body, url)
    if head == b"<":
        return _parse_xml(body, url)
    raise ParseError(f"{url or 'appstore'}: neither JSON nor XML", reason="format")


def _storefront(*candidates: object) -> tuple[str | None, str | None]:
    for value in candidates:
        if isinstance(value, str) and value:  # a hostile href may be any JSON value
            m = _FEED_ID.search(value)
            if m:
                return m.group(1).lower(), m.group(2)
    return None, None


def _review_url(cc: str | None, app: str | None, review_id: str) -> str | None:
    if not app:
        return None
    return f"https://apps.apple.com/{cc or 'us'}/app/id{app}?see-all=reviews&reviewId={review_id}"


def _when(value: str | None) -> datetime | None:
    return parse_iso_utc(value.strip() if value else None)


def _rating(value: object) -> float | None:
    number = as_int(value)
    return float(number) if number is not None else None


def _review(
    *,
    review_id: str,
    title: str | None,
    text: str,
    author: str | None,
    rating: float | None,
    vote_sum: int | None,
    vote_count: int | None,
    updated: datetime | None,
    version: str | None,
    cc: str | None,
    app: str | None,
    language: str | None,
) -> RawMention:
    return RawMention(
        source=KIND,
        external_id=review_id,
        url=_review_url(cc, app, review_id),
        title=title or None,
        text=text.strip(),
        author=author or None,
        published_at=updated,
        language=language,
        rating=rating,
        engagement=Engagement(likes=vote_sum),
        extra={"vote_count": vote_count, "app_version": version, "country": cc, "app_id": app},
    )


def _label(node: Any) -> str | None:
    if isinstance(node, dict):
        value = node.get("label")
        return str(value) if value is not None else None
    return None


def _parse_json(body: bytes, url: str | None) -> ParseResult:
    try:
        feed = json.loads(body).get("feed") or {}
    except (ValueError, AttributeError, RecursionError) as exc:
        raise ParseError(f"{url or 'appstore'}: bad JSON: {exc}", reason="json") from exc
    if not isinstance(feed, dict):
        raise ParseError(f"{url or 'appstore'}: feed is not an object", reason="format")
    links = feed.get("link") or []
    self_links = [_href(link) for link in (links if isinstance(links, list) else [links])]
    cc, app = _storefront(url, _label(feed.get("id")), *self_links)
    language = COUNTRY_LANGUAGE.get(cc or "")
    entries = feed.get("entry") or []
    if isinstance(entries, dict):  # a page with one entry is an object, not a list
        entries = [entries]
    if not isinstance(entries, list):
        raise ParseError(f"{url or 'appstore'}: entry is not an array", reason="format")

    def review(entry: dict[str, Any]) -> RawMention | None:
        review_id = _label(entry.get("id"))
        if not review_id:
            return None
        return _review(
            review_id=review_id,
            title=_label(entry.get("title")),
            text=_label(entry.get("content")) or "",
            author=_label((entry.get("author") or {}).get("name")),
            rating=_rating(_label(entry.get("im:rating"))),
            vote_sum=as_int(_label(entry.get("im:voteSum"))),
            vote_count=as_int(_label(entry.get("im:voteCount"))),
            updated=_when(_label(entry.get("updated"))),
            version=_label(entry.get("im:version")),
            cc=cc,
            app=app,
            language=language,
        )

    result = ParseResult(mentions=[])
    for entry in entries:
        if isinstance(entry, dict) and "im:rating" not in entry:
            continue  # older feeds open with the app itself as the first entry
        keep_parsed(result, review, entry, "entry without id skipped")
    return result


def _href(link: object) -> object:
    attributes = link.get("attributes") if isinstance(link, dict) else None
    return attributes.get("href") if isinstance(attributes, dict) else None


def _parse_xml(body: bytes, url: str | None) -> ParseResult:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ParseError(f"{url or 'appstore'}: bad XML: {exc}", reason="xml") from exc
    feed_links = [link.get("href") for link in root.findall(f"{_ATOM}link")]
    cc, app = _storefront(url, root.findtext(f"{_ATOM}id"), *feed_links)
    language = root.get(_XML_LANG) or COUNTRY_LANGUAGE.get(cc or "")
    result = ParseResult(mentions=[])
    for entry in root.findall(f"{_ATOM}entry"):
        if entry.find(f"{_IM}rating") is None:
            continue
        review_id = (entry.findtext(f"{_ATOM}id") or "").strip()
        if not review_id:
            result.problems.append("entry without id skipped")
            continue
        text = ""
        for content in entry.findall(f"{_ATOM}content"):
            if content.get("type", "text") == "text":
                text = content.text or ""
                break
        result.mentions.append(
            _review(
                review_id=review_id,
                title=entry.findtext(f"{_ATOM}title"),
                text=text,
                author=entry.findtext(f"{_ATOM}author/{_ATOM}name"),
                rating=_rating(entry.findtext(f"{_IM}rating")),
                vote_sum=as_int(entry.findtext(f"{_IM}voteSum")),
                vote_count=as_int(entry.findtext(f"{_IM}voteCount")),
                updated=_when(entry.findtext(f"{_ATOM}updated")),
                version=entry.findtext(f"{_IM}version"),
                cc=cc,
                app=app,
                language=language,
            )
        )
    return result


def feed_url(cc: str, app_id: str, page: int, fmt: str = "json") -> str:
    return FEED_URL.format(cc=cc, page=page, app=app_id, fmt=fmt)


def fetch(client: HttpClient, source: SourceConfig, state: PollState) -> FetchResult:
    """Newest reviews of ``params.app_id`` in each of ``params.countries`` (default ``us``),
    ``params.pages`` pages per country (1–10, default 10), ``params.format`` json|xml.

    Paging stops at an empty page, at page 10, or at a page holding the newest review seen
    in the previous poll (the cursor keeps that id per country)."""
    p = source.params
    app_id = str(p.get("app_id") or "").strip()
    if not app_id.isdigit():
        raise ConfigError(
            "appstore needs params.app_id, the numeric id in the app's App Store URL",
            field=f"sources.{source.name}.params.app_id",
        )
    countries = [c.lower() for c in param_list(p, "countries")] or ["us"]
    pages = min(MAX_PAGES, max(1, as_int(p.get("pages")) or MAX_PAGES))
    fmt = str(p.get("format") or "json").lower()
    if fmt not in ("json", "xml"):
        raise ConfigError(
            "format must be json or xml", field=f"sources.{source.name}.params.format"
        )
    seen: dict[str, str] = json.loads(state.cursor) if state.cursor else {}
    result = FetchResult()
    newest: dict[str, str] = dict(seen)
    for cc in countries:
        for page in range(1, pages + 1):
            url = feed_url(cc, app_id, page, fmt)
            response = client.get(url, source=source.name)
            parsed = parse(response.body, url=url)
            result.problems.extend(parsed.problems)
            if not parsed.mentions:
                break
            if page == 1:
                newest[cc] = parsed.mentions[0].external_id
            ids = [m.external_id for m in parsed.mentions]
            stop_at = seen.get(cc)
            if stop_at in ids:
                result.mentions.extend(parsed.mentions[: ids.index(stop_at)])
                break
            result.mentions.extend(parsed.mentions)
    result.cursor = json.dumps(newest, sort_keys=True) if newest else state.cursor
    return result
