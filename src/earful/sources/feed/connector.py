"""Feed connector, kind ``rss``: RSS 0.9x/1.0/2.0, Atom and JSON Feed.

``parse(body, *, url=None)`` is pure (no network, no clock, no database):

1. JSON Feed is recognised by content (``"version": "https://jsonfeed.org/version/1[.1]"``)
   and read with :mod:`json` (:mod:`earful.sources.feed.json_feed`).
2. Anything else is transcoded to UTF-8 first (:mod:`earful.sources.feed.encoding`: gb2312,
   Latin-1 without a declaration, BOMs). Well-formed plain RSS 2.0 / Atom 1.0 is then read
   by :mod:`earful.sources.feed.fast` (ElementTree, ~20x cheaper, the same result as
   feedparser — tested); everything else by feedparser, whose loose parser recovers from
   what strict XML rejects (an unescaped ``&``, a mangled prolog). Such recoveries are
   reported in ``ParseResult.problems``.
3. Each item becomes a :class:`RawMention`; an item that fails is skipped with a problem note
   and the others are kept. Google News titles lose their `` - Publisher`` suffix (kept in
   ``extra["publisher"]``); Google Alerts redirect links are unwrapped.

A body that is not a feed at all — empty, an HTML page, truncated before its first complete
item — raises :class:`earful.errors.ParseError`.

``fetch(client, source, state)`` is a conditional GET of ``source.url`` followed by ``parse``.
"""

from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import feedparser

from earful.config.models import SourceConfig
from earful.errors import ConfigError, ParseError
from earful.mention import RawMention
from earful.sources.base import FetchResult, ParseResult, PollState
from earful.sources.feed.dates import resolve_date
from earful.sources.feed.encoding import transcode_to_utf8
from earful.sources.feed.fields import (
    MAX_TEXT_CHARS,
    absolute_url,
    cap_text,
    clean_title,
    first_absolute,
    is_absolute_http,
    normalize_language,
    stable_id,
    strip_publisher_suffix,
    to_plain_text,
)
from earful.sources.feed.json_feed import is_json_feed, parse_json_feed
from earful.sources.http import HttpClient

logger = logging.getLogger(__name__)

try:  # the fast reader leans on feedparser internals; should they move, feedparser reads all
    from earful.sources.feed import fast as _feed_fast
except ImportError:  # pragma: no cover - depends on the installed feedparser
    _feed_fast = None  # type: ignore[assignment]

SOURCE = "rss"
# A polled feed repeats its items (and their dates) on every poll.
_resolve_date = lru_cache(maxsize=4096)(resolve_date)
_CLOSED_ITEM = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>")
_CLOSED_ROOT = re.compile(rb"</(?:[\w.-]+:)?(?:rss|feed|RDF|channel)\s*>")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:\-]+)", re.IGNORECASE)
# Links that are not the item itself.
_SKIP_RELS = frozenset({"self", "enclosure", "replies", "edit", "license", "via", "hub"})


def parse(
    body: bytes, *, url: str | None = None, charset: str | None = None, fast: bool = True
) -> ParseResult:
    """Normalized mentions from a feed body.

    ``url`` is the address the body came from: relative links resolve against it (after any
    ``xml:base``). ``charset`` is the HTTP charset, a hint for bodies without a declaration.
    ``fast=False`` always uses feedparser (the fast reader gives the same result; tests
    compare the two). Raises ParseError when the body is not a feed.
    """
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        raise ParseError("empty body: expected an RSS, Atom or JSON feed", reason="empty")
    if stripped[:1] in (b"{", b"["):
        return _parse_json(stripped, url)
    return _parse_xml(body, url, charset, fast=fast)


def _parse_json(body: bytes, url: str | None) -> ParseResult:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise ParseError(f"body looks like JSON but does not parse: {exc}", reason="json") from exc
    if not is_json_feed(data):
        raise ParseError(
            "JSON document is not a JSON Feed (no https://jsonfeed.org/version/... version)",
            reason="not_a_feed",
        )
    return parse_json_feed(data, url=url)


@dataclass(slots=True)
class _Document:
    """The parts of a read feed that the rest of this module uses."""

    version: str
    feed: Any
    entries: list[Any]
    bozo: bool = False
    bozo_exception: Any = None


def _read_document(body: bytes, url: str | None, *, fast: bool = True) -> _Document:
    """The fast reader for plain RSS 2.0 / Atom 1.0 (same result, ~50x cheaper), else
    feedparser. ``body`` is UTF-8."""
    if fast and _feed_fast is not None:
        quick = _feed_fast.read_feed(body, url=url)
        if quick is not None:
            return _Document(quick.version, quick.feed, quick.entries)
    headers = {"content-type": "application/xml; charset=utf-8"}
    if url:
        headers["content-location"] = url
    # A file-like object: feedparser treats a bare str/bytes that names a URL or a local
    # file as something to open — a hostile body must never make it read /etc/passwd.
    try:
        parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    except Exception as exc:  # feedparser reports through bozo; anything else is its bug
        raise ParseError(f"feed parser failed: {type(exc).__name__}: {exc}") from exc
    return _Document(
        str(dict.get(parsed, "version") or ""),
        parsed.feed,
        list(parsed.entries),
        bool(parsed.bozo),
        dict.get(parsed, "bozo_exception"),
    )


