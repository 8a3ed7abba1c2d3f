"""Rendering the workspace pages: one Jinja environment over ``web/templates``, one stylesheet.

Templates only format (autoescape on — every mention, author and note is hostile text —, and
``StrictUndefined`` so a typo fails loudly). Pages carry no script and no inline style, so the
Content-Security-Policy needs neither ``unsafe-inline`` nor any remote origin.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = TEMPLATES / "earful.css"
MAX_FORM_BYTES = 64 * 1024

# On every workspace page: no framing (clickjacking of the forms), no sniffing, no script at
# all, styles only from our own stylesheet.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class PageError(Exception):
    """Stop handling a request and show an error page (or JSON under ``/api/``)."""

    def __init__(self, status: int, title: str, detail: str = "") -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.detail = detail


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def _num(value: int | float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if isinstance(value, int) else f"{value:,.1f}"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["num"] = _num
    return env


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render template ``name`` with the signed-in user (or None) and their CSRF token."""
    user = getattr(request.state, "user", None)
    html = (
        environment()
        .get_template(name)
        .render(
            user=user,
            csrf=user.csrf if user is not None else "",
            path=request.url.path,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code)


def message(request: Request, status: int, title: str, detail: str = "") -> HTMLResponse:
    return render(request, "message.html", status_code=status, title=title, detail=detail)


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict (first value of each field)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise PageError(413, "Form too large")
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


def query_string(params: dict[str, Any], **changes: Any) -> str:
    """``params`` with ``changes``, empty values dropped, as ``?a=b`` (or "")."""
    merged = {**params, **changes}
    clean = {k: v for k, v in merged.items() if v not in (None, "")}
    return "?" + urlencode(clean) if clean else ""
