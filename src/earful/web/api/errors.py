"""API errors: every failure under ``/api/`` (and ``/openapi.json``) is JSON
``{"error": {"code": slug, "message": text}}`` with the usual status.

Handlers only reshape what the web layer already raises (one tree, no second one)::

    PageError(status, title, detail)      # earful.web.pages: pages show it, the API reshapes it
      ApiError(status, code, message)     # raised by API routes with their own code
    HTTPException                         # Starlette's 404 / 405 for unknown paths and methods
    RequestValidationError                # FastAPI's 422: bad query parameter, body or path

``code`` is a short slug: ``unauthorized`` (401), ``forbidden`` (403), ``not_found`` (404),
``conflict`` (409), ``validation`` (422) and so on; outside the API paths the pages keep
their own error handling.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from earful.web.api.schemas import ErrorOut
from earful.web.auth import is_api
from earful.web.pages import PageError

logger = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation",
    429: "rate_limited",
    500: "server_error",
}


class ApiError(PageError):
    """An API failure with its own ``code`` slug (else the status's usual one)."""

    def __init__(self, status: int, message: str, *, code: str | None = None) -> None:
        super().__init__(status, message)
        self.code = code or CODES.get(status, "error")


# Documented on every API route in /openapi.json.
ErrorResponses: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": CODES[status]} for status in (401, 403, 404, 422)
}


def error_response(
    status: int, message: str, *, code: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code or CODES.get(status, "error"), "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def page_error_response(exc: PageError) -> JSONResponse:
    message = f"{exc.title}: {exc.detail}" if exc.detail else exc.title
    code = exc.code if isinstance(exc, ApiError) else None
    return error_response(exc.status, message, code=code)


def _where(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


def validation_message(exc: RequestValidationError) -> str:
    """``limit: Input should be less than or equal to 500; cursor: ...`` (first few)."""
    parts = [f"{_where(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()[:5]]
    return "; ".join(parts) or "invalid request"


def install_api_errors(app: FastAPI) -> None:
    """JSON errors for API paths; other paths keep FastAPI's and the pages' handling."""

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> Response:
        if not is_api(request.url.path):
            return await request_validation_exception_handler(request, exc)
        return error_response(422, validation_message(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if not is_api(request.url.path):
            return await http_exception_handler(request, exc)
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, str(exc.detail), headers=headers)
