"""Source connectors, one module per kind. ``connector_for(kind)`` imports lazily so a
deployment that uses two kinds never loads the other ten."""

from __future__ import annotations

import importlib
from types import ModuleType

from earful.config.models import SOURCE_KINDS
from earful.errors import ConfigError

# The kinds a config may name (config validates against the same tuple).
KINDS = SOURCE_KINDS
# Kinds whose connector can search the past (``backfill_page``, see ``sources.base``);
# a test checks this tuple against the modules.
# (A Bluesky source in Jetstream mode is the exception: the firehose has no search.)
BACKFILL_KINDS = (
    "bluesky",
    "github",
    "hackernews",
    "lemmy",
    "mastodon",
    "stackexchange",
    "youtube",
)
# kind -> module under earful.sources, where the module is not named after its kind
_MODULES = {"rss": "feed.connector"}


def connector_for(kind: str) -> ModuleType:
    """The connector module for ``kind`` (has ``parse`` and ``fetch``)."""
    if kind not in KINDS:
        known = ", ".join(sorted(KINDS))
        raise ConfigError(f"unknown source kind {kind!r} (known: {known})", field="kind")
    return importlib.import_module(f"earful.sources.{_MODULES.get(kind, kind)}")
