"""The mention inbox and mention pages (``earful.store.inbox`` searches, ``annotations`` edits).

Routes: ``GET /mentions`` — filters ``brand``, ``source``, ``sentiment``, ``status``,
``language``, ``since`` / ``until`` (``YYYY-MM-DD``, inclusive, in the brand's timezone when a
configured brand is chosen, else UTC), ``q`` (the query language) and ``page``;
``GET /mentions/{id}`` — full text, link, author and reach, engagement curve, escalations,
annotation history; ``POST /mentions/{id}`` — correct the sentiment, set the status (done /
irrelevant / spam / new), tags, assignee, note. Any signed-in role may annotate; every change
is logged with who and when. The JSON API (``GET|PATCH /api/mentions``) is
``earful.web.api.mentions``.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from earful.clock import Clock
from earful.config.models import AppConfig
from earful.digest.data import safe_link
from earful.matching.grammar import QuerySyntaxError
from earful.store.annotations import (
    LABELS,
    STATUSES,
    AnnotationError,
    Change,
    annotate,
    edits_of,
    get_state,
)
from earful.store.db import run_in_transaction
from earful.store.escalations import Escalation
from earful.store.inbox import InboxPage, MentionFilter, facets, search_mentions
from earful.store.models import EngagementSnapshot, Mention, MentionBrand
from earful.store.users import list_users
from earful.web.auth import check_csrf, require
from earful.web.curve import engagement_curve
from earful.web.pages import PageError, query_string, read_form, render

logger = logging.getLogger(__name__)

PER_PAGE = 50
FILTERS = ("brand", "source", "sentiment", "status", "language", "since", "until", "q")


def _day(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise PageError(400, "Bad date", f"{name} must be YYYY-MM-DD") from exc


def build_filter(params: dict[str, str], config: AppConfig) -> MentionFilter:
    """The inbox filter of the query parameters; days are local to the chosen brand."""
    brand = params.get("brand") or None
    cfg = config.brand(brand) if brand else None
    zone = cfg.zone() if cfg is not None else ZoneInfo("UTC")
    since, until = _day(params.get("since", ""), "since"), _day(params.get("until", ""), "until")

    def start(d: date) -> datetime:
        return datetime.combine(d, time(0), tzinfo=zone).astimezone(UTC)

    return MentionFilter(
        brand=cfg.name if cfg is not None else brand,
        source=params.get("source") or None,
        sentiment=params.get("sentiment") or None,
        status=params.get("status") or None,
        language=params.get("language") or None,
        since=start(since) if since else None,
        until=start(until + timedelta(days=1)) if until else None,
        q=params.get("q") or None,
    )


def mention_view(session: Session, mention_id: int) -> dict[str, Any]:
    mention = session.get(Mention, mention_id)
    if mention is None:
        raise PageError(404, "Unknown mention", f"There is no mention #{mention_id}.")
    snapshots = session.exec(
        select(EngagementSnapshot).where(EngagementSnapshot.mention_id == mention_id)
    ).all()
    brands = session.exec(
        select(MentionBrand.brand).where(MentionBrand.mention_id == mention_id)
    ).all()
    escalations = session.exec(
        select(Escalation)
        .where(Escalation.mention_id == mention_id)
        .order_by(col(Escalation.opened_at).desc())
    ).all()
    state = get_state(session, mention_id)
    return {
        "m": mention,
        "link": safe_link(mention.url),
        "brands": list(brands),
        "curve": engagement_curve(snapshots),
        "escalations": list(escalations),
        "state": state,
        "label": (state.sentiment if state and state.sentiment else mention.sentiment_label),
        "status": state.status if state else "new",
        "edits": edits_of(session, mention_id),
        "people": [u.name for u in list_users(session)],
        "labels": LABELS,
        "statuses": STATUSES,
    }


def _change(form: dict[str, str]) -> Change:
    """Only the fields the form sent are changed."""
    return Change(
        status=form.get("status") or None,
        sentiment=form.get("sentiment") if "sentiment" in form else None,
        tags=form.get("tags") if "tags" in form else None,
        assignee=form.get("assignee") if "assignee" in form else None,
        note=form.get("note") if "note" in form else None,
    )


def make_mention_router(*, engine: Engine, config: AppConfig, clock: Clock) -> APIRouter:
    router = APIRouter()

    @router.get("/mentions", response_class=HTMLResponse)
    def inbox(request: Request) -> Response:
        params = {k: request.query_params.get(k, "").strip() for k in FILTERS}
        try:
            page = max(int(request.query_params.get("page", "1") or 1), 1)
        except ValueError:
            page = 1
        flt = build_filter(params, config)
        error = ""

        def read(session: Session) -> tuple[InboxPage, dict[str, list[str]]]:
            return search_mentions(session, flt, page=page, per_page=PER_PAGE), facets(session)

        try:
            result, menus = run_in_transaction(engine, read)
        except QuerySyntaxError as exc:
            error = f"{exc.problem} at position {exc.position}"
            result, menus = InboxPage(), run_in_transaction(engine, facets)
        status = 400 if error else 200
        return render(
            request,
            "mentions.html",
            status_code=status,
            result=result,
            params=params,
            menus=menus,
            labels=LABELS,
            statuses=STATUSES,
            error=error,
            prev_url=query_string(params, page=page - 1) if page > 1 else "",
            next_url=query_string(params, page=page + 1) if result.has_more else "",
        )

    @router.get("/mentions/{mention_id}", response_class=HTMLResponse)
    def mention_page(request: Request, mention_id: int) -> Response:
        view = run_in_transaction(engine, lambda s: mention_view(s, mention_id))
        return render(request, "mention.html", **view)

    @router.post("/mentions/{mention_id}")
    async def annotate_mention(request: Request, mention_id: int) -> Response:
        form = await read_form(request)
        check_csrf(request, form)
        user = require(request, "analyst")
        now = clock.now()

        def write(session: Session) -> int:
            if session.get(Mention, mention_id) is None:
                raise PageError(404, "Unknown mention", f"There is no mention #{mention_id}.")
            return len(annotate(session, mention_id, _change(form), actor=user.name, now=now))

        try:
            changed = run_in_transaction(engine, write)
        except AnnotationError as exc:
            raise PageError(400, "Cannot save that", str(exc)) from exc
        logger.info("%s annotated mention %s (%s fields)", user.name, mention_id, changed)
        return RedirectResponse(f"/mentions/{mention_id}", status_code=303)

    return router
