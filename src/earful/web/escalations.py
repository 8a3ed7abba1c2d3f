"""Escalation pages: the queue, one escalation with its post, reasons, curve and timeline, and
the POST forms that act on it (``earful.escalation.lifecycle`` does the work).

Routes: ``GET /escalations`` (``?status=active|open|acknowledged|resolved|dismissed|all``),
``GET /escalations/{id}``, ``POST /escalations/{id}/{acknowledge|resolve|dismiss|assign}``,
``GET /incidents/{id}`` (every escalation of the incident of escalation ``id``, and the posts
of its story). The JSON API (``/api/escalations``) is ``earful.web.api.escalations``.

Acting needs the lead role (analysts get 403); the signed-in user's name is the ``actor``, so
``acknowledged_by`` and the timeline name a person. An assignment is an ``assigned`` event on
the timeline (``detail`` = the assignee); the owner shown is the latest assignee, else whoever
acknowledged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from earful.clock import Clock
from earful.config.models import AppConfig
from earful.digest.data import safe_link
from earful.escalation.lifecycle import (
    EscalationStateError,
    acknowledge,
    add_event,
    dismiss,
    get_escalation,
    load_reasons,
    resolve,
    why_text,
)
from earful.store.db import run_in_transaction
from earful.store.escalations import (
    STATUS_CHOICES,
    Escalation,
    EscalationEvent,
    statuses_named,
)
from earful.store.models import EngagementSnapshot, Mention
from earful.store.users import list_users
from earful.web.auth import check_csrf, require
from earful.web.curve import Curve, engagement_curve
from earful.web.pages import PageError, read_form, render

logger = logging.getLogger(__name__)

QUEUE_LIMIT = 200
ACTIONS = ("acknowledge", "resolve", "dismiss", "assign")


@dataclass(frozen=True, slots=True)
class QueueRow:
    id: int
    brand: str
    level: int
    risk: float
    status: str
    opened_at: datetime
    sla_left_min: int | None  # negative: overdue
    owner: str | None
    source: str | None
    excerpt: str
    why: str


def sla_left(esc: Escalation, now: datetime) -> int | None:
    """Whole minutes until the SLA is due (negative when overdue); None without a clock."""
    if esc.sla_due_at is None or esc.status != "open":
        return None
    return int((esc.sla_due_at - now).total_seconds() // 60)


def _owners(session: Session, ids: list[int]) -> dict[int, str]:
    """Latest assignee per escalation id."""
    if not ids:
        return {}
    rows = session.exec(
        select(EscalationEvent)
        .where(col(EscalationEvent.escalation_id).in_(ids), EscalationEvent.kind == "assigned")
        .order_by(col(EscalationEvent.at), col(EscalationEvent.id))
    ).all()
    return {r.escalation_id: r.detail or "" for r in rows}


def _status_filter(status: str) -> tuple[str, ...]:
    statuses = statuses_named(status)
    if statuses is None:
        raise PageError(400, "Unknown status", f"Use one of {', '.join(STATUS_CHOICES)}.")
    return statuses


def queue(session: Session, *, status: str, now: datetime) -> list[QueueRow]:
    rows = session.exec(
        select(Escalation)
        .where(col(Escalation.status).in_(_status_filter(status)))
        .order_by(col(Escalation.level).desc(), col(Escalation.opened_at).desc())
        .limit(QUEUE_LIMIT)
    ).all()
    ids = [e.mention_id for e in rows if e.mention_id is not None]
    mentions = {m.id: m for m in session.exec(select(Mention).where(col(Mention.id).in_(ids)))}
    owners = _owners(session, [e.id for e in rows if e.id is not None])
    out = []
    for esc in rows:
        assert esc.id is not None
        mention = mentions.get(esc.mention_id) if esc.mention_id is not None else None
        out.append(
            QueueRow(
                id=esc.id,
                brand=esc.brand,
                level=esc.level,
                risk=esc.risk,
                status=esc.status,
                opened_at=esc.opened_at,
                sla_left_min=sla_left(esc, now),
                owner=owners.get(esc.id) or esc.acknowledged_by,
                source=esc.source,
                excerpt=(mention.text[:280] if mention else "") or "",
                why=why_text(load_reasons(esc)),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class EscalationView:
    esc: Escalation
    mention: Mention | None
    link: str | None
    reasons: list[dict[str, object]]
    curve: Curve | None
    events: list[EscalationEvent]
    owner: str | None
    sla_left_min: int | None
    story: list[Mention]
    people: list[str]


def story_mentions(session: Session, mention: Mention | None) -> list[Mention]:
    """Other stored posts of the same story (the same canonical URL, across sources)."""
    if mention is None or mention.story_id is None:
        return []
    return list(
        session.exec(
            select(Mention)
            .where(Mention.story_id == mention.story_id, Mention.id != mention.id)
            .order_by(col(Mention.published_at).desc())
            .limit(50)
        ).all()
    )


def escalation_view(session: Session, esc_id: int, *, now: datetime) -> EscalationView:
    esc = session.get(Escalation, esc_id)
    if esc is None:
        raise PageError(404, "Unknown escalation", f"There is no escalation #{esc_id}.")
    mention = session.get(Mention, esc.mention_id) if esc.mention_id is not None else None
    snapshots = (
        session.exec(
            select(EngagementSnapshot).where(EngagementSnapshot.mention_id == mention.id)
        ).all()
        if mention is not None
        else []
    )
    events = list(
        session.exec(
            select(EscalationEvent)
            .where(EscalationEvent.escalation_id == esc_id)
            .order_by(col(EscalationEvent.at), col(EscalationEvent.id))
        ).all()
    )
    assigned = [e.detail for e in events if e.kind == "assigned" and e.detail]
    reasons = sorted(load_reasons(esc), key=lambda r: -float(str(r.get("contribution", 0))))
    return EscalationView(
        esc=esc,
        mention=mention,
        link=safe_link(mention.url) if mention else None,
        reasons=reasons,
        curve=engagement_curve(snapshots),
        events=events,
        owner=assigned[-1] if assigned else esc.acknowledged_by,
        sla_left_min=sla_left(esc, now),
        story=story_mentions(session, mention),
        people=[u.name for u in list_users(session)],
    )


def act(
    session: Session, esc_id: int, action: str, form: dict[str, str], *, actor: str, now: datetime
) -> None:
    """Run one lifecycle action for ``actor`` (EscalationStateError when the state forbids)."""
    note = form.get("note", "").strip()[:2000] or None
    if action == "acknowledge":
        acknowledge(session, esc_id, now=now, actor=actor)
    elif action == "resolve":
        resolve(session, esc_id, now=now, actor=actor, note=note)
    elif action == "dismiss":
        if note is None:
            raise PageError(
                400, "Say why", "Dismissing needs a reason (it counts as a false alarm)."
            )
        dismiss(session, esc_id, now=now, actor=actor, note=note)
    elif action == "assign":
        who = form.get("assignee", "").strip()[:100]
        esc = get_escalation(session, esc_id)
        add_event(session, esc, "assigned", now, level=esc.level, actor=actor, detail=who or None)
    else:
        raise PageError(404, "Unknown action")


def make_escalation_router(*, engine: Engine, config: AppConfig, clock: Clock) -> APIRouter:
    router = APIRouter()

    @router.get("/escalations", response_class=HTMLResponse)
    def escalation_queue(request: Request, status: str = "active") -> Response:
        now = clock.now()
        rows = run_in_transaction(engine, lambda s: queue(s, status=status, now=now))
        return render(
            request,
            "escalations.html",
            rows=rows,
            status=status,
            statuses=STATUS_CHOICES,
        )

    @router.get("/escalations/{esc_id}", response_class=HTMLResponse)
    def escalation_page(request: Request, esc_id: int) -> Response:
        now = clock.now()
        view = run_in_transaction(engine, lambda s: escalation_view(s, esc_id, now=now))
        return render(request, "escalation.html", v=view)

    @router.post("/escalations/{esc_id}/{action}")
    async def escalation_action(request: Request, esc_id: int, action: str) -> Response:
        if action not in ACTIONS:
            raise PageError(404, "Unknown action")
        form = await read_form(request)
        check_csrf(request, form)
        user = require(request, "lead")
        now = clock.now()
        try:
            run_in_transaction(
                engine, lambda s: act(s, esc_id, action, form, actor=user.name, now=now)
            )
        except EscalationStateError as exc:
            raise PageError(409, "Cannot do that now", str(exc)) from exc
        logger.info("%s: %s escalation %s", user.name, action, esc_id)
        return RedirectResponse(f"/escalations/{esc_id}", status_code=303)

    @router.get("/incidents/{esc_id}", response_class=HTMLResponse)
    def incident_page(request: Request, esc_id: int) -> Response:
        def read(session: Session) -> dict[str, Any]:
            esc = session.get(Escalation, esc_id)
            if esc is None:
                raise PageError(404, "Unknown incident", f"No escalation #{esc_id}.")
            escalations = session.exec(
                select(Escalation)
                .where(Escalation.brand == esc.brand, Escalation.incident_key == esc.incident_key)
                .order_by(col(Escalation.opened_at))
            ).all()
            mention = session.get(Mention, esc.mention_id) if esc.mention_id else None
            posts = ([mention] if mention else []) + story_mentions(session, mention)
            return {"esc": esc, "escalations": list(escalations), "posts": posts}

        return render(request, "incident.html", **run_in_transaction(engine, read))

    return router