def _parse_xml(
    body: bytes, url: str | None, charset: str | None, *, fast: bool = True
) -> ParseResult:
    transcoded = transcode_to_utf8(body, charset=charset)
    parsed = _read_document(transcoded.body, url, fast=fast)
    entries = parsed.entries
    problems = list(transcoded.notes)
    truncated = parsed.bozo and not _CLOSED_ROOT.search(transcoded.body[-2048:])
    if not parsed.version and not entries:
        raise ParseError(_not_a_feed_reason(transcoded.body), reason="not_a_feed")
    if truncated:
        complete = len(_CLOSED_ITEM.findall(transcoded.body))
        if complete == 0:
            raise ParseError(
                "feed body is truncated before its first complete item", reason="truncated"
            )
        if len(entries) > complete:
            problems.append(
                f"feed body is truncated: kept {complete} complete items, "
                f"skipped {len(entries) - complete} cut off"
            )
            entries = entries[:complete]
        else:
            problems.append("feed body is truncated after its last complete item")
    elif parsed.bozo:
        problem = parsed.bozo_exception
        problems.append(f"feed is not well-formed XML ({problem}); read leniently")
    feed: Any = parsed.feed
    base = first_absolute(url, _self_link(feed), dict.get(feed, "link"))
    context = _FeedContext(
        base=base,
        language=normalize_language(
            dict.get(feed, "language") or _detail_language(dict.get(feed, "title_detail"))
        ),
        title=clean_title(dict.get(feed, "title")),
        author=_author_name(feed) if parsed.version.startswith("atom") else None,
        google_news=_is_google_news(feed),
    )
    result = ParseResult(mentions=[], problems=problems)
    unresolved = 0
    for index, entry in enumerate(entries, start=1):
        try:
            mention, notes = _entry_to_mention(entry, context)
        except Exception as exc:  # one malformed item must not lose the others
            logger.debug("feed item %s skipped", index, exc_info=True)
            result.problems.append(f"item {index}: skipped: {type(exc).__name__}: {exc}")
            continue
        result.problems.extend(f"item {index}: {note}" for note in notes)
        if mention is None:
            result.problems.append(f"item {index}: skipped: no link, title or text")
            continue
        if mention.url is None and _raw_link(entry):
            unresolved += 1
        result.mentions.append(mention)
    if unresolved:
        result.problems.append(
            f"{unresolved} items have relative links and no feed URL to resolve them against "
            "(pass the feed's address as url); their url is null"
        )
    return result


@dataclass(frozen=True, slots=True)
class _FeedContext:
    """What items inherit from their feed."""

    base: str | None
    language: str | None
    title: str | None
    author: str | None
    google_news: bool


def _entry_to_mention(entry: Any, ctx: _FeedContext) -> tuple[RawMention | None, list[str]]:
    notes: list[str] = []
    raw_link = _raw_link(entry)
    raw_id = (dict.get(entry, "id") or "").strip() or None
    url = absolute_url(raw_link, ctx.base)
    if url is None and raw_id and is_absolute_http(raw_id):
        url = absolute_url(raw_id, None)  # a permalink guid
    title_detail = dict.get(entry, "title_detail") or {}
    title = clean_title(dict.get(entry, "title"), title_detail.get("type"))
    text = _entry_text(entry)
    extra: dict[str, Any] = {"feed_title": ctx.title}
    source = dict.get(entry, "source") or {}
    publisher = clean_title(source.get("title")) if isinstance(source, dict) else None
    if publisher and (ctx.google_news or _is_google_news_link(url)):
        title = strip_publisher_suffix(title, publisher)
        text = _strip_google_news_text(text, title, publisher)
        extra["publisher"] = publisher
        if is_absolute_http(source.get("href") or source.get("url")):
            extra["publisher_url"] = source.get("href") or source.get("url")
    if not (url or title or text):
        return None, notes
    published, date_note = _entry_date(entry)
    if date_note:
        notes.append(date_note)
    text, cut = cap_text(text)
    if cut:
        notes.append(f"text cut to {MAX_TEXT_CHARS} characters")
    external_id = raw_id or url or stable_id(title, _raw_date(entry), text[:500])
    mention = RawMention(
        source=SOURCE,
        external_id=external_id,
        url=url,
        title=title,
        text=text,
        author=_author_name(entry) or ctx.author,
        published_at=published,
        language=_entry_language(entry) or ctx.language,
        extra=extra,
    )
    return mention, notes


