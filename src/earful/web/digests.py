"""Digest pages for ``earful web``: an APIRouter the web app includes (it never builds the app).

    app.include_router(make_digest_router(get_engine=..., get_config=..., clock=SystemClock()))

Routes: ``GET /digests`` (archive: for every brand — competitors and brands seen only in
stored data included — the local days of the last ``ARCHIVE_DAYS`` that have mentions, each
linking to its digest and to the inbox filtered on that day; and what the scheduler sent) and
``GET /digests/{brand}/{YYYY-MM-DD}`` (the digest page with previous / next day-with-data
navigation, charts inlined as ``data:`` URIs; ``?format=json`` gives the JSON). Digest pages
are computed live from stored data and carry a strict Content-Security-Policy (no script, no
remote resource) on top of the template's escaping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine

from earful.clock import Clock
from earful.config.models import AppConfig
from earful.digest import queries
from earful.digest.build import build_digest, local_midnight, local_today, resolve_brand
from earful.digest.charts import render_charts
from earful.digest.render import data_uri_srcs, render_html
from earful.digest.schedule import list_runs
from earful.web.pages import render

logger = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
ARCHIVE_DAYS = 90
NAV_DAYS = 180  # how far back and forward the page looks for the previous / next day


@dataclass(frozen=True, slots=True)
class ArchiveDay:
    day: str
    volume: int
    digest_url: str
    inbox_url: str


@dataclass(frozen=True, slots=True)
class ArchiveBrand:
    name: str
    timezone: str
    competitor: bool
    days: list[ArchiveDay]


def digest_url(brand: str, day: date) -> str:
    return f"/digests/{quote(brand, safe='')}/{day.isoformat()}"


def inbox_url(brand: str, day: date) -> str:
    return "/mentions?" + urlencode({"brand": brand, "since": day, "until": day})


def days_with_data(
    engine: Engine, brand: str, zone: ZoneInfo, first: date, last: date
) -> dict[date, int]:
    """Local days in [first, last] with mentions of ``brand`` (irrelevant and spam excluded)."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    bounds = [local_midnight(d, zone) for d in days] + [
        local_midnight(last + timedelta(days=1), zone)
    ]
    with engine.connect() as conn:
        counts = queries.volume_by_bucket(conn, brand=brand, bounds=bounds)
    return {d: n for d, n in zip(days, counts, strict=True) if n}


def _brand_names(engine: Engine, config: AppConfig) -> list[tuple[str, bool]]:
    """(name, is competitor only) of configured brands, then brands seen only in data."""
    names = [(b.name, not b.track) for b in config.brands]
    known = {n.casefold() for n, _ in names}
    if inspect(engine).has_table("mention_brand"):
        with engine.connect() as conn:
            stored = conn.execute(select(queries.MB.c.brand).distinct()).scalars()
            names += [(str(b), False) for b in stored if str(b).casefold() not in known]
    return names


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
    def digest_archive(request: Request) -> Response:
        config, engine = get_config(), get_engine()
        now = clock.now()
        brands = []
        for name, competitor in _brand_names(engine, config):
            info = resolve_brand(config, name)
            today = local_today(now, info.zone)
            found = days_with_data(
                engine, info.name, info.zone, today - timedelta(days=ARCHIVE_DAYS - 1), today
            )
            days = [
                ArchiveDay(
                    d.isoformat(), n, prefix + digest_url(info.name, d), inbox_url(info.name, d)
                )
                for d, n in sorted(found.items(), reverse=True)
            ]
            brands.append(ArchiveBrand(info.name, info.timezone, competitor, days))
        runs = list_runs(engine) if inspect(engine).has_table("digest_run") else []
        return render(
            request, "digests.html", brands=brands, runs=runs, prefix=prefix, window=ARCHIVE_DAYS
        )

    @router.get("/digests/{brand}/{day}", response_class=HTMLResponse)
    def digest_page(brand: str, day: str, format: str = "html") -> Response:
        try:
            when = date.fromisoformat(day)
        except ValueError as exc:
            raise HTTPException(400, "day must be YYYY-MM-DD") from exc
        config, engine = get_config(), get_engine()
        now = clock.now()
        data = build_digest(engine, config, brand=brand, now=now, day=when)
        if format == "json":
            return JSONResponse(data.to_json(), headers=SECURITY_HEADERS)
        info = resolve_brand(config, brand)
        today = local_today(now, info.zone)
        found = days_with_data(
            engine,
            info.name,
            info.zone,
            when - timedelta(days=NAV_DAYS),
            min(when + timedelta(days=NAV_DAYS), max(today, when)),
        )
        before = [d for d in found if d < when]
        after = [d for d in found if d > when]
        prev_day, next_day = (max(before) if before else None), (min(after) if after else None)
        nav = {
            "archive": f"{prefix}/digests",
            "inbox": inbox_url(info.name, when),
            "prev": prefix + digest_url(info.name, prev_day) if prev_day else None,
            "prev_day": prev_day.isoformat() if prev_day else None,
            "next": prefix + digest_url(info.name, next_day) if next_day else None,
            "next_day": next_day.isoformat() if next_day else None,
        }
        html = render_html(
            data,
            chart_srcs=data_uri_srcs(render_charts(data)),
            chronic_weeks=config.digest.chronic_min_weeks,
            chronic_authors=config.digest.chronic_min_authors,
            nav=nav,
        )
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    return router
