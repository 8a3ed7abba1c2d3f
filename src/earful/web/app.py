"""``earful web``: the team's workspace — login, mention inbox, escalations, digests (FastAPI).

Contract: :func:`create_app(settings, engine, config, clock=None)` builds the app; nothing is
read from the environment at import time. Without a session every page redirects to
``/login`` and every ``/api/*`` answers 401; open without login: ``/login``, ``/healthz``,
``/ack/{token}`` (the signed link is the authority) and the stylesheet. ``/openapi.json``
(API routes only: pages are left out of the schema) takes a session or a bearer token,
``/docs`` (Swagger UI) a session. Routers:

* ``earful.web.auth`` — ``GET|POST /login``, ``POST /logout``.
* ``earful.web.api`` — the REST API under ``/api/`` (JSON errors, bearer tokens).
* ``earful.web.escalations`` — ``/escalations``, ``/escalations/{id}`` (+ POST actions),
  ``/incidents/{id}``.
* ``earful.web.mentions`` — ``/mentions`` (filters and ``q=`` in the query language),
  ``/mentions/{id}`` (+ POST annotation).
* ``earful.web.exports`` — ``/mentions/export.csv|xlsx`` (the inbox's filter as a spreadsheet).
* ``earful.web.ack`` — ``GET|HEAD|POST /ack/{token}`` (confirm page; only POST acknowledges).
* ``earful.web.digests`` — ``/digests``, ``/digests/{brand}/{day}``.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from earful import __version__
from earful.clock import Clock, SystemClock
from earful.config.models import AppConfig
from earful.escalation.links import signing_keys
from earful.settings import Settings
from earful.store.db import run_in_transaction
from earful.web.ack import make_ack_router
from earful.web.api import make_api_router
from earful.web.api.errors import error_response, install_api_errors, page_error_response
from earful.web.auth import (
    LoginLimiter,
    Sessions,
    is_api,
    is_open,
    load_user,
    make_auth_router,
)
from earful.web.digests import make_digest_router
from earful.web.escalations import make_escalation_router
from earful.web.exports import make_export_router
from earful.web.mentions import make_mention_router
from earful.web.pages import SECURITY_HEADERS, STYLESHEET, PageError, message

logger = logging.getLogger(__name__)

CDN = "https://cdn.jsdelivr.net"


def docs_csp(html: str) -> str:
    """The /docs page's policy: Swagger UI's files from its CDN, its one inline script by
    hash (never ``unsafe-inline`` for script), fetches only to this site."""
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in scripts
    )
    return (
        f"default-src 'none'; script-src {CDN} {hashes}; style-src {CDN} 'unsafe-inline'; "
        f"img-src 'self' data: {CDN} https://fastapi.tiangolo.com; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def create_app(
    settings: Settings, engine: Engine, config: AppConfig, *, clock: Clock | None = None
) -> FastAPI:
    app = FastAPI(
        title="Earful API",
        version=__version__,
        description="Mentions, escalations, digests and source health of this Earful "
        "installation. Authenticate with `Authorization: Bearer TOKEN` (`earful tokens "
        "create USER`) or a signed-in session.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
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
            if is_api(path):
                response: Response = error_response(
                    401,
                    "log in, or send Authorization: Bearer TOKEN (a live one)",
                    headers={"WWW-Authenticate": "Bearer"},
                )
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
        if is_api(request.url.path):
            failed = error_response(500, "the error was logged; try again shortly")
            failed.headers.update(SECURITY_HEADERS)
            return failed
        page = message(
            request, 500, "Something went wrong", "The error was logged; try again shortly."
        )
        page.headers.update(SECURITY_HEADERS)
        return page

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        if is_api(request.url.path):
            return page_error_response(exc)
        return message(request, exc.status, exc.title, exc.detail)

    install_api_errors(app)

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        return RedirectResponse("/escalations", status_code=303)

    @app.get("/search", include_in_schema=False)
    def search(request: Request) -> Response:
        """Search lives in the inbox (``q=`` in the query language)."""
        query = request.url.query
        return RedirectResponse("/mentions" + (f"?{query}" if query else ""), status_code=303)

    @app.get("/static/earful.css", include_in_schema=False)
    def stylesheet() -> Response:
        return Response(
            STYLESHEET.read_bytes(),
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        """Liveness for orchestrators: the process answers and the database is reachable."""
        run_in_transaction(engine, lambda session: session.exec(select(1)).one())
        return JSONResponse({"status": "ok"})

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        """Swagger UI (from its CDN) over ``/openapi.json``, with a CSP that allows just that."""
        page = get_swagger_ui_html(openapi_url="/openapi.json", title="Earful API")
        page.headers["Content-Security-Policy"] = docs_csp(bytes(page.body).decode())
        return page

    app.include_router(make_api_router(engine=engine, config=config, clock=clock))
    pages = [
        make_auth_router(engine=engine, sessions=sessions, limiter=limiter),
        make_escalation_router(engine=engine, config=config, clock=clock),
        # before the mention router: ``/mentions/{id}`` would take ``/mentions/export.csv``
        make_export_router(engine=engine, config=config, clock=clock),
        make_mention_router(engine=engine, config=config, clock=clock),
        make_ack_router(engine=engine, keys=signing, clock=clock),
        make_digest_router(get_engine=lambda: engine, get_config=lambda: config, clock=clock),
    ]
    for router in pages:
        app.include_router(router, include_in_schema=False)
    return app


def _quote(target: str) -> str:
    from urllib.parse import quote

    return quote(target, safe="/")