def _raw_link(entry: Any) -> str | None:
    link = dict.get(entry, "link")
    if link:
        return str(link)
    for candidate in dict.get(entry, "links") or []:
        if candidate.get("href") and candidate.get("rel", "alternate") not in _SKIP_RELS:
            return str(candidate["href"])
    return None


def _self_link(feed: Any) -> str | None:
    for candidate in dict.get(feed, "links") or []:
        if candidate.get("rel") == "self" and candidate.get("href"):
            return str(candidate["href"])
    return None


def _entry_text(entry: Any) -> str:
    """Plain text of the fullest body: content, else summary."""
    contents = [c for c in dict.get(entry, "content") or [] if c.get("value")]
    html_first = sorted(contents, key=lambda c: "html" not in str(c.get("type", "")))
    if html_first:
        chosen = html_first[0]
        return to_plain_text(chosen.get("value"), chosen.get("type"))
    summary = dict.get(entry, "summary")
    if summary:
        detail = dict.get(entry, "summary_detail") or {}
        return to_plain_text(summary, detail.get("type"))
    return ""


def _raw_date(entry: Any) -> str | None:
    return dict.get(entry, "published") or dict.get(entry, "updated")


def _entry_date(entry: Any) -> tuple[datetime | None, str | None]:
    """(published_at or None, a problem note when a date is present but unreadable)."""
    for key in ("published", "updated", "created"):
        raw = dict.get(entry, key)
        parsed = dict.get(entry, f"{key}_parsed")
        if not raw and parsed is None:
            continue
        when = _resolve_date(raw, parsed)
        if when is not None:
            return when, None
        return None, f"unparseable date {raw!r}; published_at left null"
    return None, None


def _author_name(holder: Any) -> str | None:
    detail = dict.get(holder, "author_detail") or {}
    name = (detail.get("name") or "").strip()
    if name:
        return str(name)
    author = (dict.get(holder, "author") or "").strip()
    return str(author) or None


def _detail_language(detail: Any) -> str | None:
    return detail.get("language") if isinstance(detail, dict) else None


def _entry_language(entry: Any) -> str | None:
    for candidate in (
        dict.get(entry, "language"),
        _detail_language(dict.get(entry, "title_detail")),
        _detail_language(dict.get(entry, "summary_detail")),
        *(_detail_language(c) for c in dict.get(entry, "content") or []),
    ):
        language = normalize_language(candidate)
        if language:
            return language
    return None


def _is_google_news_link(url: str | None) -> bool:
    return bool(url) and (urlsplit(url or "").hostname or "") == "news.google.com"


def _is_google_news(feed: Any) -> bool:
    return _is_google_news_link(dict.get(feed, "link")) or (
        str(dict.get(feed, "generator") or "").startswith("NFE/")
    )


def _strip_google_news_text(text: str, title: str | None, publisher: str) -> str:
    """The description repeats the headline and the publisher; keep just the headline."""
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if line.endswith(publisher):
            line = line[: -len(publisher)].rstrip(" -\u00a0")
        if line:
            lines.append(line)
    cleaned = "\n".join(lines)
    return cleaned or (title or "")


def _not_a_feed_reason(body: bytes) -> str:
    head = body[:2048].lower()
    if b"<html" in head or b"<!doctype html" in head:
        return "body is an HTML page, not a feed (is the URL the feed's address?)"
    return "body is not an RSS, Atom or JSON feed"


def fetch(client: HttpClient, source: SourceConfig, state: PollState) -> FetchResult:
    """Conditional GET of ``source.url``; a 304 returns ``not_modified`` with no body."""
    if not source.url:
        raise ConfigError(f"source {source.name!r}: kind rss needs a url", field="url")
    response = client.get(
        source.url, etag=state.etag, last_modified=state.last_modified, source=source.name
    )
    if response.not_modified:
        return FetchResult(
            not_modified=True,
            etag=response.etag or state.etag,
            last_modified=response.last_modified or state.last_modified,
            requests=1,
        )
    match = _CHARSET.search(response.headers.get("content-type", ""))
    try:
        parsed = parse(response.body, url=response.url, charset=match.group(1) if match else None)
    except ParseError as exc:
        raise ParseError(f"{source.name}: {exc}", source=source.name, reason=exc.reason) from exc
    if parsed.problems:
        logger.info(
            "%s: %s feed problems, e.g. %s", source.name, len(parsed.problems), parsed.problems[0]
        )
    return FetchResult(
        mentions=parsed.mentions,
        problems=parsed.problems,
        etag=response.etag,
        last_modified=response.last_modified,
        bytes_received=len(response.body),
        requests=1,
    )
