"""Escalation figures for the digest, read from the escalation feature's table when it exists.

Expected shape (issue 5 builds it): table ``escalation`` with at least the columns
``brand``, ``opened_at``, ``acknowledged_at`` (nullable), ``resolved_at`` (nullable), ``status``.
When the table is absent (feature not installed or not migrated yet) the digest shows zeros and
says "not available" instead of failing. Counts are events *in the period*: escalations opened,
acknowledged and resolved between ``start`` and ``end``; time to acknowledge is measured on the
escalations opened in the period that have been acknowledged.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Column, MetaData, String, Table, and_, func, inspect, select
from sqlalchemy.engine import Connection

from earful.digest.data import EscalationStats
from earful.store.types import UTCDateTime

logger = logging.getLogger(__name__)

TABLE = "escalation"
REQUIRED = {"brand", "opened_at", "acknowledged_at", "resolved_at"}
ACK_ROWS_CAP = 100_000


def _table() -> Table:
    # A private, reflection-free description of the columns we read: independent of the model
    # class the escalation feature defines, so this module never imports it.
    return Table(
        TABLE,
        MetaData(),
        Column("brand", String),
        Column("opened_at", UTCDateTime()),
        Column("acknowledged_at", UTCDateTime()),
        Column("resolved_at", UTCDateTime()),
        Column("status", String),
    )


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of ``values``; ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * q // 100)))
    return ordered[int(rank) - 1]


def read_escalation_stats(
    conn: Connection, *, brand: str, start: datetime, end: datetime, sla_min: int | None
) -> EscalationStats:
    """Opened / acknowledged / resolved in [start, end); time to acknowledge p50/p90 (minutes)."""
    insp = inspect(conn)
    if not insp.has_table(TABLE):
        return EscalationStats(available=False, ack_sla_min=sla_min)
    columns = {c["name"] for c in insp.get_columns(TABLE)}
    if not columns >= REQUIRED:
        logger.warning("escalation table lacks columns %s; digest skips it", REQUIRED - columns)
        return EscalationStats(available=False, ack_sla_min=sla_min)
    t = _table()

    def count_in(col: Column) -> int:  # type: ignore[type-arg]
        stmt = (
            select(func.count()).select_from(t).where(t.c.brand == brand, col >= start, col < end)
        )
        return int(conn.execute(stmt).scalar_one())

    ack_rows = conn.execute(
        select(t.c.opened_at, t.c.acknowledged_at)
        .where(
            and_(t.c.brand == brand, t.c.opened_at >= start, t.c.opened_at < end),
            t.c.acknowledged_at.is_not(None),
        )
        .limit(ACK_ROWS_CAP)
    ).all()
    minutes = [max(0.0, (ack - opened).total_seconds() / 60) for opened, ack in ack_rows]
    p50, p90 = percentile(minutes, 50), percentile(minutes, 90)
    within = None
    if minutes and sla_min is not None:
        within = round(sum(1 for m in minutes if m <= sla_min) / len(minutes), 4)
    return EscalationStats(
        available=True,
        opened=count_in(t.c.opened_at),
        acknowledged=count_in(t.c.acknowledged_at),
        resolved=count_in(t.c.resolved_at),
        ack_p50_min=None if p50 is None else round(p50, 1),
        ack_p90_min=None if p90 is None else round(p90, 1),
        ack_sla_min=sla_min,
        within_sla=within,
    )
