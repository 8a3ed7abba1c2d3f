"""A fast reader for the common feed: well-formed RSS 2.0 and Atom 1.0, read with ElementTree.

feedparser costs about 2 ms per item (SAX callbacks in Python, an sgmllib HTML sanitizer run
on every text field). This module reads the same documents with C expat via
:mod:`xml.etree.ElementTree` and builds the dictionaries feedparser would build — the keys
:mod:`earful.sources.feed.connector` reads (``link``/``links``, ``id``, ``title``/``title_detail``,
``summary``/``summary_detail``, ``content``, ``source``, dates and their ``*_parsed``,
``author``/``author_detail``, ``language``; for the feed ``title``, ``link``, ``links``,
``language``, ``generator``, ``author``) — so everything after parsing is shared.

Contract: :func:`read_feed` returns a :class:`FastFeed` only when it is sure the result equals
feedparser's for those keys; otherwise ``None`` (with a debug log of the reason) and the
caller uses feedparser. Refused: bodies that are not well-formed XML; a DOCTYPE or ENTITY
declaration (never expanded, for safety); RSS 1.0/RDF, RSS in a namespace, Atom 0.3;
elements that feedparser maps onto the keys above in ways not mirrored here (Media RSS
descriptions, ``itunes:summary`` in items, Atom ``source``, repeated titles...); markup
inside text elements; Atom ``xhtml`` or non-text content types; ambiguous namespace prefixes.
Elements feedparser has no handler for are stored under keys nothing reads, so they are
skipped — as are a list of handled elements checked to touch none of those keys.

Elements are dispatched on the name feedparser gives them (namespace prefix mapped, lower
cased), with its ``xml:base``/``xml:lang`` stacks, title depth and per-value steps
(:mod:`earful.sources.feed.compat`) reproduced. ``tests/unit/sources/test_feed_fast.py``
checks the equivalence on every real fixture and on generated variations.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from feedparser.api import StrictFeedParser

from earful.sources.feed.compat import (
    HTML_TYPES,
    KNOWN_NAMESPACES,
    SANITIZED,
    enforce_href,
    fix_encoding,
    is_text_stable_html,
    join_url,
    looks_like_html,
    map_c1,
    map_content_type,
    parse_date,
    sanitize_markup,
    settle_base,
    sync_author_detail,
    undo_latin1,
)
from earful.sources.feed.fast_atom import read_atom_feed
from earful.sources.feed.names import (
    ATOM_FEED,
    CHANNEL_SKIPPED,
    CHILDREN_SKIPPED,
    IMAGE_CHILDREN,
    ITEM_SKIPPED,
    READ_KEYS,
    RSS1_DECLARED,
    Refused,
    declared_prefixes,
)

logger = logging.getLogger(__name__)

_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_UNSAFE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_AMP_REF = re.compile("&([A-Za-z0-9_]+);")
_MARKUP_OR_CR = re.compile("[<&\r]")
_URI_ELEMENTS = frozenset({"link", "href", "id"})
_RSS_VERSIONS = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}


@dataclass(slots=True)
class FastFeed:
    """What :mod:`earful.sources.feed.connector` reads from ``feedparser.parse``'s result."""

    version: str
    feed: dict[str, Any]
    entries: list[dict[str, Any]] = field(default_factory=list)


