"""Escalation tables: escalations, their event log, and the notification outbox.

Unique keys keep every write idempotent: one outbox row per (escalation, level, recipient,
round) — round 0 the alert that opened or raised the level, round n an update of that level in
the n-th ``update_throttle`` window after it — so a batch processed twice, or a worker killed
half-way, never notifies anyone twice.
Datetimes are UTC and read back timezone-aware (``store.types.UTCDateTime``).
Readers: :func:`list_escalations` (by status, newest first), :func:`incident_escalations`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint, text
from sqlmodel import Field, Session, SQLModel, col, select

from earful.store.types import utc_column

STATUSES = ("open", "acknowledged", "resolved", "dismissed")
STATUS_CHOICES = ("active", *STATUSES, "all")


def statuses_named(name: str) -> tuple[str, ...] | None:
    """The statuses a filter name stands for (``active``: open or acknowledged, ``all``, or
    one status); None for an unknown name (each caller words its own error)."""
    if name == "active":
        return ("open", "acknowledged")
    if name == "all":
        return STATUSES
    return (name,) if name in STATUSES else None


_ACTIVE_WHERE = text("status IN ('open', 'acknowledged')")


class Escalation(SQLModel, table=True):
    """One risky mention or incident put in front of people, with its lifecycle and SLA clock."""

    __tablename__ = "escalation"
    __table_args__ = (
        Index("ix_escalation_brand_opened", "brand", "opened_at"),
        Index("ix_escalation_status_sla", "status", "sla_due_at"),
        Index("ix_escalation_incident", "incident_key"),
        # The database, not a read-then-insert, keeps one active escalation per incident.
        Index(
            "uq_escalation_active_incident",
            "brand",
            "incident_key",
            unique=True,
            postgresql_where=_ACTIVE_WHERE,
            sqlite_where=_ACTIVE_WHERE,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    brand: str = Field(max_length=200)
    rule: str = Field(default="mention_risk", max_length=60)
    incident_key: str = Field(max_length=300)
    mention_id: int | None = Field(default=None, foreign_key="mention.id")
    source: str | None = Field(default=None, max_length=40)
    external_id: str | None = Field(default=None, max_length=500)
    level: int = 1
    risk: float = 0.0
    reasons: str = Field(default="[]", sa_type=Text)  # JSON list of {factor, contribution, detail}
    # The story when last opened, raised or updated: its posts and sources.
    posts: int = 1
    sources: int = 1
    status: str = Field(default="open", max_length=20)
    opened_at: datetime = Field(sa_column=utc_column(nullable=False))
    # When the first notification of this escalation was delivered (time to notify).
    notified_at: datetime | None = Field(default=None, sa_column=utc_column())
    level_changed_at: datetime | None = Field(default=None, sa_column=utc_column())
    sla_due_at: datetime | None = Field(default=None, sa_column=utc_column())
    acknowledged_at: datetime | None = Field(default=None, sa_column=utc_column())
    acknowledged_by: str | None = Field(default=None, max_length=200)
    resolved_at: datetime | None = Field(default=None, sa_column=utc_column())
    dismissed_at: datetime | None = Field(default=None, sa_column=utc_column())
    note: str | None = Field(default=None, sa_type=Text)


class EscalationEvent(SQLModel, table=True):
    """The timeline of one escalation: opened, raised, notified, acknowledged, resolved..."""

    __tablename__ = "escalation_event"
    __table_args__ = (Index("ix_escalation_event_esc", "escalation_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalation.id")
    at: datetime = Field(sa_column=utc_column(nullable=False))
    kind: str = Field(max_length=30)
    level: int | None = None
    actor: str | None = Field(default=None, max_length=200)
    detail: str | None = Field(default=None, sa_type=Text)


class Notification(SQLModel, table=True):
    """Outbox row: one message for one recipient at one level of one escalation.

    Status: pending -> sending -> sent; failures go back to pending with a later
    ``next_attempt_at`` until ``max_attempts``, then ``dead``. A row left in ``sending`` (the
    process died between send and commit) is re-sent with the same idempotency key only on
    channels that honour it, else marked ``unknown`` — never sent twice blindly.
    """

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint(
            "escalation_id", "level", "recipient", "round", name="uq_notification_esc_lvl_to_round"
        ),
        Index("ix_notification_status_next", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalation.id")
    level: int
    recipient: str = Field(max_length=300)
    # 0: the alert of this level; n > 0: an update, in the n-th throttle window after it.
    round: int = 0
    # The moment it describes: the risk then and, for an update, what changed.
    risk: float | None = None
    detail: str | None = Field(default=None, sa_type=Text)
    channel: str = Field(max_length=100)
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    next_attempt_at: datetime = Field(sa_column=utc_column(nullable=False))
    sending_since: datetime | None = Field(default=None, sa_column=utc_column())
    sent_at: datetime | None = Field(default=None, sa_column=utc_column())
    last_error: str | None = Field(default=None, sa_type=Text)
    idempotency_key: str = Field(max_length=100)


def list_escalations(
    session: Session, *, statuses: Sequence[str], limit: int = 200
) -> list[Escalation]:
    """Escalations in ``statuses``, newest opened first."""
    return list(
        session.exec(
            select(Escalation)
            .where(col(Escalation.status).in_(list(statuses)))
            .order_by(col(Escalation.opened_at).desc(), col(Escalation.id).desc())
            .limit(limit)
        ).all()
    )


def incident_escalations(session: Session, esc: Escalation) -> list[Escalation]:
    """Every escalation of ``esc``'s incident (same brand and incident key), oldest first."""
    return list(
        session.exec(
            select(Escalation)
            .where(Escalation.brand == esc.brand, Escalation.incident_key == esc.incident_key)
            .order_by(col(Escalation.opened_at), col(Escalation.id))
        ).all()
    )
