"""Feed dates feedparser gets wrong or cannot read, resolved to timezone-aware UTC.

feedparser reads RFC 822 and ISO 8601 well, but misreads ``2020/1/10 14:33:00`` (as
1 November) and gives up on localized RFC 822 such as Portuguese ``Seg, 24 Set 2018 19:42:40
-0300``. Instead of registering global feedparser date handlers (process-wide state), the
connector asks :func:`resolve_date` with the raw string and feedparser's own result.
A date without an offset is taken as UTC — feeds give no better hint.
"""

from __future__ import annotations

import calendar
import email.utils
import re
import time
from datetime import UTC, datetime

from earful.clock import ensure_utc

_NUMERIC = re.compile(
    r"^(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_LEADING_DAY = re.compile(r"^[^\d,]{1,20},\s*")
_WORD = re.compile(r"[^\W\d_]+\.?")

# Month names and abbreviations in the languages feeds most often localize
# (Portuguese, Spanish, French, German, Italian, Dutch) -> the English abbreviation.
_MONTHS: dict[str, str] = {}
for _english, _names in {
    "Jan": "jan janeiro enero ene janv janvier januar januari gen gennaio",
    "Feb": "feb fev fevereiro febrero févr fevr février fevrier februar februari febbraio",
    "Mar": "mar março marco marzo mars mär märz maerz mrz maart mrt",
    "Apr": "apr abr abril avr avril aprile",
    "May": "may mai maio mayo mei mag maggio",
    "Jun": "jun junho junio juin juni giu giugno",
    "Jul": "jul julho julio juil juillet juli lug luglio",
    "Aug": "aug ago agosto août aout augustus",
    "Sep": "sep sept set setembro septiembre septembre september settembre",
    "Oct": "oct out outubro octubre octobre okt oktober ott ottobre",
    "Nov": "nov novembro noviembre novembre november",
    "Dec": "dec dez dezembro dic diciembre déc decembre décembre dezember december dicembre",
}.items():
    for _name in _names.split():
        _MONTHS[_name] = _english


def struct_to_datetime(value: time.struct_time) -> datetime:
    """feedparser's UTC ``struct_time`` -> aware datetime."""
    return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)


def parse_numeric_date(raw: str) -> datetime | None:
    """``YYYY/M/D [H:MM[:SS]]`` (and with ``-`` or ``.``) as UTC; None when it is not one."""
    match = _NUMERIC.match(raw.strip())
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def parse_localized_date(raw: str) -> datetime | None:
    """RFC 822 with day and month names in another language, e.g. ``Seg, 24 Set 2018``."""
    value = _LEADING_DAY.sub("", raw.strip())

    def translate(match: re.Match[str]) -> str:
        word = match.group(0).rstrip(".").lower()
        return _MONTHS.get(word, match.group(0))

    value = _WORD.sub(translate, value)
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(raw.strip())
        except ValueError:
            return None
    return ensure_utc(parsed)


def resolve_date(raw: str | None, parsed: time.struct_time | None) -> datetime | None:
    """The best reading of one date element: ours for the forms feedparser misreads, then
    feedparser's, then a localized reading; None when nothing understands it."""
    if raw:
        numeric = parse_numeric_date(raw)
        if numeric is not None:
            return numeric
    if parsed is not None:
        try:
            return struct_to_datetime(parsed)
        except (OverflowError, ValueError):
            pass
    if raw and raw.strip():
        return parse_localized_date(raw)
    return None
