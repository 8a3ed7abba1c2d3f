"""Reading a brand's window members from the store: plain rows of only the columns grouping
and scoring read, the people's annotations joined in, snapshots up to the evaluation time.

Statements are built once (their construction costs more than the query on SQLite) and run on
the session's connection, outside the ORM. Pure reads: the caller owns the transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_
from sqlalchemy import select as select_columns
from sqlmodel import Session, col

from earful.escalation.lifecycle import ACTIVE
from earful.mention import Reading
from earful.risk.incidents import Member
from earful.store.annotations import EXCLUDED, MentionState
from earful.store.escalations import Escalation
from earful.store.models import EngagementSnapshot, Mention, MentionBrand

# Only the columns grouping and scoring read: plain rows, not ORM objects (the window syncs a
# batch's worth of rows on every event and a whole window on a rebuild).
MEMBER_COLUMNS: tuple[Any, ...] = (
    Mention.id,
    Mention.source,
    Mention.external_id,
    Mention.text,
    Mention.title,
    Mention.url,
    Mention.story_id,
    Mention.published_at,
    Mention.fetched_at,
    Mention.sentiment_compound,
    Mention.author_followers,
    col(MentionState.status).label("annotated_status"),
    col(MentionState.sentiment).label("annotated_sentiment"),
)
# A person's correction of the label, as the compound risk reads (the stored scores stay).
CORRECTED_COMPOUND = {"positive": 0.5, "neutral": 0.0}
SNAPSHOT_COLUMNS: tuple[Any, ...] = (
    EngagementSnapshot.mention_id,
    EngagementSnapshot.at,
    EngagementSnapshot.likes,
    EngagementSnapshot.shares,
    EngagementSnapshot.comments,
    EngagementSnapshot.views,
    EngagementSnapshot.author_followers,
)


# Built once (statement construction costs more than the query on SQLite): the per-event
# reads of the window sync, executed on the connection, outside the ORM.
MEMBERS_BY_ID = (
    select_columns(*MEMBER_COLUMNS)
    .select_from(Mention)
    .outerjoin(MentionState, col(MentionState.mention_id) == col(Mention.id))
    .where(col(Mention.id).in_(bindparam("ids", expanding=True)))
)
NEWEST_ANNOTATION = select_columns(func.max(col(MentionState.updated_at)))
ANNOTATED = select_columns(col(MentionState.mention_id), col(MentionState.updated_at)).where(
    col(MentionState.updated_at) > bindparam("after")
)
SNAPSHOTS_BY_ID = (
    select_columns(*SNAPSHOT_COLUMNS)
    .where(
        col(EngagementSnapshot.mention_id).in_(bindparam("ids", expanding=True)),
        col(EngagementSnapshot.at) <= bindparam("now"),
    )
    .order_by(col(EngagementSnapshot.id))
)
NEW_SNAPSHOTS = select_columns(
    col(EngagementSnapshot.id), col(EngagementSnapshot.mention_id)
).where(col(EngagementSnapshot.id) > bindparam("above"))
MAX_SNAPSHOT = select_columns(func.max(col(EngagementSnapshot.id)))
BRAND_IDS = select_columns(col(MentionBrand.mention_id)).where(
    col(MentionBrand.brand) == bindparam("brand"), col(MentionBrand.mention_id) > bindparam("above")
)
# Snapshots another transaction committed below the high-water mark (``risk.sync``).
LATE_SNAPSHOTS = select_columns(col(EngagementSnapshot.mention_id)).where(
    col(EngagementSnapshot.id) > bindparam("above"),
    col(EngagementSnapshot.id) <= bindparam("upto"),
    col(EngagementSnapshot.at) > bindparam("since"),
)
ACTIVE_ESCALATIONS = (
    select_columns(col(Escalation.brand), col(Escalation.incident_key), col(Escalation.mention_id))
    .where(
        col(Escalation.brand).in_(bindparam("brands", expanding=True)),
        col(Escalation.status).in_(ACTIVE),
    )
    .order_by(col(Escalation.opened_at), col(Escalation.id))
)
LINKS = select_columns(col(MentionBrand.mention_id), col(MentionBrand.brand)).where(
    col(MentionBrand.mention_id).in_(bindparam("ids", expanding=True)),
    col(MentionBrand.is_competitor).is_(False),
)


def links_above(floors: Mapping[str, int]) -> Any:
    """(mention id, brand) of each brand's links above its own id floor, in one statement (a
    brand seldom mentioned does not read a busy brand's links since its last sync)."""
    return select_columns(col(MentionBrand.mention_id), col(MentionBrand.brand)).where(
        or_(
            *(
                and_(col(MentionBrand.brand) == brand, col(MentionBrand.mention_id) > floor)
                for brand, floor in floors.items()
            )
        )
    )


