"""The inbox's current filter as a spreadsheet: ``GET /mentions/export.csv`` and
``GET /mentions/export.xlsx``.

Same filters as ``/mentions`` (``web.mentions.build_filter``: ``brand``, ``source``,
``sentiment``, ``status``, ``language``, ``since`` / ``until``, ``q``), every matching mention
(no page, no scan cap), the cells of :mod:`earful.store.export`. CSV streams as it is read; XLSX
is written to a temporary file first (a zip cannot stream) and removed once sent. A bad ``q``
is a 400 page naming the position, as in the inbox. Any signed-in role may export (the app's
guard already turned away everyone else).

Registered before the mention router, whose ``/mentions/{id}`` would otherwise claim these paths.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.background import BackgroundTask

from earful.clock import Clock
from earful.config.models import AppConfig
from earful.matching.grammar import QuerySyntaxError
from earful.matching.matcher import compile_query
from earful.store.export import iter_csv, write_xlsx
from earful.store.inbox import MentionFilter, iter_rows
from earful.web.mentions import FILTERS, build_filter
from earful.web.pages import PageError

logger = logging.getLogger(__name__)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filter(request: Request, config: AppConfig) -> MentionFilter:
    params = {k: request.query_params.get(k, "").strip() for k in FILTERS}
    flt = build_filter(params, config)
    if flt.q and flt.q.strip():
        try:
            compile_query(flt.q.strip())
        except QuerySyntaxError as exc:
            raise PageError(
                400, "Query not understood", f"{exc.problem} at position {exc.position}"
            ) from exc
    return flt


def _filename(clock: Clock, suffix: str) -> str:
    return f"earful-mentions-{clock.now():%Y%m%d-%H%M}.{suffix}"


def make_export_router(*, engine: Engine, config: AppConfig, clock: Clock) -> APIRouter:
    router = APIRouter()

    @router.get("/mentions/export.csv")
    def export_csv(request: Request) -> Response:
        flt = _filter(request, config)

        def body() -> Iterator[bytes]:
            with Session(engine) as session:
                for chunk in iter_csv(iter_rows(session, flt)):
                    yield chunk.encode("utf-8")

        name = _filename(clock, "csv")
        return StreamingResponse(
            body(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @router.get("/mentions/export.xlsx")
    def export_xlsx(request: Request) -> Response:
        flt = _filter(request, config)
        handle, name = tempfile.mkstemp(prefix="earful-export-", suffix=".xlsx")
        os.close(handle)
        path = Path(name)
        try:
            with Session(engine) as session:
                count = write_xlsx(iter_rows(session, flt), path)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        logger.info("exported %s mention(s) as XLSX", count)
        return FileResponse(
            path,
            media_type=XLSX_TYPE,
            filename=_filename(clock, "xlsx"),
            background=BackgroundTask(path.unlink, missing_ok=True),
        )

    return router
