"""JSON Feed 1 and 1.1 (https://jsonfeed.org/version/1.1) -> normalized mentions.

Read by hand with :mod:`json`: the format is small, and feedparser does not read it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from earful.clock import parse_iso
from earful.errors import ParseError
from earful.mention import RawMention
from earful.sources.base import ParseResult
from earful.sources.feed.dates import parse_localized_date
from earful.sources.feed.fields import (
    MAX_TEXT_CHARS,
    absolute_url,
    cap_text,
    clean_title,
    first_absolute,
    normalize_language,
    stable_id,
    to_plain_text,
)

logger = logging.getLogger(__name__)

SOURCE = "rss"
VERSION_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")


def is_json_feed(data: object) -> bool:
    version = data.get("version") if isinstance(data, dict) else None
    return isinstance(version, str) and version.startswith(VERSION_PREFIXES)


def _str(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _date(value: object) -> datetime | None:
    text = _str(value)
    if text is None:
        return None
    try:
        return parse_iso(text)
    except ValueError:
        return parse_localized_date(text)


def _author(item: dict[str, Any], feed: dict[str, Any]) -> str | None:
    for holder in (item, feed):
        authors = holder.get("authors")
        candidates = authors if isinstance(authors, list) else []
        if isinstance(holder.get("author"), dict):
            candidates = [*candidates, holder["author"]]
        for author in candidates:
            if isinstance(author, dict) and _str(author.get("name")):
                return _str(author.get("name"))
    return None


def _item(item: dict[str, Any], feed: dict[str, Any], base: str | None) -> RawMention | None:
    url = absolute_url(_str(item.get("url")), base) or absolute_url(
        _str(item.get("external_url")), base
    )
    title = clean_title(_str(item.get("title")))
    if _str(item.get("content_html")):
        text = to_plain_text(_str(item.get("content_html")), "text/html")
    else:
        text = to_plain_text(
            _str(item.get("content_text")) or _str(item.get("summary")), "text/plain"
        )
    if not (url or title or text):
        return None
    published = _date(item.get("date_published")) or _date(item.get("date_modified"))
    external_id = _str(item.get("id")) or url or stable_id(title, _str(item.get("date_published")))
    text, _ = cap_text(text)
    return RawMention(
        source=SOURCE,
        external_id=external_id,
        url=url,
        title=title,
        text=text,
        author=_author(item, feed),
        published_at=published,
        language=normalize_language(_str(item.get("language")) or _str(feed.get("language"))),
        extra={"feed_title": _str(feed.get("title"))},
    )


def parse_json_feed(data: dict[str, Any], *, url: str | None = None) -> ParseResult:
    """Items of a decoded JSON Feed document; bad items are skipped with a problem note."""
    items = data.get("items")
    if not isinstance(items, list):
        raise ParseError("JSON Feed has no 'items' list", reason="not_a_feed")
    base = first_absolute(url, _str(data.get("feed_url")), _str(data.get("home_page_url")))
    result = ParseResult(mentions=[])
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            result.problems.append(f"item {index}: skipped: not a JSON object")
            continue
        try:
            mention = _item(item, data, base)
        except (TypeError, ValueError, AttributeError) as exc:
            result.problems.append(f"item {index}: skipped: {exc}")
            continue
        if mention is None:
            result.problems.append(f"item {index}: skipped: no url, title or text")
            continue
        if mention.url is None and _str(item.get("url")):
            result.problems.append(
                f"item {index}: link {_str(item.get('url'))!r} is not absolute and there is "
                "no feed URL to resolve it against"
            )
        if len(mention.text) >= MAX_TEXT_CHARS:
            result.problems.append(f"item {index}: text cut to {MAX_TEXT_CHARS} characters")
        result.mentions.append(mention)
    return result