def member_row(m: Any, snaps: Sequence[Reading]) -> Member:
    """A member from a row of ``MEMBER_COLUMNS`` (or a ``Mention``)."""
    assert m.id is not None
    compound = m.sentiment_compound
    corrected = getattr(m, "annotated_sentiment", None)
    if corrected == "negative":
        compound = min(compound, -0.5)
    elif corrected in CORRECTED_COMPOUND:
        compound = CORRECTED_COMPOUND[corrected]
    return Member(
        key=f"{m.source}:{m.external_id}",
        source=m.source,
        text=m.text,
        title=m.title,
        url=m.url,
        story_id=m.story_id,
        published_at=(m.published_at or m.fetched_at),
        compound=compound,
        author_followers=m.author_followers,
        mention_id=m.id,
        snapshots=snaps,
        excluded=getattr(m, "annotated_status", None) in EXCLUDED,
    )


def load_members(session: Session, brand: str, *, since: datetime, now: datetime) -> list[Member]:
    """The brand's mentions published, or with engagement updates, since ``since``."""
    rows = session.execute(
        select_columns(*MEMBER_COLUMNS)
        .select_from(Mention)
        .join(MentionBrand, col(MentionBrand.mention_id) == col(Mention.id))
        .outerjoin(MentionState, col(MentionState.mention_id) == col(Mention.id))
        .where(
            col(MentionBrand.brand) == brand,
            or_(
                col(MentionBrand.published_at) >= since,
                col(Mention.updated_at) >= since,
            ),
            col(MentionBrand.published_at) <= now,
        )
    ).all()
    return members_of(session, rows, now=now)


def load_members_by_id(session: Session, ids: Iterable[int], *, now: datetime) -> list[Member]:
    """The given mentions, with their snapshots up to ``now``."""
    wanted = sorted(set(ids))
    conn = session.connection()
    rows: list[Any] = []
    for start in range(0, len(wanted), 500):
        rows.extend(conn.execute(MEMBERS_BY_ID, {"ids": wanted[start : start + 500]}).all())
    return members_of(session, rows, now=now)


def members_of(session: Session, rows: Sequence[Any], *, now: datetime) -> list[Member]:
    ids = [m.id for m in rows if m.id is not None]
    snaps: dict[int, list[Reading]] = defaultdict(list)
    conn = session.connection()
    for start in range(0, len(ids), 500):
        params = {"ids": ids[start : start + 500], "now": now}
        for s in conn.execute(SNAPSHOTS_BY_ID, params).all():
            snaps[s.mention_id].append(Reading.of(s))
    return [member_row(m, snaps.get(m.id or 0, [])) for m in rows]


def max_snapshot_id(session: Session) -> int:
    return int(session.connection().execute(MAX_SNAPSHOT).scalar() or 0)


def brand_ids(session: Session, brand: str, *, above: int) -> list[int]:
    params = {"brand": brand, "above": above}
    return [int(i) for (i,) in session.connection().execute(BRAND_IDS, params)]
