"""``brand_query_state``: the fingerprint of each brand's matching config when stored mentions
were last matched against it (by ingest or ``earful mentions rematch``).

``earful run`` compares it with the current config on start-up and on every reload: a brand
whose fingerprint changed (queries, exclusions, aliases, ``track``, the sources allowed to match
it) has its stored mentions re-matched (``run.rematch``). The caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Session, SQLModel, col, delete, select

from earful.store.mentions import conflict_insert
from earful.store.types import utc_column


class BrandQueryState(SQLModel, table=True):
    __tablename__ = "brand_query_state"

    brand: str = Field(primary_key=True, max_length=200)
    fingerprint: str = Field(max_length=64)
    matched_at: datetime = Field(sa_column=utc_column(nullable=False))


def stored_fingerprints(session: Session) -> dict[str, str]:
    """Brand name -> fingerprint, for every brand recorded."""
    return {row.brand: row.fingerprint for row in session.exec(select(BrandQueryState))}


def save_fingerprints(session: Session, *, fingerprints: dict[str, str], now: datetime) -> None:
    """Record ``fingerprints`` (brand -> fingerprint) as matched at ``now`` (an upsert: two
    processes recording at once leave one row per brand)."""
    if not fingerprints:
        return
    rows = [{"brand": b, "fingerprint": f, "matched_at": now} for b, f in fingerprints.items()]
    table = BrandQueryState.__table__  # type: ignore[attr-defined]
    stmt = conflict_insert(session, table)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["brand"],
            set_={"fingerprint": stmt.excluded.fingerprint, "matched_at": stmt.excluded.matched_at},
        ),
        rows,
    )


def forget_fingerprints(session: Session, *, brands: list[str]) -> None:
    """Drop the rows of brands no longer configured (their links are left as they are)."""
    if brands:
        session.exec(delete(BrandQueryState).where(col(BrandQueryState.brand).in_(brands)))
