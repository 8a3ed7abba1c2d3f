"""Digest pages for ``earful web``: an APIRouter the web app includes (it never builds the app).

    app.include_router(make_digest_router(get_engine=..., get_config=..., clock=SystemClock()))

Routes: ``GET /digests`` (archive: every brand's last days and what the scheduler sent) and
``GET /digests/{brand}/{YYYY-MM-DD}`` (the digest page, charts inlined as ``data:`` URIs;
``?format=json`` gives the JSON). Pages are computed live from stored data and carry a strict
Content-Security-Policy (no script, no remote resource) on top of the template's escaping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from earful.clock import Clock
from earful.config.models import AppConfig
from earful.digest.build import build_digest, local_today
from earful.digest.charts import render_charts
from earful.digest.render import data_uri_srcs, render_archive, render_html
from earful.digest.schedule import list_runs

logger = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
ARCHIVE_DAYS = 14


@dataclass(frozen=True, slots=True)
class ArchiveBrand:
    name: str
    timezone: str
    days: list[str]


def make_digest_router(
    *,
    get_engine: Callable[[], Engine],
    get_config: Callable[[], AppConfig],
    clock: Clock,
    prefix: str = "",
) -> APIRouter:
    """The digest routes; ``prefix`` is where the router is mounted (for links)."""
    router = APIRouter()

    @router.get("/digests", response_class=HTMLResponse)
    def digest_archive() -> Response:
        config, engine = get_config(), get_engine()
        now = clock.now()
        brands = []
        for b in config.brands:
            if not b.track:
                continue
            today = local_today(now, b.zone())
            days = [(today - timedelta(days=i)).isoformat() for i in range(ARCHIVE_DAYS)]
            brands.append(ArchiveBrand(b.name, b.timezone, days))
        runs = list_runs(engine) if inspect(engine).has_table("digest_run") else []
        html = render_archive(brands=brands, runs=runs, prefix=prefix)
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    @router.get("/digests/{brand}/{day}", response_class=HTMLResponse)
    def digest_page(brand: str, day: str, format: str = "html") -> Response:
        try:
            when = date.fromisoformat(day)
        except ValueError as exc:
            raise HTTPException(400, "day must be YYYY-MM-DD") from exc
        config = get_config()
        data = build_digest(get_engine(), config, brand=brand, now=clock.now(), day=when)
        if format == "json":
            return JSONResponse(data.to_json(), headers=SECURITY_HEADERS)
        html = render_html(
            data,
            chart_srcs=data_uri_srcs(render_charts(data)),
            chronic_weeks=config.digest.chronic_min_weeks,
            chronic_authors=config.digest.chronic_min_authors,
        )
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    return router
