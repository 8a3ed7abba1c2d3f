"""How feedparser names feed elements, and which ones the fast reader may skip.

feedparser dispatches on ``prefix_localname`` (namespace prefixes mapped to its standard
ones, names lowercased). The tables here list, by that name, the elements whose handlers
write only keys :mod:`earful.sources.feed.connector` never reads — checked one by one against
feedparser 6's handlers; ``tests/unit/sources/test_feed_fast.py`` compares the results.
"""

from __future__ import annotations

import re

from earful.sources.feed.compat import KNOWN_NAMESPACES

ATOM_FEED = "{http://www.w3.org/2005/Atom}feed"
_NS_DECLARATION = re.compile(rb"""xmlns(?::([^\s=/>]+))?\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_STANDARD_PREFIXES = frozenset(KNOWN_NAMESPACES.values())


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Declaring RSS 1.0 or RSS 0.9 makes feedparser call even an Atom document RSS.
RSS1_DECLARED = re.compile(
    rb"""xmlns(?::[^\s=/>]+)?\s*=\s*["'](?:http://purl\.org/rss/1\.0/|"""
    rb"""http://my\.netscape\.com/rdf/simple/0\.9/)["']""",
    re.IGNORECASE,
)
# Keys of feedparser's result that the feed connector reads: no skipped element may write one.
READ_KEYS = _names(
    "link links id title title_detail summary summary_detail content source published "
    "published_parsed updated updated_parsed created created_parsed author author_detail "
    "authors language guidislink generator version href"
)
# Handled by feedparser, but only into keys nothing reads (checked one by one): skipped.
CHANNEL_SKIPPED = _names(
    "description copyright rights lastbuilddate pubdate published updated modified category "
    "cloud managingeditor webmaster author dc_creator dc_author dc_publisher dc_rights "
    "dc_subject dc_date dcterms_modified dcterms_issued dcterms_created itunes_author "
    "itunes_subtitle itunes_summary itunes_owner itunes_image itunes_category "
    "itunes_explicit itunes_keywords itunes_block media_thumbnail media_category "
    "media_keywords media_rating media_credit subtitle tagline info"
)
ITEM_SKIPPED = _names(
    "category dc_subject media_thumbnail media_content media_credit media_keywords "
    "media_category media_rating itunes_explicit itunes_image itunes_subtitle "
    "itunes_keywords itunes_block media_group"
)
ATOM_FEED_SKIPPED = _names("subtitle updated rights category contributor")
ATOM_ENTRY_SKIPPED = _names("rights category contributor media_thumbnail")
# Children allowed inside skipped elements (feedparser files them under unread keys there).
CHILDREN_SKIPPED = _names(
    "itunes_name itunes_email itunes_category name email uri category media_content "
    "media_credit media_thumbnail media_category media_keywords media_rating"
)
IMAGE_CHILDREN = frozenset({"url", "title", "link", "width", "height", "description"})


class Refused(Exception):
    """The body is not one the fast reader is sure about."""


def declared_prefixes(body: bytes) -> dict[str, str]:
    """Namespace URI -> the prefix feedparser names its elements with ("" for a default
    namespace), for URIs feedparser does not know. Refuses a prefix bound twice, one that
    shadows a standard prefix, and a URI declared both as default and with a prefix."""
    by_prefix: dict[str, str] = {}
    defaults: set[str] = set()
    for match in _NS_DECLARATION.finditer(body):
        raw = match.group(2) if match.group(2) is not None else match.group(3)
        uri = raw.decode("utf-8", "replace")
        if match.group(1) is None:
            defaults.add(uri)
            continue
        prefix = match.group(1).decode("utf-8", "replace")
        if by_prefix.setdefault(prefix, uri) != uri:
            raise Refused(f"prefix {prefix} bound to two namespaces")
        known = KNOWN_NAMESPACES.get(uri.lower())
        if known is not None and known != prefix.lower() and prefix.lower() in _STANDARD_PREFIXES:
            # feedparser would rename this prefix's elements everywhere
            raise Refused(f"prefix {prefix} shadows a standard one")
    found: dict[str, str] = {}
    for prefix, uri in by_prefix.items():
        if uri in defaults and uri.lower() not in KNOWN_NAMESPACES:
            raise Refused(f"namespace {uri} declared with and without a prefix")
        found.setdefault(uri, prefix.lower())
    found.update((uri, "") for uri in defaults)
    return found
