"""Value rules of feedparser 6, reproduced for the fast feed reader (:mod:`feed_fast`).

Each helper states which feedparser step it mirrors. Where feedparser has a pure helper, it
is called (it is the reference); the cheap shortcuts around them are proven equal by
``tests/unit/sources/test_feed_fast.py``.
"""

from __future__ import annotations

import html.entities
import re
import time
from functools import lru_cache
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.sanitizer import _HTMLSanitizer, _sanitize_html
from feedparser.urls import _urljoin, make_safe_absolute_uri, resolve_relative_uris

HTML_TYPES = frozenset({"application/xhtml+xml", "text/html"})
# Elements whose markup feedparser resolves and sanitizes (its can_contain_* sets agree).
SANITIZED = frozenset(_FeedParserMixin.can_contain_dangerous_markup)
# Namespace URI (lowercased) -> the prefix feedparser gives its elements ("" for RSS/Atom).
KNOWN_NAMESPACES: dict[str, str] = {k.lower(): v for k, v in _FeedParserMixin.namespaces.items()}

_TYPE_ALIASES = {
    "text": "text/plain",
    "plain": "text/plain",
    "html": "text/html",
    "xhtml": "application/xhtml+xml",
}
# C1 controls, which feedparser maps to the cp1252 characters they usually stand for.
_C1 = re.compile("[\x80-\x9f]")
_BEYOND_LATIN1 = re.compile("[^\x00-\xff]")
_EMAIL = re.compile(
    r"""(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"""
)
# An absolute http(s) URL that feedparser's ``_urljoin`` returns unchanged whatever the base
# (lowercase scheme, a plain host, no empty query, no fragment, no ``;params``).
_PLAIN_URL = re.compile(
    r"https?://[A-Za-z0-9.\-]+(?::[0-9]+)?(?:/[A-Za-z0-9._~%!$&'()*+,=:@/\-]*)?"
    r"(?:\?[A-Za-z0-9._~%!$&'()*+,;=:@/?\-]+)?\Z"
)
# HTML whose text the sanitizer cannot change: these tags (all kept by it), simple quoted
# attributes, entities it passes through unchanged, no comments, declarations or CDATA.
_STABLE_TAG_NAMES = (
    "a abbr b big blockquote br cite code dd del dfn div dl dt em figcaption figure font "
    "h1 h2 h3 h4 h5 h6 hr i img ins kbd li ol p pre q s samp small span strike strong sub "
    "sup table tbody td tfoot th thead tr tt u ul var article aside section header footer "
    "nav time caption"
)
_STABLE_TAGS = frozenset(_STABLE_TAG_NAMES.split()) & frozenset(_HTMLSanitizer.acceptable_elements)
_VOID_TAGS = frozenset({"br", "hr", "img"})
# The commonest stable markup, recognised in one regex pass: bare paragraph and phrase tags,
# <br>, the XML entities.
_QUICK_STABLE = re.compile(
    r"(?:[^<&]|</?(?:p|b|i|em|strong|li|ul|ol|div|span|blockquote)>|<br ?/?>"
    r"|&(?:amp|lt|gt|quot|apos|nbsp);)*"
)
_HTML_TOKEN = re.compile(
    r"""<(/?)([A-Za-z][A-Za-z0-9]*)((?:\s+[A-Za-z][-A-Za-z0-9_]*\s*=\s*(?:"[^"<>]*"|'[^'<>]*'))*)\s*(/?)>"""
    r"""|&(#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]*);"""
    r"""|[^<&]+"""
)


@lru_cache(maxsize=4096)
def parse_date(value: str) -> time.struct_time | None:
    """feedparser's date reading (a UTC ``struct_time``), cached: a polled feed repeats its
    items' dates on every poll."""
    parsed: time.struct_time | None = _parse_date(value)
    return parsed


def join_url(base: str, uri: str) -> str:
    """feedparser's ``_urljoin(base, uri)``, without its cost for the usual absolute link."""
    return uri if _PLAIN_URL.match(uri) else str(_urljoin(base, uri))


def settle_base(current: str, declared: str | None) -> str:
    """feedparser's base URI after an element with ``xml:base`` = ``declared`` (or none)."""
    declared = declared or current
    if current:
        return str(make_safe_absolute_uri(current, declared) or current)
    return str(_urljoin(current, declared))


def looks_like_html(value: str) -> bool:
    """feedparser's guess whether "plain text" is really HTML."""
    # It needs a close tag or an entity: neither is possible without < or &.
    if "<" not in value and "&" not in value:
        return False
    return bool(_FeedParserMixin.looks_like_html(value))


def map_content_type(value: str) -> str:
    value = value.lower()
    return _TYPE_ALIASES.get(value, value)


def undo_latin1(output: str) -> str:
    """feedparser's repair of UTF-8 that was read as Latin-1 (applied to every value)."""
    if output.isascii() or _BEYOND_LATIN1.search(output):
        return output  # nothing to repair, or not encodable as Latin-1: unchanged
    try:
        return output.encode("iso-8859-1").decode("utf-8")
    except UnicodeDecodeError:
        return output


def map_c1(output: str) -> str:
    """C1 controls mapped to their cp1252 characters, as feedparser does."""
    return output.translate(_cp1252) if _C1.search(output) else output


def fix_encoding(output: str) -> str:
    """feedparser's last steps for every text value: the Latin-1 repair, then the C1 map."""
    return map_c1(undo_latin1(output))


def sanitize_markup(output: str, base: str, content_type: str) -> str:
    """feedparser's relative-URI resolution and HTML sanitizing of a markup value."""
    output = resolve_relative_uris(output, base, "utf-8", content_type)
    return str(_sanitize_html(output, "utf-8", content_type))


def is_text_stable_html(markup: str) -> bool:
    """True when feedparser's URI resolver and sanitizer keep the plain text of ``markup``
    (what :func:`earful.text.html_to_text` extracts) exactly as it is."""
    if _QUICK_STABLE.fullmatch(markup):
        return True
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
                if closing:  # </br> is a line break to html_to_text, dropped by the sanitizer
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


def enforce_href(attrs: dict[str, str]) -> dict[str, str]:
    """feedparser's ``_enforce_href``: ``url``/``uri`` renamed ``href``."""
    href = attrs.get("url", attrs.get("uri", attrs.get("href")))
    if href:
        attrs.pop("url", None)
        attrs.pop("uri", None)
        attrs["href"] = href
    return attrs


def sync_author_detail(context: dict[str, Any]) -> None:
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
