"""Small readers of payload values that every JSON connector needs.

* :func:`load_json` — a response body as JSON, or the connector's ``ParseError`` (reason
  ``json``).
* :func:`load_cursor` — a connector's JSON ``PollState.cursor``; ``None`` when unset or not
  JSON, so the connector starts afresh instead of failing.
* :func:`keep_or_note` — a parsed item's mention kept, or a problem noted when it gave none.
* :func:`keep_parsed` — ``keep_or_note`` around an item builder: an item that is not an object
  or holds a field of the wrong type (``MALFORMED``) is noted and skipped, so a hostile or
  drifted payload loses that item only and never escapes ``parse`` as a bare ``TypeError``.
* :func:`parse_iso_utc` — an ISO 8601 timestamp ("...Z", "+02:00", or naive, taken as UTC) as an
  aware UTC datetime; ``None`` for anything else.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from earful.clock import parse_iso
from earful.errors import ParseError
from earful.mention import RawMention
from earful.sources.base import ParseResult


def load_json(body: bytes, kind: str) -> Any:
    """``body`` decoded as JSON; :class:`ParseError` naming ``kind`` when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise ParseError(f"{kind}: not JSON: {exc}", source=kind, reason="json") from exc


def load_cursor(raw: str | None) -> Any:
    """A JSON cursor as stored by the connector; ``None`` when unset, empty or not JSON."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def parse_iso_utc(raw: object) -> datetime | None:
    """An ISO 8601 string -> aware UTC datetime; else ``None``. Naive is taken as UTC (Lemmy
    0.18 sends "2023-06-20T10:11:12.123456", 0.19+ adds "Z")."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        return None


def keep_or_note(result: ParseResult, mention: RawMention | None, problem: str) -> None:
    """Keep ``mention`` in ``result``; when the item gave none, note ``problem`` instead."""
    if mention is None:
        result.problems.append(problem)
    else:
        result.mentions.append(mention)


# What a builder raises on a field of the wrong type: ``None.get``, ``int`` iterated, a timestamp
# out of range, ``int("x")``.
MALFORMED = (AttributeError, KeyError, TypeError, ValueError, OverflowError)


def keep_parsed(
    result: ParseResult,
    build: Callable[[dict[str, Any]], RawMention | None],
    item: object,
    problem: str,
) -> None:
    """Keep ``build(item)``; note ``problem`` when ``item`` is not an object, gives no mention,
    or is malformed (the error is appended to the note)."""
    if not isinstance(item, dict):
        result.problems.append(problem)
        return
    try:
        mention = build(item)
    except MALFORMED as exc:
        result.problems.append(f"{problem}: {type(exc).__name__}: {exc}")
        return
    keep_or_note(result, mention, problem)
