"""A fast reader for the common feed: well-formed RSS 2.0 and Atom 1.0, read with ElementTree.

feedparser costs about 2 ms per item (SAX callbacks in Python, an sgmllib HTML sanitizer run
on every text field). This module reads the same documents with C expat via
:mod:`xml.etree.ElementTree` and builds the very dictionaries feedparser would build — the
keys :mod:`earful.sources.feed` reads (``link``/``links``, ``id``, ``title``/``title_detail``,
``summary``/``summary_detail``, ``content``, ``source``, dates and their ``*_parsed``,
``author``/``author_detail``, ``language``; for the feed ``title``, ``link``, ``links``,
``language``, ``generator``, ``author``) — so everything after parsing is shared.

Contract: :func:`read_feed` returns a :class:`FastFeed` only when it is sure the result equals
feedparser's for the fields above; for anything else it returns ``None`` and the caller uses
feedparser. Refused (with a debug log of the reason): bodies that are not well-formed XML, a
DOCTYPE or an ENTITY declaration (never expanded, for safety), RSS 1.0/RDF, RSS with a
namespace, Atom 0.3, ``xml:base`` or ``base``, ``xml:lang`` below the root, elements or
namespaces not in the tables below (they may map onto feedparser keys), markup inside text
elements, Atom ``xhtml`` or non-text content types, repeated single-valued elements.

To stay exact it uses feedparser's own pure helpers (URI joining, date parsing, the
"looks like HTML" guess, the cp1252 map, the HTML sanitizer) — they are the reference.
The costly sanitizer is skipped only for HTML whose plain text it provably cannot change
(:func:`is_text_stable_html`); a feed's own title, used verbatim, is always sanitized.
``tests/unit/sources/test_feed_fast.py`` checks the equivalence on every real fixture and on
generated variations.
"""

from __future__ import annotations

import html.entities
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.sanitizer import _HTMLSanitizer, _sanitize_html
from feedparser.urls import _urljoin, make_safe_absolute_uri, resolve_relative_uris

logger = logging.getLogger(__name__)

ATOM = "{http://www.w3.org/2005/Atom}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_HTML_TYPES = frozenset({"application/xhtml+xml", "text/html"})
# Elements whose markup feedparser resolves and sanitizes (its can_contain_* sets agree).
_SANITIZED = frozenset(_FeedParserMixin.can_contain_dangerous_markup)
_UNSAFE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_AMP_REF = re.compile("&([A-Za-z0-9_]+);")
_EMAIL = re.compile(
    r"""(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"""
)
_RSS_VERSIONS = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}

# Elements read for their text and otherwise ignored: feedparser stores them under keys
# nothing downstream reads (``comments``, ``wfw_commentrss``, ``tags``...).
_RSS_ITEM_IGNORED = frozenset(
    {
        "category",
        "comments",
        "{http://wellformedweb.org/CommentAPI/}commentRss",
        "{http://purl.org/rss/1.0/modules/slash/}comments",
        "{http://rssnamespace.org/feedburner/ext/1.0}origLink",
        _DC + "subject",
    }
)
_RSS_CHANNEL_IGNORED = frozenset(
    {
        "copyright",
        "lastBuildDate",
        "pubDate",
        "docs",
        "ttl",
        "category",
        "cloud",
        "{http://purl.org/rss/1.0/modules/syndication/}updatePeriod",
        "{http://purl.org/rss/1.0/modules/syndication/}updateFrequency",
        "{http://purl.org/rss/1.0/modules/syndication/}updateBase",
    }
)
_IMAGE_CHILDREN = frozenset({"url", "title", "link", "width", "height", "description"})
_ATOM_FEED_IGNORED = frozenset(
    {ATOM + "subtitle", ATOM + "updated", ATOM + "icon", ATOM + "logo", ATOM + "rights"}
)
_ATOM_ENTRY_IGNORED = frozenset({ATOM + "rights"})

