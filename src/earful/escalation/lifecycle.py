"""Escalation rules and lifecycle: who hears about a risky post, when, and what happens next.

Contract: functions take the caller's session and never commit; time comes in as ``now``
(from the injected clock). Lifecycle::

    open ──ack──> acknowledged ──resolve──> resolved
      │                                        ^
      └──────────────resolve───────────────────┘
      └──dismiss──> dismissed  (a false alarm: counted per rule, for precision)

* A candidate (a mention or an incident scored by ``risk``) at or above a level threshold opens
  an escalation at that level, unless its incident already has one (then it may only *raise*
  the level), its incident closed less than ``cooldown`` ago, or ``max_per_hour`` new
  escalations were opened in the past hour.
* An active escalation belongs to its incident and follows its story: a candidate at the same
  level whose risk rose by ``update_risk_step``, whose story's posts grew by
  ``update_posts_growth`` or that reached a new source *updates* it (event ``updated``: posts,
  sources, current risk) — it never opens a second one.
* Opening or raising to a level enqueues one outbox row per route recipient of that level
  and of every level it skipped (unique per escalation, level, recipient and round): who is
  told depends on the level reached, never on the path — an incident opened at level 2 by a
  worker that saw its story at once pages what one opened at 1 and raised to 2 does. An
  update enqueues one more round for that level, saying what changed, unless the level was
  notified less than ``update_throttle`` ago; the round is the throttle window it falls in,
  so two workers updating at once make one row.
  During quiet hours, levels below ``override_level`` are held until quiet hours end.
* :func:`check_sla` raises every unacknowledged escalation whose SLA passed to the next level
  (re-sent to that level's recipients) — on the clock, so it runs the same in replays and tests.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from earful.clock import ensure_utc, isoformat_z
from earful.config.digest import parse_hhmm
from earful.config.escalation import EscalationConfig, QuietHours
from earful.config.risk import RiskConfig
from earful.errors import EarfulError
from earful.store.escalations import Escalation, EscalationEvent, Notification
from earful.store.mentions import conflict_insert

if TYPE_CHECKING:  # risk scores, escalation only stores the reasons it is handed
    from earful.risk.scoring import Reason

logger = logging.getLogger(__name__)

ACTIVE = ("open", "acknowledged")


class EscalationStateError(EarfulError):
    """An action that the escalation's state does not allow (e.g. acknowledging a resolved one)."""

    reason = "escalation_state"


@dataclass(frozen=True, slots=True)
class Candidate:
    """Something risk wants people to look at."""

    brand: str
    incident_key: str
    risk: float
    reasons: Sequence[Reason]
    rule: str = "mention_risk"
    mention_id: int | None = None
    source: str | None = None
    external_id: str | None = None
    posts: int = 1  # the story's posts and sources at this evaluation
    sources: int = 1


@dataclass(slots=True)
class Decision:
    action: str  # opened | raised | updated | suppressed | none
    escalation: Escalation | None = None
    level: int = 0
    why: str = ""
    notifications: list[Notification] = field(default_factory=list)


# -- quiet hours -------------------------------------------------------------------------------


def quiet_until(now: datetime, quiet: QuietHours | None) -> datetime | None:
    """When quiet hours end, if ``now`` is inside them; else None."""
    if quiet is None:
        return None
    zone = ZoneInfo(quiet.timezone)
    local = now.astimezone(zone)
    start, end = parse_hhmm(quiet.start), parse_hhmm(quiet.end)
    t = local.timetz().replace(tzinfo=None)
    if start == end:
        return None
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + timedelta(days=1)
    end_local = datetime.combine(end_day, end, tzinfo=zone)
    return end_local.astimezone(UTC)


# -- opening and raising -----------------------------------------------------------------------


def reasons_json(reasons: Sequence[Reason]) -> str:
    return json.dumps([r.to_dict() for r in reasons], ensure_ascii=False)


def load_reasons(esc: Escalation) -> list[dict[str, object]]:
    data = json.loads(esc.reasons or "[]")
    return data if isinstance(data, list) else []


