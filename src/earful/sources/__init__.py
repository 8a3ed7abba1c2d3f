"""Source connectors, one module per kind. ``connector_for(kind)`` imports lazily so a
deployment that uses two kinds never loads the other ten."""

from __future__ import annotations

import importlib
from types import ModuleType

from earful.errors import ConfigError

# kind -> module under earful.sources
KINDS: dict[str, str] = {
    "rss": "feed.connector",
    "hackernews": "hackernews",
    "reddit": "reddit",
    "mastodon": "mastodon",
    "bluesky": "bluesky",
    "lemmy": "lemmy",
    "stackexchange": "stackexchange",
    "github": "github",
    "youtube": "youtube",
    "appstore": "appstore",
    "jsonld": "jsonld",
    "yelp": "yelp",
}


def connector_for(kind: str) -> ModuleType:
    """The connector module for ``kind`` (has ``parse`` and ``fetch``)."""
    module = KINDS.get(kind)
    if module is None:
        known = ", ".join(sorted(KINDS))
        raise ConfigError(f"unknown source kind {kind!r} (known: {known})", field="kind")
    return importlib.import_module(f"earful.sources.{module}")