# HTML whose text the sanitizer cannot change: these tags (all kept by it), simple quoted
# attributes, entities it passes through unchanged, no comments, declarations or CDATA.
_STABLE_TAG_NAMES = (
    "a abbr b big blockquote br cite code dd del dfn div dl dt em figcaption figure font "
    "h1 h2 h3 h4 h5 h6 hr i img ins kbd li ol p pre q s samp small span strike strong sub "
    "sup table tbody td tfoot th thead tr tt u ul var"
)
_STABLE_TAGS = frozenset(_STABLE_TAG_NAMES.split()) & frozenset(_HTMLSanitizer.acceptable_elements)
_VOID_TAGS = frozenset({"br", "hr", "img"})
_HTML_TOKEN = re.compile(
    r"""<(/?)([A-Za-z][A-Za-z0-9]*)((?:\s+[A-Za-z][-A-Za-z0-9_]*\s*=\s*(?:"[^"<>]*"|'[^'<>]*'))*)\s*(/?)>"""
    r"""|&(#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]*);"""
    r"""|[^<&]+"""
)


# An absolute http(s) URL that feedparser's ``_urljoin`` returns unchanged whatever the base
# (lowercase scheme, a plain host, no empty query, no fragment, no ``;params``).
_PLAIN_URL = re.compile(
    r"https?://[A-Za-z0-9.\-]+(?::[0-9]+)?(?:/[A-Za-z0-9._~%!$&'()*+,=:@/\-]*)?"
    r"(?:\?[A-Za-z0-9._~%!$&'()*+,;=:@/?\-]+)?\Z"
)


def join_url(base: str, uri: str) -> str:
    """feedparser's ``_urljoin(base, uri)``, without its cost for the usual absolute link."""
    return uri if _PLAIN_URL.match(uri) else str(_urljoin(base, uri))


def _looks_like_html(value: str) -> bool:
    # feedparser's guess needs a close tag or an entity: neither is possible without < or &.
    if "<" not in value and "&" not in value:
        return False
    return bool(_FeedParserMixin.looks_like_html(value))


_TYPE_ALIASES = {
    "text": "text/plain",
    "plain": "text/plain",
    "html": "text/html",
    "xhtml": "application/xhtml+xml",
}
# C1 controls, which feedparser maps to the cp1252 characters they usually stand for.
_C1 = re.compile("[\x80-\x9f]")
_BEYOND_LATIN1 = re.compile("[^\x00-\xff]")


class _Refused(Exception):
    """The body is not one this reader is sure about."""


@dataclass(slots=True)
class FastFeed:
    """What :mod:`earful.sources.feed` reads from ``feedparser.parse``'s result."""

    version: str
    feed: dict[str, Any]
    entries: list[dict[str, Any]] = field(default_factory=list)


def read_feed(body: bytes, *, url: str | None) -> FastFeed | None:
    """The feed as feedparser would read it, or None when the fast path is not sure.

    ``body`` is UTF-8 (after :func:`earful.sources.feed_encoding.transcode_to_utf8`);
    ``url`` is the feed's address, the base for relative links.
    """
    if _UNSAFE.search(body):
        logger.debug("fast feed reader refused: DOCTYPE or ENTITY")
        return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        logger.debug("fast feed reader refused: %s", exc)
        return None
    try:
        return _Reader(url).read(root)
    except _Refused as exc:
        logger.debug("fast feed reader refused: %s", exc)
        return None


def is_text_stable_html(markup: str) -> bool:
    """True when feedparser's URI resolver and sanitizer keep the plain text of ``markup``
    (what :func:`earful.text.html_to_text` extracts) exactly as it is."""
    pos = 0
    for match in _HTML_TOKEN.finditer(markup):
        if match.start() != pos:
            return False
        pos = match.end()
        closing, name, attrs, self_closing = match.group(1, 2, 3, 4)
        if name is not None:
            tag = name.lower()
            if tag not in _STABLE_TAGS:
                return False
            if tag in _VOID_TAGS:
                if closing or (self_closing and attrs):
                    return False
            elif self_closing or (closing and attrs):
                return False
            continue
        ref = match.group(5)
        if ref is None:
            continue
        if ref[0] == "#":
            code = int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:])
            if code in _cp1252 or not 0 < code < 0x110000:
                return False
        elif ref not in html.entities.name2codepoint and ref != "apos":
            return False
    return pos == len(markup)