def why_text(reasons: Sequence[dict[str, Any]], n: int = 3) -> str:
    """The ``n`` largest contributing reasons (stored JSON form) in words, for people."""
    top = sorted(reasons, key=lambda r: -float(r.get("contribution", 0)))[:n]
    return "; ".join(str(r.get("detail", "")) for r in top if float(r.get("contribution", 0)))


def add_event(
    session: Session,
    esc: Escalation,
    kind: str,
    now: datetime,
    *,
    level: int | None = None,
    actor: str | None = None,
    detail: str | None = None,
) -> None:
    assert esc.id is not None
    session.add(
        EscalationEvent(
            escalation_id=esc.id, at=now, kind=kind, level=level, actor=actor, detail=detail
        )
    )


def _sla_due(esc_level: int, now: datetime, config: EscalationConfig) -> datetime | None:
    level = config.levels.get(esc_level)
    return now + level.sla if level is not None else None


def enqueue_notifications(
    session: Session,
    esc: Escalation,
    level: int,
    *,
    now: datetime,
    config: EscalationConfig,
    round: int = 0,
    detail: str | None = None,
) -> list[Notification]:
    """One outbox row per recipient routed for this brand and level (``round`` 0: the level's
    alert; n > 0: an update saying ``detail``), stating the escalation's current risk;
    existing rows are kept (the unique key makes a second call a no-op). Quiet hours hold it
    when the *escalation's* level is below ``override_level``."""
    assert esc.id is not None
    held = quiet_until(now, config.quiet_hours)
    urgent = max(level, esc.level)
    if held is not None and config.quiet_hours and urgent >= config.quiet_hours.override_level:
        held = None
    table = Notification.__table__  # type: ignore[attr-defined]
    rows: list[Notification] = []
    for route in config.routes_for(esc.brand, level):
        recipient = f"{route.channel}:{route.to}"
        # ON CONFLICT, not read-then-insert: two workers enqueueing the same (escalation,
        # level, recipient) at once make one row.
        stmt = (
            conflict_insert(session, table)
            .values(
                escalation_id=esc.id,
                level=level,
                recipient=recipient,
                round=round,
                risk=esc.risk,
                detail=detail,
                channel=route.channel,
                status="pending",
                attempts=0,
                created_at=now,
                next_attempt_at=held or now,
                idempotency_key="pending",
            )
            .on_conflict_do_nothing(index_elements=["escalation_id", "level", "recipient", "round"])
            .returning(table.c.id)
        )
        new_id = session.connection().execute(stmt).scalar_one_or_none()
        if new_id is None:
            continue
        row = session.get(Notification, new_id)
        assert row is not None
        rows.append(row)
    for row in rows:
        # Stable and unique: derived from the row's own id once it has one.
        row.idempotency_key = f"earful-n{row.id}-e{esc.id}-l{level}" + (
            f"-u{round}" if round else ""
        )
        session.add(row)
    if held is not None and rows:
        add_event(session, esc, "held", now, level=level, detail=f"quiet hours until {held}")
        if round:  # an update: the level's SLA clock already runs
            return rows
        # Nobody can acknowledge what they were not told: the SLA starts when quiet hours end.
        due = _sla_due(esc.level, held, config)
        if due is not None and esc.status == "open":
            esc.sla_due_at = due
            session.add(esc)
    return rows


def _opened_last_hour(session: Session, now: datetime) -> int:
    count = session.exec(
        select(func.count())
        .select_from(Escalation)
        .where(col(Escalation.opened_at) > now - timedelta(hours=1))
    ).one()
    return int(count)


