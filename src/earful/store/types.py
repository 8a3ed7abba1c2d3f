"""Column types shared by every table.

SQLite keeps no offset with a datetime, so a stored ``10:00+00:00`` comes back as a naive
``10:00``; PostgreSQL hands back an aware value in the session's zone. One column type makes
both read back as aware UTC, so code above the store never has to ask which database it is on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware DateTime that always reads back as UTC.

    Naive values on the way in are taken as UTC (the convention of the whole code base); values
    on the way out get the UTC offset SQLite dropped, or are converted to UTC from PostgreSQL's
    session zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _as_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else _as_utc(value)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def utc_column(*, nullable: bool = True, index: bool = False) -> Column[datetime]:
    """A UTC datetime column for a SQLModel field (``sa_column=utc_column()``)."""
    return Column(UTCDateTime(), nullable=nullable, index=index)