def _undo_latin1(output: str) -> str:
    """feedparser's repair of UTF-8 that was read as Latin-1 (applied to every value)."""
    if output.isascii() or _BEYOND_LATIN1.search(output):
        return output  # nothing to repair, or not encodable as Latin-1: unchanged
    try:
        return output.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return output


def _fix_encoding(output: str) -> str:
    """feedparser's last steps for every text value: the Latin-1 repair, then C1 controls
    mapped to their cp1252 characters."""
    output = _undo_latin1(output)
    return output.translate(_cp1252) if _C1.search(output) else output


def _map_content_type(value: str) -> str:
    value = value.lower()
    return _TYPE_ALIASES.get(value, value)


def _attrs(element: ET.Element, root: bool = False) -> dict[str, str]:
    """Attributes as feedparser's strict parser normalizes them (names lowercased,
    ``rel``/``type`` values lowercased); refuses those that change parsing."""
    if not element.attrib:
        return {}
    found: dict[str, str] = {}
    for key, value in element.attrib.items():
        if key == _XML_LANG and root:
            continue
        if key.startswith("{") or key.lower() in ("base", "lang"):
            raise _Refused(f"attribute {key} on {element.tag}")
        name = key.lower()
        found[name] = value.lower() if name in ("rel", "type") else value
    return found


def _text(element: ET.Element) -> str:
    if len(element):
        raise _Refused(f"markup inside {element.tag}")
    return element.text or ""


def _enforce_href(attrs: dict[str, str]) -> dict[str, str]:
    href = attrs.get("url", attrs.get("uri", attrs.get("href")))
    if href:
        attrs.pop("url", None)
        attrs.pop("uri", None)
        attrs["href"] = href
    return attrs


def _sync_author_detail(context: dict[str, Any]) -> None:
    """feedparser's ``_sync_author_detail`` (author string <-> name and email)."""
    detail = context.get("authors", [{}])[-1]
    if detail:
        name, email = detail.get("name"), detail.get("email")
        if name and email:
            context["author"] = f"{name} ({email})"
        elif name:
            context["author"] = name
        elif email:
            context["author"] = email
        return
    author, email = context.get("author"), None
    if not author:
        return
    match = _EMAIL.search(author)
    if match:
        email = match.group(0)
        author = author.replace(email, "").replace("()", "").replace("<>", "")
        author = author.replace("&lt;&gt;", "").strip()
        if author and author[0] == "(":
            author = author[1:]
        if author and author[-1] == ")":
            author = author[:-1]
        author = author.strip()
    if author or email:
        context.setdefault("author_detail", detail)
    if author:
        detail["name"] = author
    if email:
        detail["email"] = email


