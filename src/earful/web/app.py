"""``earful web``: open escalations and one-click acknowledge links (FastAPI).

Contract: :func:`create_app(settings, engine, config, clock=None)` builds the app; nothing is
read from the environment at import time. Routes:

* ``GET /`` — open escalations, newest first (mention text escaped by Jinja autoescape).
* ``GET|HEAD|POST /ack/{token}`` — signed acknowledge links; ``GET`` shows a confirm page, only
  its ``POST`` acknowledges (``earful.web.ack``).
* ``GET /api/escalations`` — the same list as JSON.
* ``GET /healthz`` — liveness (the database answers).
* ``GET /digests``, ``GET /digests/{brand}/{date}`` — the digest archive and pages
  (``earful.web.digests``).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, StrictUndefined
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from earful.clock import Clock, SystemClock
from earful.config.models import AppConfig
from earful.escalation.lifecycle import (
    ACTIVE,
    escalation_to_dict,
    load_reasons,
    why_text,
)
from earful.escalation.links import signing_keys
from earful.settings import Settings
from earful.store.db import run_in_transaction
from earful.store.escalations import Escalation
from earful.store.models import Mention
from earful.web.ack import make_ack_router
from earful.web.digests import make_digest_router

logger = logging.getLogger(__name__)

# On every response: no framing (clickjacking of the acknowledge form), no sniffing, no inline
# script or third-party fetches (pages are server-rendered, styles inline).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' "
    "data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

_env = Environment(autoescape=True, undefined=StrictUndefined)
_LIST = _env.from_string(
    """<!doctype html><html><head><meta charset="utf-8"><title>Earful — open escalations</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 8px;border-bottom:1px solid #ddd;
vertical-align:top}</style></head><body>
<h1>Open escalations</h1>
{% if not rows %}<p>Nothing open. Quiet is good.</p>{% else %}
<table><tr><th>#</th><th>brand</th><th>level</th><th>risk</th><th>status</th><th>opened</th>
<th>post</th><th>why</th></tr>
{% for r in rows %}<tr><td>{{ r.id }}</td><td>{{ r.brand }}</td><td>{{ r.level }}</td>
<td>{{ r.risk }}</td><td>{{ r.status }}</td><td>{{ r.opened_at }}</td>
<td>{{ r.source }} · {{ r.author }}<br>{{ r.text }}</td><td>{{ r.why }}</td></tr>{% endfor %}
</table>{% endif %}</body></html>"""
)
_PAGE = _env.from_string(
    """<!doctype html><html><head><meta charset="utf-8"><title>Earful</title></head>
<body style="font-family:sans-serif;margin:2em"><h1>{{ title }}</h1><p>{{ detail }}</p>
<p><a href="/">Open escalations</a></p></body></html>"""
)


def _page(status: int, title: str, detail: str) -> HTMLResponse:
    return HTMLResponse(_PAGE.render(title=title, detail=detail), status_code=status)


def open_escalations(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Escalation)
        .where(col(Escalation.status).in_(ACTIVE))
        .order_by(col(Escalation.opened_at).desc())
        .limit(limit)
    ).all()
    ids = {esc.mention_id for esc in rows if esc.mention_id is not None}
    mentions = {
        m.id: m for m in session.exec(select(Mention).where(col(Mention.id).in_(ids))).all()
    }
    out = []
    for esc in rows:
        data = escalation_to_dict(esc)
        mention = mentions.get(esc.mention_id) if esc.mention_id is not None else None
        data["why"] = why_text(load_reasons(esc))
        data["text"] = (mention.text[:300] if mention else "") or ""
        data["author"] = mention.author if mention else None
        out.append(data)
    return out


def create_app(
    settings: Settings, engine: Engine, config: AppConfig, *, clock: Clock | None = None
) -> FastAPI:
    app = FastAPI(title="Earful", docs_url=None, redoc_url=None, openapi_url=None)
    clock = clock or SystemClock()
    keys: list[str] = []

    def signing() -> list[str]:
        if not keys:  # resolved on first use, so the app builds before the schema exists
            keys.extend(signing_keys(settings, engine))
        return keys

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        # Starlette answers an unhandled error outside every middleware, so this page carries
        # the headers itself. The traceback goes to the server log, never to the browser.
        logger.error("%s %s failed: %r", request.method, request.url.path, exc)
        page = _page(500, "Something went wrong", "The error was logged; try again shortly.")
        page.headers.update(SECURITY_HEADERS)
        return page

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        rows = run_in_transaction(engine, open_escalations)
        return HTMLResponse(_LIST.render(rows=rows))

    @app.get("/api/escalations")
    def api_list() -> JSONResponse:
        return JSONResponse(run_in_transaction(engine, open_escalations))

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        """Liveness for orchestrators: the process answers and the database is reachable."""
        run_in_transaction(engine, lambda session: session.exec(select(1)).one())
        return JSONResponse({"status": "ok"})

    app.include_router(make_ack_router(engine=engine, keys=signing, clock=clock))
    app.include_router(
        make_digest_router(get_engine=lambda: engine, get_config=lambda: config, clock=clock)
    )
    return app