def escalate(
    session: Session,
    cand: Candidate,
    *,
    now: datetime,
    risk_config: RiskConfig,
    config: EscalationConfig,
) -> Decision:
    """Open, raise or suppress an escalation for ``cand`` (see the module docstring)."""
    level = risk_config.level_for(cand.brand, cand.risk)
    level = min(level, config.max_level())
    if level <= 0:
        return Decision("none", why="below level 1")
    latest = _latest(session, cand)
    if latest is not None and latest.status in ACTIVE:
        return _raise(session, latest, cand, level, now=now, config=config)
    if latest is not None:
        closed = latest.resolved_at or latest.dismissed_at or latest.opened_at
        if now - closed < config.cooldown:
            return Decision("suppressed", latest, level, "incident in cooldown")
    if _opened_last_hour(session, now) >= config.max_per_hour:
        logger.warning("escalation cap reached: %s not opened", cand.incident_key)
        return Decision("suppressed", None, level, "hourly cap reached")
    esc = Escalation(
        brand=cand.brand,
        rule=cand.rule,
        incident_key=cand.incident_key,
        mention_id=cand.mention_id,
        source=cand.source,
        external_id=cand.external_id,
        level=level,
        risk=cand.risk,
        reasons=reasons_json(cand.reasons),
        posts=cand.posts,
        sources=cand.sources,
        status="open",
        opened_at=now,
        level_changed_at=now,
        sla_due_at=_sla_due(level, now, config),
    )
    try:
        with session.begin_nested():
            session.add(esc)
            session.flush()
    except IntegrityError:
        # Another worker opened this incident's escalation first (the partial unique index
        # uq_escalation_active_incident): raise that one instead of opening a second.
        current = _latest(session, cand)
        if current is None or current.status not in ACTIVE:
            raise
        return _raise(session, current, cand, level, now=now, config=config)
    add_event(session, esc, "opened", now, level=level, detail=_moment(cand))
    rows = _enqueue_up_to(session, esc, 0, level, now=now, config=config)
    logger.info("escalation %s opened at level %s for %s", esc.id, level, cand.brand)
    return Decision("opened", esc, level, f"risk {cand.risk:.0f}", rows)


