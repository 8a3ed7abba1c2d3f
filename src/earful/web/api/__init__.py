"""The REST API under ``/api/`` for programs (``/openapi.json`` describes it, ``/docs`` shows it).

Authenticated by a session cookie or ``Authorization: Bearer TOKEN`` (``earful tokens create``;
the token acts with its user's role), see ``access``. Errors are JSON
``{"error": {"code", "message"}}`` (``errors``). Routers:

* ``mentions`` — ``GET /api/mentions`` (filters, ``q``, keyset ``cursor``),
  ``GET|PATCH /api/mentions/{id}``.
* ``escalations`` — ``GET /api/escalations``, ``GET /api/escalations/{id}``,
  ``POST /api/escalations/{id}/ack|resolve|dismiss|assign``, ``GET /api/incidents/{id}``.
* ``misc`` — ``GET /api/digests/{brand}/{day}``, ``GET /api/sources``, ``GET /api/me``.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.engine import Engine

from earful.clock import Clock
from earful.config.models import AppConfig
from earful.web.api.errors import ErrorResponses
from earful.web.api.escalations import make_escalations_api
from earful.web.api.mentions import make_mentions_api
from earful.web.api.misc import make_misc_api


def make_api_router(*, engine: Engine, config: AppConfig, clock: Clock) -> APIRouter:
    router = APIRouter(responses=ErrorResponses)
    router.include_router(make_mentions_api(engine=engine, config=config, clock=clock))
    router.include_router(make_escalations_api(engine=engine, clock=clock))
    router.include_router(make_misc_api(engine=engine, config=config, clock=clock))
    return router
