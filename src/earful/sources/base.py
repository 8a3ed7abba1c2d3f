"""The connector contract shared by every source kind.

A connector module splits I/O from parsing:

* ``parse(body: bytes, *, url: str | None = None) -> ParseResult`` — pure: no network, no clock,
  no database. Used by ``earful parse`` and unit tests.
* ``fetch(client: HttpClient, source: SourceConfig, state: PollState) -> FetchResult`` —
  talks HTTP only through the injected :class:`earful.sources.http.HttpClient`.
* optionally ``refresh(client, source, items: list[RefreshItem]) -> list[RawMention]`` —
  re-reads the engagement of already stored mentions, batched as the API allows.
* optionally ``backfill_page(client, source, window: BackfillWindow, cursor: str | None) ->
  BackfillPage`` — one request of a search back in time (newest first) over ``window``;
  ``cursor`` is the previous page's ``BackfillPage.cursor`` (``None``: the first page), and a
  page whose ``cursor`` is ``None`` was the last. The cursor is opaque text the caller stores,
  so an interrupted backfill resumes at the page it stopped at. :data:`BACKFILL_KINDS` in
  ``earful.sources`` lists the kinds that have it.
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


@dataclass(frozen=True, slots=True)
class BackfillWindow:
    """The stretch of the past a backfill reads: ``since`` inclusive, ``until`` exclusive
    (``None``: up to now). Both UTC-aware."""

    since: datetime
    until: datetime | None = None

    def holds(self, when: datetime | None) -> bool:
        """True when ``when`` is inside the window (an unknown time is given the benefit)."""
        if when is None:
            return True
        return when >= self.since and (self.until is None or when < self.until)


@dataclass(slots=True)
class BackfillPage:
    """One page of a backfill: its mentions, and where the next page starts (``None``: done)."""

    mentions: list[RawMention] = field(default_factory=list)
    cursor: str | None = None
    # The oldest publication time on the page: how far back the backfill has reached.
    oldest: datetime | None = None
    problems: list[str] = field(default_factory=list)
    requests: int = 0
    bytes_received: int = 0
    quota_left: int | None = None
    # The API asked for a pause before the next call (Stack Exchange's ``backoff``), seconds.
    wait_s: float = 0.0


def oldest_of(mentions: list[RawMention]) -> datetime | None:
    """The earliest ``published_at`` among ``mentions`` (``None`` when none has one)."""
    return min((m.published_at for m in mentions if m.published_at is not None), default=None)
