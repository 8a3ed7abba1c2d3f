"""The digest page in real headless Chromium: not blank, charts visible, injection inert."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from earful.digest.build import build_digest
from earful.digest.charts import render_charts
from earful.digest.render import data_uri_srcs, render_html
from tests.integration.chromium import headless_chromium
from tests.unit.digest.digest_factories import DAY, NOW, digest_config, seed_month

pytestmark = pytest.mark.integration

CSP_META = '<meta http-equiv="Content-Security-Policy"'


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with headless_chromium("1000,2400") as driver:
        yield driver


@pytest.fixture
def page_html(sqlite_engine: Engine) -> str:
    seed_month(sqlite_engine)
    data = build_digest(sqlite_engine, digest_config(), brand="Acme", now=NOW, day=DAY)
    return render_html(data, chart_srcs=data_uri_srcs(render_charts(data)))


def distinct_colors(png: Path) -> int:
    from PIL import Image

    with Image.open(png) as img:
        small = img.convert("RGB").resize((200, 480))
        colors = small.getcolors(maxcolors=200 * 480)
        assert colors is not None
        return len(colors)


@pytest.mark.parametrize("with_csp", [True, False], ids=["as-shipped", "escaping-alone"])
def test_page_renders_with_charts_and_no_injected_script(
    browser: Any, page_html: str, tmp_path: Path, with_csp: bool
) -> None:
    html = page_html
    if not with_csp:
        # Without the CSP safety net, only escaping stands between the mention and the page.
        html = html.replace(CSP_META, '<meta name="x-removed-csp"')
        assert CSP_META not in html
    path = tmp_path / "digest.html"
    path.write_text(html, encoding="utf-8")
    browser.get(path.as_uri())

    assert browser.title == "Earful digest: Acme 2026-11-21"  # the injection sets 'PWNED'
    assert browser.execute_script("return typeof window.__pwned") == "undefined"
    body = browser.execute_script("return document.body.innerText")
    for section in (
        "Top negative mentions",
        "Praise worth passing on",
        "Recurring complaint themes",
        "CHRONIC",
        "Complaint drivers",
        "Share of voice",
        "Source health",
        "Blind spots",
    ):
        assert section in body
    assert "<script>document.title='PWNED'" in body  # shown as text, never run
    assert browser.execute_script("return document.querySelectorAll('script').length") == 0
    assert browser.execute_script("return document.querySelectorAll('textarea, b').length") == 0

    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.src.slice(0, 22), i.complete,"
        " i.naturalWidth, i.getBoundingClientRect().width])"
    )
    assert len(images) == 4
    for src, complete, natural_width, shown_width in images:
        assert src == "data:image/png;base64,"
        assert complete and natural_width > 0 and shown_width > 0
    rels = browser.execute_script("return Array.from(document.links).map(a => [a.protocol, a.rel])")
    assert rels and all(p in ("http:", "https:") and r == "noopener noreferrer" for p, r in rels)

    shot = tmp_path / "digest.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    assert distinct_colors(shot) > 50  # text, charts and colours: not a blank page
