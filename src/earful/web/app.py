"""``earful web``: the team's workspace — login, mention inbox, escalations, digests (FastAPI).

Contract: :func:`create_app(settings, engine, config, clock=None)` builds the app; nothing is
read from the environment at import time. Without a session every page redirects to
``/login`` and every ``/api/*`` answers 401; open without login: ``/login``, ``/healthz``,
``/ack/{token}`` (the signed link is the authority) and the stylesheet. Routers:

* ``earful.web.auth`` — ``GET|POST /login``, ``POST /logout``.
* ``earful.web.escalations`` — ``/escalations``, ``/escalations/{id}`` (+ POST actions),
  ``/incidents/{id}``, ``/api/escalations``.
* ``earful.web.mentions`` — ``/mentions`` (filters and ``q=`` in the query language),
  ``/mentions/{id}`` (+ POST annotation).
* ``earful.web.exports`` — ``/mentions/export.csv|xlsx`` (the inbox's filter as a spreadsheet).
* ``earful.web.ack`` — ``GET|HEAD|POST /ack/{token}`` (confirm page; only POST acknowledges).
* ``earful.web.digests`` — ``/digests``, ``/digests/{brand}/{day}``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from earful.clock import Clock, SystemClock
from earful.config.models import AppConfig
from earful.escalation.links import signing_keys
from earful.settings import Settings
from earful.store.db import run_in_transaction
from earful.web.ack import make_ack_router
from earful.web.auth import LoginLimiter, Sessions, is_open, load_user, make_auth_router
from earful.web.digests import make_digest_router
from earful.web.escalations import make_escalation_router
from earful.web.exports import make_export_router
from earful.web.mentions import make_mention_router
from earful.web.pages import SECURITY_HEADERS, STYLESHEET, PageError, message

logger = logging.getLogger(__name__)


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

    sessions = Sessions(signing, base_url=settings.base_url)
    limiter = LoginLimiter(clock)

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        """Sign-in check for everything outside the open paths, then the security headers."""
        path = request.url.path
        request.state.user = await run_in_threadpool(
            load_user, engine, sessions, request, clock.now()
        )
        if request.state.user is None and not is_open(path):
            if path.startswith("/api/"):
                response: Response = JSONResponse({"error": "login required"}, status_code=401)
            else:
                target = path + (f"?{request.url.query}" if request.url.query else "")
                login = "/login" if target == "/" else f"/login?next={_quote(target)}"
                response = RedirectResponse(login, status_code=303)
        else:
            response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.state.user is not None:
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        # Starlette answers an unhandled error outside every middleware, so this page carries
        # the headers itself. The traceback goes to the server log, never to the browser.
        logger.error("%s %s failed: %r", request.method, request.url.path, exc)
        page = message(
            request, 500, "Something went wrong", "The error was logged; try again shortly."
        )
        page.headers.update(SECURITY_HEADERS)
        return page

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.title, "detail": exc.detail}, status_code=exc.status)
        return message(request, exc.status, exc.title, exc.detail)

    @app.get("/")
    def index() -> Response:
        return RedirectResponse("/escalations", status_code=303)

    @app.get("/search")
    def search(request: Request) -> Response:
        """Search lives in the inbox (``q=`` in the query language)."""
        query = request.url.query
        return RedirectResponse("/mentions" + (f"?{query}" if query else ""), status_code=303)

    @app.get("/static/earful.css")
    def stylesheet() -> Response:
        return Response(
            STYLESHEET.read_bytes(),
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        """Liveness for orchestrators: the process answers and the database is reachable."""
        run_in_transaction(engine, lambda session: session.exec(select(1)).one())
        return JSONResponse({"status": "ok"})

    app.include_router(make_auth_router(engine=engine, sessions=sessions, limiter=limiter))
    app.include_router(make_escalation_router(engine=engine, config=config, clock=clock))
    app.include_router(make_export_router(engine=engine, config=config, clock=clock))
    app.include_router(make_mention_router(engine=engine, config=config, clock=clock))
    app.include_router(make_ack_router(engine=engine, keys=signing, clock=clock))
    app.include_router(
        make_digest_router(get_engine=lambda: engine, get_config=lambda: config, clock=clock)
    )
    return app


def _quote(target: str) -> str:
    from urllib.parse import quote

    return quote(target, safe="/")