def read_feed(body: bytes, *, url: str | None) -> FastFeed | None:
    """The feed as feedparser would read it, or None when the fast path is not sure.

    ``body`` is UTF-8 (after :func:`earful.sources.feed.encoding.transcode_to_utf8`);
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
        return FeedReader(url, body).read(root)
    except Refused as exc:
        logger.debug("fast feed reader refused: %s", exc)
        return None


class FeedReader:
    """One document; mirrors the state feedparser keeps while reading it."""

    def __init__(self, url: str | None, body: bytes) -> None:
        self.body = body
        self.base = url or ""
        self.bases: list[str] = []
        self.lang: str | None = None
        self.langs: list[str | None] = []
        self.depth = 0
        self.atom = False
        self.in_entry = False
        self.title_depth = -1
        self.title_depths: int | None = None  # depth of the entry's stored title
        self.seen: set[str] = set()
        self.feed: dict[str, Any] = {}
        self.prefixes: dict[str, str] | None = None
        self.names: dict[str, str] = {}

    # -- document walk ---------------------------------------------------------------------

    def read(self, root: ET.Element) -> FastFeed:
        if self.base and settle_base(self.base, None) != self.base:
            raise Refused("feed URL does not settle as a base")
        self.enter(root, root=True)
        name = self.name(root.tag)
        if name == "rss" and not root.tag.startswith("{"):
            version = self.attrs(root).get("version", "")
            mapped = _RSS_VERSIONS.get(version) or ("rss20" if version.startswith("2.") else "rss")
            fast = FastFeed(mapped, self.feed)
            channels = list(root)
            if len(channels) != 1 or self.name(channels[0].tag) != "channel":
                raise Refused("rss root must hold exactly one channel")
            if channels[0].tag != "channel" or channels[0].attrib:
                raise Refused("channel in a namespace or with attributes")
            self.enter(channels[0])
            self._channel(channels[0], fast)
            self.exit()
        elif root.tag == ATOM_FEED:
            if RSS1_DECLARED.search(self.body):
                raise Refused("atom feed declaring an RSS 1.0 namespace")
            self.attrs(root)
            self.atom = True
            fast = FastFeed("atom10", self.feed)
            read_atom_feed(self, root, fast)
        else:
            raise Refused(f"root element {root.tag}")
        self.exit()
        return fast

    def name(self, tag: str) -> str:
        """The element name feedparser dispatches on (``dc_creator``, ``title``...)."""
        name = self.names.get(tag)
        if name is not None:
            return name
        uri, _, local = tag[1:].rpartition("}") if tag[0] == "{" else ("", "", tag)
        lower = uri.lower()
        if "backend.userland.com/rss" in lower:
            raise Refused(f"namespace {uri}")
        prefix = KNOWN_NAMESPACES.get(lower)
        if prefix is None:
            if self.prefixes is None:
                self.prefixes = declared_prefixes(self.body)
            prefix = self.prefixes.get(uri)
            if prefix is None:
                raise Refused(f"namespace {uri} not found among the declarations")
        name = f"{prefix}_{local.lower()}" if prefix else local.lower()
        self.names[tag] = name
        return name

    def enter(self, el: ET.Element, *, root: bool = False) -> None:
        """feedparser's bookkeeping at a start tag: depth, xml:base and xml:lang stacks.

        For a leaf without attributes the stacks change nothing (its base and language are
        its parent's, and its end restores them), so hot loops only count its depth."""
        self.depth += 1
        lang = None
        if el.attrib:
            lang = el.attrib.get(_XML_LANG)
            declared = el.attrib.get(_XML_BASE)
            if declared is not None:
                self.base = settle_base(self.base, declared)
                if self.base and settle_base(self.base, None) != self.base:
                    raise Refused("xml:base does not settle")
        if lang == "":
            lang = None
        elif lang is None:
            lang = self.lang
        if lang and root:
            self.feed["language"] = lang.replace("_", "-")
        self.lang = lang
        self.bases.append(self.base)
        self.langs.append(lang)

    def exit(self) -> None:
        self.bases.pop()
        if self.bases and self.bases[-1]:
            self.base = self.bases[-1]
        self.langs.pop()
        if self.langs:
            self.lang = self.langs[-1]
        self.depth -= 1

    def skip(self, el: ET.Element, allowed: frozenset[str]) -> None:
        """An element (and its subtree) feedparser files under keys nothing reads."""
        name = self.name(el.tag)
        if name not in allowed and not self._unhandled(name):
            raise Refused(f"element {el.tag}")
        self.attrs(el)
        for child in el:
            self.enter(child)
            self.skip(child, CHILDREN_SKIPPED)
            self.exit()

    @staticmethod
    def _unhandled(name: str) -> bool:
        return name not in READ_KEYS and not (
            hasattr(StrictFeedParser, "_start_" + name) or hasattr(StrictFeedParser, "_end_" + name)
        )

    # -- values ---------------------------------------------------------------------------

    def attrs(self, el: ET.Element) -> dict[str, str]:
        """Attributes as feedparser normalizes them (names lowercased, ``rel``/``type``
        values lowercased); refuses those that would change parsing."""
        if not el.attrib:
            return {}
        found: dict[str, str] = {}
        for key, value in el.attrib.items():
            if key in (_XML_BASE, _XML_LANG):
                continue
            name = key.lower()
            if key[0] == "{" or name in ("base", "lang") or name in found:
                raise Refused(f"attribute {key} on {el.tag}")
            found[name] = value.lower() if name in ("rel", "type") else value
        return found

    def text(self, el: ET.Element) -> str:
        if len(el):
            raise Refused(f"markup inside {el.tag}")
        return el.text or ""

    def value(self, element: str, raw: str, ctype: str | None = None) -> tuple[str, str]:
        """feedparser's ``pop`` for a text element: (value, its final content type)."""
        output = raw.strip()
        if output.isascii() and not _MARKUP_OR_CR.search(output):
            # The usual case, where every step below leaves the text as it is.
            if output and element in _URI_ELEMENTS:
                return fix_encoding(join_url(self.base, output)), ctype or "text/html"
            return output, ctype or "text/html"
        if element in _URI_ELEMENTS and output:
            output = join_url(self.base, output)
        if not self.atom and ctype == "text/plain" and looks_like_html(output):
            ctype = "text/html"
        ctype = ctype or "text/html"
        if element in SANITIZED and map_content_type(ctype) in HTML_TYPES:
            if (
                (element == "title" and not self.in_entry)
                or undo_latin1(output) != output
                or not is_text_stable_html(output)
            ):
                return fix_encoding(sanitize_markup(output, self.base, ctype)), ctype
            # The sanitizer would keep this text exactly: html_to_text reads it alike.
            return map_c1(output), ctype
        return fix_encoding(output), ctype

    def detail(self, ctype: str, value: str) -> dict[str, Any]:
        lang = self.lang.replace("_", "-") if self.lang else None
        return {"type": ctype, "language": lang, "base": self.base, "value": value}

    def content_type(self, attrs: dict[str, str], default: str) -> str:
        ctype = map_content_type(attrs.get("type", default))
        if ctype not in ("text/plain", "text/html") or "mode" in attrs or "src" in attrs:
            raise Refused(f"content type {ctype}")
        return ctype

    def once(self, key: str) -> None:
        if key in self.seen:
            raise Refused(f"repeated {key}")
        self.seen.add(key)

    # -- elements shared by RSS and Atom ---------------------------------------------------

    def title(self, el: ET.Element, context: dict[str, Any], *, media: bool = False) -> None:
        self.once("media_title" if media else "title")
        ctype = self.content_type(self.attrs(el), "text/plain")
        value, ctype = self.value("title", self.text(el), ctype)
        self._store_title(context, value, ctype)
        if value and not media:  # media:title leaves the title depth as it was
            self.title_depth = self.depth

    def _store_title(self, context: dict[str, Any], value: str, ctype: str) -> None:
        """feedparser keeps the first non-empty title (title depth) and, in an entry, the
        shallowest one (its per-key depth map)."""
        if -1 < self.title_depth <= self.depth:
            return
        if self.in_entry:
            old = self.title_depths
            if old is not None and self.depth > old:
                return
            self.title_depths = self.depth
        context["title"] = value
        context["title_detail"] = self.detail(ctype, value)

    def link(self, el: ET.Element, context: dict[str, Any]) -> None:
        if el.attrib:
            attrs = self.attrs(el)
            attrs.setdefault("rel", "alternate")
            attrs.setdefault(
                "type", "application/atom+xml" if attrs["rel"] == "self" else "text/html"
            )
            attrs = enforce_href(attrs)
        else:
            attrs = {"rel": "alternate", "type": "text/html"}
        if "href" in attrs:
            attrs["href"] = join_url(self.base, attrs["href"])
        context.setdefault("links", []).append(attrs)
        if "href" in attrs:
            if attrs["rel"] == "alternate" and map_content_type(attrs["type"]) in HTML_TYPES:
                context["link"] = attrs["href"]
            return
        value, _ = self.value("link", self.text(el))
        if self.in_entry:
            value = _AMP_REF.sub(r"&\g<1>", value.replace("&amp;", "&"))
            context["link"] = value
            if value:
                attrs["href"] = value
        else:
            value = _AMP_REF.sub(r"&\g<1>", value)
            context["link"] = value
            attrs["href"] = value

    def guid(self, el: ET.Element, context: dict[str, Any]) -> None:
        self.once("id")
        is_link = self.attrs(el).get("ispermalink", "true") == "true"
        output = self.text(el).strip()
        if output and is_link:
            output = join_url(self.base, output)
        value = fix_encoding(output)
        context["id"] = value
        context.setdefault("guidislink", is_link and "link" not in context)
        if is_link:
            context.setdefault("link", value)

    def date(self, el: ET.Element, context: dict[str, Any], key: str) -> None:
        self.once(key)
        self.attrs(el)
        value, _ = self.value(key, self.text(el))
        context[key] = value
        context[f"{key}_parsed"] = parse_date(value)

    def plain(self, el: ET.Element, context: dict[str, Any], key: str) -> None:
        """language, generator: stored as read (the last one wins)."""
        self.attrs(el)
        value, _ = self.value(key, self.text(el))
        context[key] = value

    def _rss_author(self, el: ET.Element, context: dict[str, Any]) -> None:
        self.attrs(el)
        context.setdefault("authors", []).append({})
        value, _ = self.value("author", self.text(el))
        context["author"] = value
        sync_author_detail(context)

    # -- RSS ------------------------------------------------------------------------------

    def _channel(self, channel: ET.Element, fast: FastFeed) -> None:
        feed = fast.feed
        for el in channel:
            self.enter(el)
            name = self.name(el.tag)
            if name == "item":
                fast.entries.append(self._item(el))
            elif name == "title":
                self.title(el, feed)
            elif name == "link":
                self.link(el, feed)
            elif name in ("language", "dc_language"):
                self.plain(el, feed, "language")
            elif name == "generator":
                self.plain(el, feed, "generator")
            elif name == "image":
                self._image(el)
            else:
                self.skip(el, CHANNEL_SKIPPED)
            self.exit()

    def _image(self, image: ET.Element) -> None:
        self.once("image")
        self.attrs(image)
        self.title_depth = -1
        for el in image:
            self.enter(el)
            name = self.name(el.tag)
            if name not in IMAGE_CHILDREN or el.attrib:
                raise Refused(f"image element {el.tag}")
            text = self.text(el)
            if name == "title":
                value, _ = self.value("title", text, "text/plain")
                if value:
                    self.title_depth = self.depth
            self.exit()

    def _item(self, item: ET.Element) -> dict[str, Any]:
        if item.attrib:
            raise Refused("attributes on item")
        entry: dict[str, Any] = {}
        saved_seen, self.seen, self.in_entry = self.seen, set(), True
        self.title_depth, self.title_depths = -1, None
        for el in item:
            leaf = not el.attrib and not len(el)
            if leaf:  # nothing to track but the depth (see enter)
                self.depth += 1
            else:
                self.enter(el)
            name = self.name(el.tag)
            if name == "title":
                self.title(el, entry)
            elif name == "media_title":
                self.title(el, entry, media=True)
            elif name == "link":
                self.link(el, entry)
            elif name == "description":
                self.once("description")
                ctype = self.content_type(self.attrs(el), "text/html")
                value, ctype = self.value("description", self.text(el), ctype)
                entry["summary"] = value
                entry["summary_detail"] = self.detail(ctype, value)
            elif name == "content_encoded":
                self.once("content")
                ctype = self.content_type(self.attrs(el), "text/html")
                value, ctype = self.value("content", self.text(el), ctype)
                entry.setdefault("content", []).append(self.detail(ctype, value))
                entry.setdefault("summary", value)
            elif name == "guid":
                self.guid(el, entry)
            elif name in ("pubdate", "published", "issued", "dcterms_issued"):
                self.date(el, entry, "published")
            elif name in ("dc_date", "updated", "modified", "dcterms_modified"):
                self.date(el, entry, "updated")
            elif name in ("author", "dc_creator", "dc_author", "itunes_author"):
                self._rss_author(el, entry)
            elif name == "dc_language":
                self.plain(el, entry, "language")
            elif name == "source":
                self._source(el, entry)
            elif name == "image":
                self._item_image(el, entry)
            elif name == "enclosure":
                attrs = enforce_href(self.attrs(el))
                attrs["rel"] = "enclosure"
                self.text(el)
                entry.setdefault("links", []).append(attrs)
            else:
                self.skip(el, ITEM_SKIPPED)
            if leaf:
                self.depth -= 1
            else:
                self.exit()
        self.seen, self.in_entry = saved_seen, False
        return entry

    def _item_image(self, image: ET.Element, entry: dict[str, Any]) -> None:
        """An image inside an item: its title competes with the item's own."""
        self.once("image")
        self.attrs(image)
        self.title_depth = -1
        for el in image:
            self.enter(el)
            name = self.name(el.tag)
            if name not in ("url", "title", "link", "width", "height") or el.attrib:
                raise Refused(f"image element {el.tag}")
            if name == "title":
                value, ctype = self.value("title", self.text(el), "text/plain")
                self._store_title(entry, value, ctype)
                if value:
                    self.title_depth = self.depth
            else:
                self.text(el)
            self.exit()

    def _source(self, el: ET.Element, entry: dict[str, Any]) -> None:
        self.once("source")
        attrs = self.attrs(el)
        source: dict[str, Any] = {}
        if "url" in attrs:
            source["href"] = attrs["url"]
        self.title_depth = -1
        value, _ = self.value("source", self.text(el))
        if value:
            source["title"] = value
        entry["source"] = source
