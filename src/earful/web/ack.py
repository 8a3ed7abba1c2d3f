"""Acknowledge links: ``GET`` (and ``HEAD``) of ``/ack/{token}`` only shows; ``POST`` acknowledges.

Mail and chat link scanners (Safe Links, Proofpoint, Slack's unfurler) fetch every URL in a
message; if a fetch acknowledged, a scanner would stop the SLA clock unseen. So a ``GET`` shows
the escalation (post, reasons) and a form, and never writes; the form's ``POST`` acknowledges.
The signed token is the authority (no login); the form carries a check value derived from the
token with the signing key, so only a page Earful rendered can submit it.

Every claim of a token is checked against the database: the escalation exists and the
notification it names was sent for that escalation at that level. Answers: 200 confirm page /
acknowledged / already handled; 409 link already used; 410 expired; 403 tampered or claims that
do not match; 404 unknown escalation.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.clock import Clock
from earful.escalation.lifecycle import (
    EscalationStateError,
    acknowledge,
    add_event,
    load_reasons,
    why_text,
)
from earful.escalation.links import AckClaim, AckLinkError, verify_token
from earful.store.db import run_in_transaction
from earful.store.escalations import Escalation, EscalationEvent, Notification
from earful.store.models import Mention
from earful.text import terminal_safe
from earful.web.pages import environment

logger = logging.getLogger(__name__)


def _render(name: str, status: int = 200, **context: object) -> HTMLResponse:
    """The confirm and answer pages are open (the token is the authority): no user, no nav."""
    html = environment().get_template(name).render(user=None, csrf="", path="", **context)
    return HTMLResponse(html, status_code=status)


def _page(status: int, title: str, detail: str) -> HTMLResponse:
    return _render("message.html", status, title=title, detail=detail)


def form_check(key: str, token: str) -> str:
    """The value the confirm form must post back for ``token``."""
    return hmac.new(key.encode(), b"ack-form:" + token.encode(), hashlib.sha256).hexdigest()


def _claimed(session: Session, claim: AckClaim) -> Escalation | HTMLResponse:
    """The escalation a claim names, or the page refusing it."""
    esc = session.get(Escalation, claim.escalation_id)
    if esc is None:
        return _page(404, "Unknown escalation", "It may have been deleted.")
    row = session.get(Notification, claim.notification_id)
    if row is None or row.escalation_id != esc.id or row.level != claim.level:
        return _page(403, "Invalid link", "This link does not match a notification Earful sent.")
    used = session.exec(
        select(EscalationEvent).where(
            EscalationEvent.escalation_id == esc.id,
            EscalationEvent.detail == f"link:n{claim.notification_id}",
        )
    ).first()
    if used is not None:
        return _page(409, "Link already used", f"Escalation #{esc.id} is {esc.status}.")
    return esc


def make_ack_router(*, engine: Engine, keys: Callable[[], list[str]], clock: Clock) -> APIRouter:
    """Routes for ``/ack/{token}``; ``keys()`` gives the signing keys (first signs)."""
    router = APIRouter()

    def verified(token: str) -> AckClaim | HTMLResponse:
        try:
            return verify_token(keys(), token, now=clock.now())
        except AckLinkError as exc:
            if exc.reason == "expired":
                return _page(410, "Link expired", "Acknowledge from the list instead.")
            return _page(403, "Invalid link", "This link is not one Earful signed.")

    @router.api_route("/ack/{token}", methods=["GET", "HEAD"], response_class=HTMLResponse)
    def confirm(token: str) -> HTMLResponse:
        claim = verified(token)
        if isinstance(claim, HTMLResponse):
            return claim

        def read(session: Session) -> HTMLResponse:
            esc = _claimed(session, claim)
            if isinstance(esc, HTMLResponse):
                return esc
            if esc.status != "open":
                who = esc.acknowledged_by or "someone"
                return _page(
                    200, "Already handled", f"Escalation #{esc.id} is {esc.status} ({who})."
                )
            mention = session.get(Mention, esc.mention_id) if esc.mention_id is not None else None
            return _render(
                "ack_confirm.html",
                esc=esc,
                level=claim.level,
                source=mention.source if mention else "",
                author=(mention.author if mention else None) or "",
                text=terminal_safe((mention.text or "")[:500]) if mention else "",
                why=why_text(load_reasons(esc)),
                check=form_check(keys()[0], token),
            )

        return run_in_transaction(engine, read)

    @router.post("/ack/{token}", response_class=HTMLResponse)
    async def ack(token: str, request: Request) -> HTMLResponse:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        posted = (form.get("check") or [""])[0]
        if not any(hmac.compare_digest(form_check(k, token), posted) for k in keys()):
            return _page(403, "Invalid form", "Open the link again and press Acknowledge.")
        claim = verified(token)
        if isinstance(claim, HTMLResponse):
            return claim
        return run_in_transaction(engine, lambda session: _acknowledge(session, claim, clock))

    return router


def _acknowledge(session: Session, claim: AckClaim, clock: Clock) -> HTMLResponse:
    now = clock.now()
    esc = _claimed(session, claim)
    if isinstance(esc, HTMLResponse):
        return esc
    marker = f"link:n{claim.notification_id}"
    if esc.status != "open":
        add_event(session, esc, "link_used", now, level=claim.level, detail=marker)
        who = esc.acknowledged_by or "someone"
        return _page(200, "Already handled", f"Escalation #{esc.id} is {esc.status} ({who}).")
    try:
        acknowledge(session, claim.escalation_id, now=now, actor=f"ack link (level {claim.level})")
    except EscalationStateError as exc:
        return _page(409, "Cannot acknowledge", str(exc))
    add_event(session, esc, "link_used", now, level=claim.level, detail=marker)
    return _page(200, "Acknowledged", f"Escalation #{esc.id} ({esc.brand}) is yours.")