class _Reader:
    """One document; mirrors the state feedparser keeps while reading it."""

    def __init__(self, url: str | None) -> None:
        self.base = url or ""
        self.atom = False
        self.lang: str | None = None
        self.title_depth = -1
        self.seen: set[str] = set()

    def read(self, root: ET.Element) -> FastFeed:
        if self.base:
            self.base = make_safe_absolute_uri(self.base, self.base) or self.base
            if (make_safe_absolute_uri(self.base, self.base) or self.base) != self.base:
                raise _Refused("feed URL does not settle as a base")
        else:
            self.base = _urljoin("", "")
        feed: dict[str, Any] = {}
        lang = root.attrib.get(_XML_LANG)
        self.lang = lang or None
        if self.lang:
            feed["language"] = self.lang.replace("_", "-")
        if root.tag == "rss":
            attrs = _attrs(root, root=True)
            version = attrs.get("version", "")
            mapped = _RSS_VERSIONS.get(version) or ("rss20" if version.startswith("2.") else "rss")
            channels = list(root)
            if len(channels) != 1 or channels[0].tag != "channel" or channels[0].attrib:
                raise _Refused("rss root must hold exactly one plain channel")
            fast = FastFeed(mapped, feed)
            self._channel(channels[0], fast)
            return fast
        if root.tag == ATOM + "feed":
            _attrs(root, root=True)
            self.atom = True
            fast = FastFeed("atom10", feed)
            self._atom_feed(root, fast)
            return fast
        raise _Refused(f"root element {root.tag}")

    # -- values ---------------------------------------------------------------------------

    def _value(self, element: str, raw: str, ctype: str | None = None) -> tuple[str, str]:
        """feedparser's ``pop`` for a text element: (value, its final content type)."""
        output = raw.strip()
        if element in ("link", "href", "id") and output:
            output = join_url(self.base, output)
        if not self.atom and ctype == "text/plain" and _looks_like_html(output):
            ctype = "text/html"
        if element in _SANITIZED and _map_content_type(ctype or "text/html") in _HTML_TYPES:
            if (
                (element == "title" and not self.in_entry)
                or _undo_latin1(output) != output
                or not is_text_stable_html(output)
            ):
                output = resolve_relative_uris(output, self.base, "utf-8", ctype or "text/html")
                output = _sanitize_html(output, "utf-8", ctype or "text/html")
                return _fix_encoding(output), ctype or "text/html"
            return (
                output.translate(_cp1252) if _C1.search(output) else output
            ), ctype or "text/html"
        return _fix_encoding(output), ctype or ""

    def _detail(self, ctype: str, value: str) -> dict[str, Any]:
        lang = self.lang.replace("_", "-") if self.lang else None
        return {"type": ctype, "language": lang, "base": self.base, "value": value}

    def _content_type(self, attrs: dict[str, str], default: str) -> str:
        ctype = _map_content_type(attrs.get("type", default))
        if ctype not in ("text/plain", "text/html") or "mode" in attrs or "src" in attrs:
            raise _Refused(f"content type {ctype}")
        return ctype

    def _once(self, key: str) -> None:
        if key in self.seen:
            raise _Refused(f"repeated {key}")
        self.seen.add(key)

    # -- shared elements ------------------------------------------------------------------

    in_entry = False

    def _title(self, el: ET.Element, context: dict[str, Any], depth: int) -> None:
        self._once("title")
        ctype = self._content_type(_attrs(el), "text/plain")
        value, ctype = self._value("title", _text(el), ctype)
        if not -1 < self.title_depth <= depth:
            context["title"] = value
            context["title_detail"] = self._detail(ctype, value)
        if value:
            self.title_depth = depth

    def _link(self, el: ET.Element, context: dict[str, Any]) -> None:
        attrs = _attrs(el)
        attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
        attrs = _enforce_href(attrs)
        if "href" in attrs:
            attrs["href"] = join_url(self.base, attrs["href"])
        context.setdefault("links", []).append(attrs)
        if "href" in attrs:
            if attrs.get("rel") == "alternate" and _map_content_type(attrs["type"]) in _HTML_TYPES:
                context["link"] = attrs["href"]
            return
        value, _ = self._value("link", _text(el))
        if self.in_entry:
            value = _AMP_REF.sub(r"&\g<1>", value.replace("&amp;", "&"))
            context["link"] = value
            if value:
                attrs["href"] = value
        else:
            value = _AMP_REF.sub(r"&\g<1>", value)
            context["link"] = value
            attrs["href"] = value

    def _guid(self, el: ET.Element, context: dict[str, Any]) -> None:
        self._once("id")
        attrs = _attrs(el)
        is_link = attrs.get("ispermalink", "true") == "true"
        output = _text(el).strip()
        if output and is_link:
            output = join_url(self.base, output)
        value = _fix_encoding(output)
        context["id"] = value
        context.setdefault("guidislink", is_link and "link" not in context)
        if is_link:
            context.setdefault("link", value)

    def _date(self, el: ET.Element, context: dict[str, Any], key: str) -> None:
        self._once(key)
        if _attrs(el):
            raise _Refused(f"attributes on {el.tag}")
        value, _ = self._value(key, _text(el))
        context[key] = value
        context[f"{key}_parsed"] = _parse_date(value)

    def _plain(self, el: ET.Element, context: dict[str, Any], key: str) -> None:
        """language, generator: stored as read."""
        self._once(key)
        if _attrs(el):
            raise _Refused(f"attributes on {el.tag}")
        value, _ = self._value(key, _text(el))
        context[key] = value

    def _rss_author(self, el: ET.Element, context: dict[str, Any]) -> None:
        self._once("author")
        if _attrs(el):
            raise _Refused(f"attributes on {el.tag}")
        context.setdefault("authors", []).append({})
        value, _ = self._value("author", _text(el))
        context["author"] = value
        _sync_author_detail(context)

    def _atom_author(self, el: ET.Element, context: dict[str, Any]) -> None:
        self._once("author")
        if _attrs(el) or (el.text or "").strip():
            raise _Refused("atom author with attributes or text")
        context.setdefault("authors", []).append({})
        for child in el:
            if child.tail and child.tail.strip():
                raise _Refused("text inside atom author")
            if _attrs(child):
                raise _Refused(f"attributes on {child.tag}")
            if child.tag in (ATOM + "name", ATOM + "email"):
                key = child.tag[len(ATOM) :]
                value = _text(child).strip()  # pushed without text handling: only stripped
            elif child.tag == ATOM + "uri":
                key = "href"
                value, _ = self._value("href", _text(child))
                context["href"] = value
            else:
                raise _Refused(f"{child.tag} in atom author")
            context.setdefault("author_detail", {})[key] = value
            _sync_author_detail(context)
            context.setdefault("authors", [{}])[-1][key] = value
        context["author"] = ""
        _sync_author_detail(context)

    # -- RSS ------------------------------------------------------------------------------

    def _channel(self, channel: ET.Element, fast: FastFeed) -> None:
        feed = fast.feed
        for el in channel:
            tag = el.tag
            if tag == "item":
                fast.entries.append(self._item(el))
            elif tag == "title":
                self._title(el, feed, 3)
            elif tag in ("link", ATOM + "link"):
                self._link(el, feed)
            elif tag in ("language", _DC + "language"):
                self._plain(el, feed, "language")
            elif tag == "generator":
                self._plain(el, feed, "generator")
            elif tag == "description":
                self._once("description")
                self._content_type(_attrs(el), "text/html")
                _text(el)
            elif tag in ("managingEditor", "webMaster"):
                _text(el)  # feed author and publisher: read only for Atom feeds
            elif tag == "image":
                self._image(el)
            elif tag in _RSS_CHANNEL_IGNORED:
                _text(el)
            else:
                raise _Refused(f"channel element {tag}")

    def _image(self, image: ET.Element) -> None:
        self._once("image")
        self.title_depth = -1
        for el in image:
            if el.tag not in _IMAGE_CHILDREN or el.attrib:
                raise _Refused(f"image element {el.tag}")
            text = _text(el)
            if el.tag == "title":
                value, _ = self._value("title", text, "text/plain")
                if value:
                    self.title_depth = 4

    def _item(self, item: ET.Element) -> dict[str, Any]:
        if item.attrib:
            raise _Refused("attributes on item")
        entry: dict[str, Any] = {}
        saved_seen, self.seen, self.in_entry = self.seen, set(), True
        self.title_depth = -1
        for el in item:
            tag = el.tag
            if tag == "title":
                self._title(el, entry, 4)
            elif tag in ("link", ATOM + "link"):
                self._link(el, entry)
            elif tag == "description":
                self._once("description")
                ctype = self._content_type(_attrs(el), "text/html")
                value, ctype = self._value("description", _text(el), ctype)
                entry["summary"] = value
                entry["summary_detail"] = self._detail(ctype, value)
            elif tag == _CONTENT + "encoded":
                self._once("content")
                ctype = self._content_type(_attrs(el), "text/html")
                value, ctype = self._value("content", _text(el), ctype)
                entry.setdefault("content", []).append(self._detail(ctype, value))
                entry.setdefault("summary", value)
            elif tag == "guid":
                self._guid(el, entry)
            elif tag == "pubDate":
                self._date(el, entry, "published")
            elif tag == _DC + "date":
                self._date(el, entry, "updated")
            elif tag in ("author", _DC + "creator"):
                self._rss_author(el, entry)
            elif tag == _DC + "language":
                self._plain(el, entry, "language")
            elif tag == "source":
                self._source(el, entry)
            elif tag == "enclosure":
                attrs = _enforce_href(_attrs(el))
                attrs["rel"] = "enclosure"
                _text(el)
                entry.setdefault("links", []).append(attrs)
            elif tag in _RSS_ITEM_IGNORED:
                _text(el)
            else:
                raise _Refused(f"item element {tag}")
        self.seen, self.in_entry = saved_seen, False
        return entry

    def _source(self, el: ET.Element, entry: dict[str, Any]) -> None:
        self._once("source")
        attrs = _attrs(el)
        source: dict[str, Any] = {}
        if "url" in attrs:
            source["href"] = attrs["url"]
        self.title_depth = -1
        value, _ = self._value("source", _text(el))
        if value:
            source["title"] = value
        entry["source"] = source

    # -- Atom -----------------------------------------------------------------------------

    def _atom_feed(self, root: ET.Element, fast: FastFeed) -> None:
        feed = fast.feed
        for el in root:
            tag = el.tag
            if tag == ATOM + "entry":
                fast.entries.append(self._entry(el))
            elif tag == ATOM + "title":
                self._title(el, feed, 2)
            elif tag == ATOM + "link":
                self._link(el, feed)
            elif tag == ATOM + "id":
                self._guid(el, feed)
            elif tag == ATOM + "author":
                self._atom_author(el, feed)
            elif tag == ATOM + "generator":
                self._once("generator")
                _attrs(el)
                value, _ = self._value("generator", _text(el))
                feed["generator"] = value
            elif tag in _ATOM_FEED_IGNORED:
                self._once(tag)
                attrs = _attrs(el)
                if tag in (ATOM + "subtitle", ATOM + "rights"):
                    self._content_type(attrs, "text/plain")
                _text(el)
            elif tag == ATOM + "category":
                _text(el)
            else:
                raise _Refused(f"feed element {tag}")

    def _entry(self, item: ET.Element) -> dict[str, Any]:
        if item.attrib:
            raise _Refused("attributes on entry")
        entry: dict[str, Any] = {}
        saved_seen, self.seen, self.in_entry = self.seen, set(), True
        self.title_depth = -1
        has_content = False
        for el in item:
            tag = el.tag
            if tag == ATOM + "title":
                self._title(el, entry, 3)
            elif tag == ATOM + "link":
                self._link(el, entry)
            elif tag == ATOM + "id":
                self._guid(el, entry)
            elif tag == ATOM + "published":
                self._date(el, entry, "published")
            elif tag == ATOM + "updated":
                self._date(el, entry, "updated")
            elif tag == ATOM + "author":
                self._atom_author(el, entry)
            elif tag == ATOM + "summary":
                if "summary" in entry and not has_content:
                    raise _Refused("summary read as content")
                self._once("summary")
                ctype = self._content_type(_attrs(el), "text/plain")
                value, ctype = self._value("summary", _text(el), ctype)
                entry["summary"] = value
                entry["summary_detail"] = self._detail(ctype, value)
            elif tag == ATOM + "content":
                self._once("content")
                has_content = True
                ctype = self._content_type(_attrs(el), "text/plain")
                value, ctype = self._value("content", _text(el), ctype)
                entry.setdefault("content", []).append(self._detail(ctype, value))
                entry.setdefault("summary", value)
            elif tag == ATOM + "category":
                _text(el)
            elif tag in _ATOM_ENTRY_IGNORED:
                self._once(tag)
                self._content_type(_attrs(el), "text/plain")
                _text(el)
            else:
                raise _Refused(f"entry element {tag}")
        self.seen, self.in_entry = saved_seen, False
        return entry
