"""The connector contract shared by every source kind.

A connector module splits I/O from parsing:

* ``parse(body: bytes, *, url: str | None = None) -> ParseResult`` — pure: no network, no clock,
  no database. Used by ``earful parse`` and unit tests.
* ``fetch(client: HttpClient, source: SourceConfig, state: PollState) -> FetchResult`` —
  talks HTTP only through the injected :class:`earful.sources.http.HttpClient`.
* optionally ``refresh(client, source, items: list[RefreshItem]) -> list[RawMention]`` —
  re-reads the engagement of already stored mentions, batched as the API allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from earful.mention import RawMention


@dataclass(slots=True)
class ParseResult:
    mentions: list[RawMention]
    # Items skipped or recovered from (a malformed entry, a bad date): recorded in source
    # health, while the good items of the same body are still stored.
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PollState:
    """What a connector may know from earlier polls of the same source."""

    etag: str | None = None
    last_modified: str | None = None
    cursor: str | None = None
    last_ok_at: datetime | None = None


@dataclass(slots=True)
class FetchResult:
    mentions: list[RawMention] = field(default_factory=list)
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    cursor: str | None = None
    problems: list[str] = field(default_factory=list)
    quota_left: int | None = None
    bytes_received: int = 0
    requests: int = 0


@dataclass(slots=True)
class RefreshItem:
    """A stored mention whose engagement should be re-read."""

    mention_id: int
    source: str
    external_id: str
    url: str | None
