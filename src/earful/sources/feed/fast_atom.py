"""Atom 1.0 elements for the fast feed reader (:mod:`earful.sources.feed.fast`).

Mirrors feedparser's handling of ``feed``, ``entry``, ``author`` and their children; see
:mod:`earful.sources.feed.fast` for the contract.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from earful.sources.feed.compat import sync_author_detail
from earful.sources.feed.names import ATOM_ENTRY_SKIPPED, ATOM_FEED_SKIPPED, Refused

if TYPE_CHECKING:
    from earful.sources.feed.fast import FastFeed, FeedReader

_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def read_atom_feed(reader: FeedReader, root: ET.Element, fast: FastFeed) -> None:
    """The children of an Atom ``feed`` element, into ``fast``."""
    feed = fast.feed
    for el in root:
        reader.enter(el)
        name = reader.name(el.tag)
        if name == "entry":
            fast.entries.append(_read_entry(reader, el))
        elif name == "title":
            reader.title(el, feed)
        elif name == "link":
            reader.link(el, feed)
        elif name == "id":
            reader.guid(el, feed)
        elif name == "author":
            _read_author(reader, el, feed)
        elif name == "generator":
            reader.once("generator")
            reader.attrs(el)
            feed["generator"], _ = reader.value("generator", reader.text(el))
        else:
            reader.skip(el, ATOM_FEED_SKIPPED)
        reader.exit()


def _read_entry(reader: FeedReader, item: ET.Element) -> dict[str, Any]:
    if item.attrib and set(item.attrib) - {_XML_BASE, _XML_LANG}:
        raise Refused("attributes on entry")
    entry: dict[str, Any] = {}
    saved_seen, reader.seen, reader.in_entry = reader.seen, set(), True
    reader.title_depth, reader.title_depths = -1, None
    has_content = False
    for el in item:
        reader.enter(el)
        name = reader.name(el.tag)
        if name == "title":
            reader.title(el, entry)
        elif name == "link":
            reader.link(el, entry)
        elif name == "id":
            reader.guid(el, entry)
        elif name == "published":
            reader.date(el, entry, "published")
        elif name == "updated":
            reader.date(el, entry, "updated")
        elif name == "author":
            _read_author(reader, el, entry)
        elif name == "summary":
            if "summary" in entry and not has_content:
                raise Refused("summary read as content")
            reader.once("summary")
            ctype = reader.content_type(reader.attrs(el), "text/plain")
            value, ctype = reader.value("summary", reader.text(el), ctype)
            entry["summary"] = value
            entry["summary_detail"] = reader.detail(ctype, value)
        elif name == "content":
            reader.once("content")
            has_content = True
            ctype = reader.content_type(reader.attrs(el), "text/plain")
            value, ctype = reader.value("content", reader.text(el), ctype)
            entry.setdefault("content", []).append(reader.detail(ctype, value))
            entry.setdefault("summary", value)
        else:
            reader.skip(el, ATOM_ENTRY_SKIPPED)
        reader.exit()
    reader.seen, reader.in_entry = saved_seen, False
    return entry


def _read_author(reader: FeedReader, el: ET.Element, context: dict[str, Any]) -> None:
    reader.once("author")
    reader.attrs(el)
    if (el.text or "").strip():
        raise Refused("text inside atom author")
    context.setdefault("authors", []).append({})
    for child in el:
        if child.tail and child.tail.strip():
            raise Refused("text inside atom author")
        reader.enter(child)
        name = reader.name(child.tag)
        if name in ("name", "email"):
            reader.attrs(child)
            value = reader.text(child).strip()  # pushed without text handling: only stripped
        elif name == "uri":
            reader.attrs(child)
            name = "href"
            value, _ = reader.value("href", reader.text(child))
            context["href"] = value
        else:
            reader.skip(child, frozenset())
            reader.exit()
            continue
        context.setdefault("author_detail", {})[name] = value
        sync_author_detail(context)
        context.setdefault("authors", [{}])[-1][name] = value
        reader.exit()
    context["author"] = ""
    sync_author_detail(context)
