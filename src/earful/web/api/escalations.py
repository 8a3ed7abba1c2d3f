"""``/api/escalations`` and ``/api/incidents``: the queue, one escalation, acting on it.

* ``GET /api/escalations?status=active|open|acknowledged|resolved|dismissed|all`` (default
  active; ``limit`` ≤ 500) → a list, newest opened first.
* ``GET /api/escalations/{id}`` → the escalation with its owner, mention and timeline.
* ``POST /api/escalations/{id}/ack|resolve|dismiss|assign`` with an optional JSON body
  ``{"note", "reason", "user"}`` — what the page's forms do (``earful.web.escalations.act``
  over ``earful.escalation.lifecycle``), as the caller (``acknowledged_by``, the timeline);
  role lead. Dismiss needs a ``reason`` (or ``note``), assign a ``user``. 409 when the state
  forbids (resolving a dismissed escalation); acknowledging twice is a no-op.
* ``GET /api/incidents/{id}`` → every escalation of the incident of escalation ``id`` and
  the posts of its story.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.clock import Clock
from earful.escalation.lifecycle import EscalationStateError
from earful.store.db import run_in_transaction
from earful.store.escalations import (
    STATUS_CHOICES,
    Escalation,
    incident_escalations,
    list_escalations,
    statuses_named,
)
from earful.store.inbox import get_row
from earful.store.models import Mention
from earful.store.users import get_user
from earful.web.api.access import Lead, Reader
from earful.web.api.errors import ApiError
from earful.web.api.schemas import (
    EscalationAction,
    EscalationDetail,
    EscalationOut,
    IncidentOut,
    MentionOut,
    escalation_out,
    event_out,
    mention_out,
)
from earful.web.escalations import act, escalation_view, story_mentions

logger = logging.getLogger(__name__)

# API action -> the page form's action (``earful.web.escalations.ACTIONS``).
ACTIONS = {"ack": "acknowledge", "resolve": "resolve", "dismiss": "dismiss", "assign": "assign"}
MAX_LIMIT = 500


def _statuses(status: str) -> tuple[str, ...]:
    statuses = statuses_named(status)
    if statuses is None:
        raise ApiError(422, f"status: use one of {', '.join(STATUS_CHOICES)}", code="validation")
    return statuses


def _mention(session: Session, mention: Mention | None) -> MentionOut | None:
    row = get_row(session, mention.id) if mention is not None and mention.id else None
    return mention_out(row) if row is not None else None


def escalation_detail(session: Session, esc_id: int, *, now: datetime) -> EscalationDetail:
    """The escalation with its owner, mention and timeline (404 for an unknown id)."""
    view = escalation_view(session, esc_id, now=now)
    return EscalationDetail(
        **escalation_out(view.esc).model_dump(),
        owner=view.owner,
        mention=_mention(session, view.mention),
        events=[event_out(e) for e in view.events],
    )


def _form(action: str, body: EscalationAction, session: Session) -> dict[str, str]:
    """The page form's fields for ``action``, checked first so mistakes are 422s."""
    note = (body.reason or body.note or "").strip()
    if action == "dismiss" and not note:
        raise ApiError(422, "reason: dismissing needs a reason (it counts as a false alarm)")
    who = (body.user or "").strip()
    if action == "assign":
        if not who:
            raise ApiError(422, "user: say whom to assign")
        if get_user(session, name=who) is None:
            raise ApiError(422, f"user: no user {who!r}")
    return {"note": note, "assignee": who}


def make_escalations_api(*, engine: Engine, clock: Clock) -> APIRouter:
    router = APIRouter(tags=["escalations"])

    @router.get("/api/escalations", response_model=list[EscalationOut])
    def list_all(
        _: Reader,
        status: Annotated[str, Query(description="active, all or one status")] = "active",
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 200,
    ) -> list[EscalationOut]:
        statuses = _statuses(status)
        rows = run_in_transaction(
            engine, lambda s: list_escalations(s, statuses=statuses, limit=limit)
        )
        return [escalation_out(e) for e in rows]

    @router.get("/api/escalations/{id}", response_model=EscalationDetail)
    def get_one(_: Reader, id: int) -> EscalationDetail:
        now = clock.now()
        return run_in_transaction(engine, lambda s: escalation_detail(s, id, now=now))

    def perform(
        user_name: str, esc_id: int, action: str, body: EscalationAction | None
    ) -> EscalationDetail:
        now = clock.now()

        def write(session: Session) -> EscalationDetail:
            if session.get(Escalation, esc_id) is None:
                raise ApiError(404, f"no escalation {esc_id}")
            form = _form(action, body or EscalationAction(), session)
            act(session, esc_id, ACTIONS[action], form, actor=user_name, now=now)
            session.flush()
            return escalation_detail(session, esc_id, now=now)

        try:
            detail = run_in_transaction(engine, write)
        except EscalationStateError as exc:
            status = 404 if exc.reason == "not_found" else 409
            raise ApiError(status, str(exc)) from exc
        logger.info("%s: %s escalation %s (API)", user_name, action, esc_id)
        return detail

    def action_route(action: str) -> None:
        @router.post(
            f"/api/escalations/{{id}}/{action}",
            response_model=EscalationDetail,
            name=f"{action}_escalation",
            summary=f"{ACTIONS[action].capitalize()} an escalation",
        )
        def run(user: Lead, id: int, body: EscalationAction | None = None) -> EscalationDetail:
            return perform(user.name, id, action, body)

    for action in ACTIONS:
        action_route(action)

    @router.get("/api/incidents/{id}", response_model=IncidentOut)
    def incident(_: Reader, id: int) -> IncidentOut:
        esc_id = id

        def read(session: Session) -> IncidentOut:
            esc = session.get(Escalation, esc_id)
            if esc is None:
                raise ApiError(404, f"no escalation {esc_id}")
            mention = session.get(Mention, esc.mention_id) if esc.mention_id else None
            posts = ([mention] if mention else []) + story_mentions(session, mention)
            rows = [get_row(session, m.id) for m in posts if m.id is not None]
            return IncidentOut(
                id=esc_id,
                brand=esc.brand,
                incident=esc.incident_key,
                escalations=[escalation_out(e) for e in incident_escalations(session, esc)],
                posts=[mention_out(r) for r in rows if r is not None],
            )

        return run_in_transaction(engine, read)

    return router
