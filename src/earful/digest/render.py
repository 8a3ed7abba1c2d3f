"""Templates only format: ``render_html(data, charts=...)`` and ``render_text(data)`` take a fully
computed ``DigestData``; ``digest_to_json(data)`` gives the DESIGN.md JSON.

Jinja2 with autoescape on for HTML (every piece of mention text is hostile) and
``StrictUndefined`` (a typo in a template fails loudly instead of printing nothing). Chart
``src`` values are chosen by the caller: ``cid:trend`` in email, ``data:image/png;base64,...``
in a stand-alone file or on the web — never a remote URL.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from earful.digest.charts import CHART_NAMES
from earful.digest.data import DigestData

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"


def _pct(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:+.0f}%"


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}"


def _num(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def _minutes(value: float | int | None) -> str:
    if value is None:
        return "n/a"
    if value >= 120:
        return f"{value / 60:.1f} h"
    return f"{value:.0f} min"


def _localtime(value: datetime, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


@lru_cache(maxsize=2)
def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=not autoescape,
        keep_trailing_newline=True,
    )
    env.filters.update(pct=_pct, signed=_signed, num=_num, minutes=_minutes, localtime=_localtime)
    return env


def _context(data: DigestData, web_url: str | None) -> dict[str, object]:
    return {
        "d": data,
        "problems": data.source_problems(),
        "sov": data.sov_shares(),
        "web_url": web_url,
    }


def data_uri_srcs(charts: Mapping[str, bytes]) -> dict[str, str]:
    """``data:`` URIs for a self-contained page (file or web)."""
    return {
        name: "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        for name, png in charts.items()
    }


def cid_srcs(names: tuple[str, ...] = CHART_NAMES, domain: str = "earful") -> dict[str, str]:
    """``cid:`` references for an email whose related parts carry these Content-IDs."""
    return {name: f"cid:{name}@{domain}" for name in names}


def render_html(
    data: DigestData,
    *,
    chart_srcs: Mapping[str, str],
    web_url: str | None = None,
    chronic_weeks: int = 3,
    chronic_authors: int = 3,
    nav: Mapping[str, str | None] | None = None,
) -> str:
    """The digest page (email body or web page); ``chart_srcs`` maps chart names to ``src``;
    ``nav`` (web only): links ``archive``, ``inbox``, ``prev`` / ``next`` with ``prev_day`` /
    ``next_day``."""
    template = _environment(True).get_template("digest.html")
    return template.render(
        **_context(data, web_url),
        nav=dict(nav) if nav else None,
        charts=dict(chart_srcs),
        chronic_weeks=chronic_weeks,
        chronic_authors=chronic_authors,
    )


def render_text(data: DigestData, *, web_url: str | None = None) -> str:
    """The plain-text version (email text part, terminal)."""
    return _environment(False).get_template("digest.txt").render(**_context(data, web_url))


def digest_to_json(data: DigestData) -> str:
    return json.dumps(data.to_json(), ensure_ascii=False, indent=2)