def _latest(session: Session, cand: Candidate) -> Escalation | None:
    """The incident's newest escalation; an active one is locked (``FOR UPDATE`` where the
    database has it) so concurrent raises of one escalation run one after the other."""
    where = (Escalation.incident_key == cand.incident_key, Escalation.brand == cand.brand)
    active = session.exec(
        select(Escalation)
        .where(*where, col(Escalation.status).in_(ACTIVE))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if active is not None:
        return active
    return session.exec(
        select(Escalation).where(*where).order_by(col(Escalation.opened_at).desc())
    ).first()


def _moment(cand: Candidate) -> str:
    return f"risk {cand.risk:.0f}; {_story(cand.posts, cand.sources)}"


def _story(posts: int, sources: int) -> str:
    return f"{posts} post{'s' * (posts != 1)} on {sources} source{'s' * (sources != 1)}"


def _raise(
    session: Session,
    esc: Escalation,
    cand: Candidate,
    level: int,
    *,
    now: datetime,
    config: EscalationConfig,
) -> Decision:
    """An active escalation of the candidate's incident: raise it if ``level`` is higher,
    else update it if its story moved enough (see :func:`_update`)."""
    if level <= esc.level:
        return _update(session, esc, cand, now=now, config=config)
    before = esc.level
    esc.level = level
    esc.rule = cand.rule
    esc.risk = cand.risk
    esc.reasons = reasons_json(cand.reasons)
    esc.posts, esc.sources = cand.posts, cand.sources
    esc.level_changed_at = now
    esc.sla_due_at = _sla_due(level, now, config) if esc.status == "open" else None
    session.add(esc)
    add_event(session, esc, "raised", now, level=level, detail=_moment(cand))
    rows = _enqueue_up_to(session, esc, before, level, now=now, config=config)
    return Decision("raised", esc, level, f"risk {cand.risk:.0f}", rows)


def _enqueue_up_to(
    session: Session,
    esc: Escalation,
    before: int,
    level: int,
    *,
    now: datetime,
    config: EscalationConfig,
) -> list[Notification]:
    """The alerts of every level above ``before`` up to ``level`` (a skipped level's people
    hear of it too, so the rows depend on the level reached, not on the path there)."""
    rows: list[Notification] = []
    for lvl in range(before + 1, level + 1):
        rows += enqueue_notifications(session, esc, lvl, now=now, config=config)
    return rows


def changes(esc: Escalation, cand: Candidate, config: EscalationConfig) -> list[str]:
    """What moved since the escalation was last opened, raised or updated, in words; empty
    when nothing moved enough to tell anyone (risk up by less than ``update_risk_step``, posts
    up by less than ``update_posts_growth``, no new source)."""
    out: list[str] = []
    if cand.risk >= esc.risk + config.update_risk_step:
        out.append(f"risk {esc.risk:.0f} → {cand.risk:.0f}")
    if cand.posts >= esc.posts * (1 + config.update_posts_growth) and cand.posts > esc.posts:
        out.append(f"posts {esc.posts} → {cand.posts}")
    if cand.sources > esc.sources:
        out.append(f"sources {esc.sources} → {cand.sources}")
    return out


def _update(
    session: Session,
    esc: Escalation,
    cand: Candidate,
    *,
    now: datetime,
    config: EscalationConfig,
) -> Decision:
    """Same level: record an ``updated`` event (posts, sources, current risk) when the story
    moved, and notify the level's recipients once per ``update_throttle``."""
    moved = changes(esc, cand, config)
    if not moved:
        return Decision("none", esc, esc.level, "already escalated at this level")
    what = "; ".join(moved)
    esc.rule = cand.rule
    esc.risk = cand.risk
    esc.reasons = reasons_json(cand.reasons)
    esc.posts, esc.sources = cand.posts, cand.sources
    session.add(esc)
    add_event(session, esc, "updated", now, level=esc.level, detail=f"{_moment(cand)} ({what})")
    rows: list[Notification] = []
    round_ = _update_round(session, esc, now=now, config=config)
    if round_:
        rows = enqueue_notifications(
            session, esc, esc.level, now=now, config=config, round=round_, detail=what
        )
    return Decision("updated", esc, esc.level, what, rows)


def _update_round(
    session: Session, esc: Escalation, *, now: datetime, config: EscalationConfig
) -> int:
    """The round of an update notification at ``now``: the ``update_throttle`` window since
    the level changed that it falls in; 0 (none) while the level was notified less than
    ``update_throttle`` ago."""
    assert esc.id is not None
    last = session.exec(
        select(func.max(Notification.created_at)).where(
            Notification.escalation_id == esc.id, Notification.level == esc.level
        )
    ).one()
    if last is not None and now - ensure_utc(last) < config.update_throttle:
        return 0
    since = ensure_utc(esc.level_changed_at or esc.opened_at)
    return max(1, int((now - since) / config.update_throttle))


def check_sla(session: Session, *, now: datetime, config: EscalationConfig) -> list[Escalation]:
    """Raise open escalations whose SLA passed without acknowledgement; returns those raised."""
    due = session.exec(
        select(Escalation).where(
            Escalation.status == "open",
            col(Escalation.sla_due_at).is_not(None),
            col(Escalation.sla_due_at) <= now,
        )
    ).all()
    raised: list[Escalation] = []
    for esc in due:
        if esc.level >= config.max_level():
            esc.sla_due_at = None
            session.add(esc)
            add_event(session, esc, "sla_missed", now, level=esc.level, detail="top level")
            continue
        esc.level += 1
        esc.level_changed_at = now
        esc.sla_due_at = _sla_due(esc.level, now, config)
        session.add(esc)
        add_event(session, esc, "sla_raised", now, level=esc.level, detail="not acknowledged")
        enqueue_notifications(session, esc, esc.level, now=now, config=config)
        raised.append(esc)
    return raised


# -- lifecycle ---------------------------------------------------------------------------------


def get_escalation(session: Session, esc_id: int) -> Escalation:
    esc = session.get(Escalation, esc_id)
    if esc is None:
        raise EscalationStateError(f"no escalation {esc_id}", reason="not_found")
    return esc


def acknowledge(session: Session, esc_id: int, *, now: datetime, actor: str) -> Escalation:
    """open -> acknowledged (stops the SLA clock). Acknowledging twice is a no-op."""
    esc = get_escalation(session, esc_id)
    if esc.status == "acknowledged":
        return esc
    if esc.status != "open":
        raise EscalationStateError(f"escalation {esc_id} is {esc.status}")
    esc.status = "acknowledged"
    esc.acknowledged_at = now
    esc.acknowledged_by = actor[:200]
    esc.sla_due_at = None
    session.add(esc)
    add_event(session, esc, "acknowledged", now, level=esc.level, actor=actor)
    return esc


def resolve(
    session: Session, esc_id: int, *, now: datetime, actor: str, note: str | None = None
) -> Escalation:
    esc = _active(session, esc_id)
    if esc.acknowledged_at is None:
        esc.acknowledged_at = now
        esc.acknowledged_by = actor[:200]
    esc.resolved_at = now
    return _close(session, esc, "resolved", now=now, actor=actor, note=note)


def dismiss(
    session: Session, esc_id: int, *, now: datetime, actor: str, note: str | None = None
) -> Escalation:
    """A false alarm: closed, and counted against its rule's precision."""
    esc = _active(session, esc_id)
    esc.dismissed_at = now
    return _close(session, esc, "dismissed", now=now, actor=actor, note=note)


def _active(session: Session, esc_id: int) -> Escalation:
    """The escalation, if it is still open or acknowledged (else EscalationStateError)."""
    esc = get_escalation(session, esc_id)
    if esc.status not in ACTIVE:
        raise EscalationStateError(f"escalation {esc_id} is {esc.status}")
    return esc


def _close(
    session: Session, esc: Escalation, status: str, *, now: datetime, actor: str, note: str | None
) -> Escalation:
    """Move an active escalation to ``status`` (resolved or dismissed), its time stamped by
    the caller: the SLA clock stops, the note is kept, the event recorded."""
    esc.status = status
    esc.sla_due_at = None
    esc.note = note or esc.note
    session.add(esc)
    add_event(session, esc, status, now, level=esc.level, actor=actor, detail=note)
    return esc


def rule_precision(session: Session) -> dict[str, dict[str, float | int | None]]:
    """Per rule: escalations closed, dismissed as false alarms, and precision (1 - dismissed
    share of closed ones; None before any closed)."""
    rows = session.exec(select(Escalation.rule, Escalation.status)).all()
    out: dict[str, dict[str, float | int | None]] = {}
    for rule, status in rows:
        stats = out.setdefault(rule, {"total": 0, "closed": 0, "dismissed": 0})
        stats["total"] = int(stats["total"] or 0) + 1
        if status in ("resolved", "dismissed"):
            stats["closed"] = int(stats["closed"] or 0) + 1
        if status == "dismissed":
            stats["dismissed"] = int(stats["dismissed"] or 0) + 1
    for stats in out.values():
        closed = int(stats["closed"] or 0)
        stats["precision"] = round(1 - int(stats["dismissed"] or 0) / closed, 3) if closed else None
    return out


def durations(esc: Escalation) -> dict[str, float | None]:
    """Minutes from opening to first delivery, acknowledgement and resolution."""

    def minutes(at: datetime | None) -> float | None:
        if at is None:
            return None
        return round((at - esc.opened_at).total_seconds() / 60, 1)

    return {
        "notify_min": minutes(esc.notified_at),
        "ack_min": minutes(esc.acknowledged_at),
        "resolve_min": minutes(esc.resolved_at),
    }


def escalation_to_dict(esc: Escalation) -> dict[str, object]:
    def iso(at: datetime | None) -> str | None:

        return isoformat_z(at) if at else None

    return {
        "id": esc.id,
        "brand": esc.brand,
        "rule": esc.rule,
        "incident": esc.incident_key,
        "status": esc.status,
        "level": esc.level,
        "risk": esc.risk,
        "source": esc.source,
        "external_id": esc.external_id,
        "mention_id": esc.mention_id,
        "opened_at": iso(esc.opened_at),
        "notified_at": iso(esc.notified_at),
        "acknowledged_at": iso(esc.acknowledged_at),
        "acknowledged_by": esc.acknowledged_by,
        "resolved_at": iso(esc.resolved_at),
        "dismissed_at": iso(esc.dismissed_at),
        "sla_due_at": iso(esc.sla_due_at),
        "reasons": load_reasons(esc),
        **durations(esc),
    }
