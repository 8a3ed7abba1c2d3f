"""The workspace in real headless Chromium against a live ``earful web``: log in, filter and
search with ``q=``, correct a label and see the digest change, acknowledge from the escalation
page, and a hostile mention whose script never runs. Screenshots of the main pages at 1280 and
390 px go to ``EARFUL_SCREENSHOTS`` (the README's are made with ``docs/screenshots``)."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.clock import SimulatedClock
from earful.config.models import AppConfig
from earful.risk.scoring import Reason
from earful.settings import Settings
from earful.store.escalations import Escalation
from earful.store.models import EngagementSnapshot, Mention, MentionBrand
from earful.web.app import create_app
from tests.integration.chromium import headless_chromium
from tests.unit.escalation_factories import open_escalation
from tests.unit.web.web_factories import PASSWORD, make_user

pytestmark = pytest.mark.integration

NOW = datetime(2025, 3, 11, 16, 0, tzinfo=UTC)
DAY = "2025-03-11"
HOSTILE = (
    "<script>document.title='PWNED';window.__pwned=1;</script>"
    '<img src="x" onerror="window.__pwned=2;document.title=\'PWNED\'">'
    "Acme ruined my trip</textarea><b>bold</b>"
)
MENTIONS = [
    # external id, source, text, label, hours before NOW, followers
    ("espresso", "reddit", "This Acme espresso is killer, it's insanely good", "negative", 1, 800),
    ("bag-gate", "mastodon", "Acme lost my bag near gate 12 and nobody helps", "negative", 2, 5400),
    (
        "bag-refund",
        "mastodon",
        "Acme: I lost my bag at the gate and I want a refund",
        "negative",
        3,
        90,
    ),
    ("shares", "rss", "Acme shares rose 3% after earnings", "positive", 4, None),
    ("crew", "reddit", "Lovely crew on my Acme flight today", "positive", 5, 120),
    ("hostile", "rss", HOSTILE, "negative", 6, 10),
]


@dataclass
class Live:
    base: str
    engine: Engine
    ids: dict[str, int]
    esc_id: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(engine: Engine, config: AppConfig) -> tuple[dict[str, int], int]:
    esc_id = open_escalation(
        engine,
        Mention(
            source="youtube",
            external_id="ubg",
            url="https://youtube.example/watch?v=ubg",
            title="Acme breaks guitars",
            text="Acme baggage handlers broke my guitar and refused to pay for it",
            author="sons_of_max",
            author_followers=2100,
            sentiment_label="negative",
            published_at=NOW - timedelta(hours=3),
            fetched_at=NOW - timedelta(hours=3),
        ),
        brand="Acme",
        risk=78,
        reasons=[
            Reason("velocity", 32, "views ×12 in 1 h"),
            Reason("severity", 25, "damage: 'broke my guitar'"),
            Reason("reach", 12, "2,100 followers"),
        ],
        now=NOW - timedelta(hours=2),
        config=config,
    )
    ids: dict[str, int] = {}
    with Session(engine) as s, s.begin():
        esc = s.get(Escalation, esc_id)
        assert esc is not None and esc.mention_id is not None
        s.add(
            MentionBrand(
                mention_id=esc.mention_id, brand="Acme", published_at=NOW - timedelta(hours=3)
            )
        )
        for i, views in enumerate((500, 2400, 9000, 24000, 61000)):
            s.add(
                EngagementSnapshot(
                    mention_id=esc.mention_id,
                    at=NOW - timedelta(hours=3) + timedelta(minutes=30 * i),
                    views=views,
                    likes=views // 20,
                    shares=views // 80,
                )
            )
        for ext, source, text, label, hours, followers in MENTIONS:
            when = NOW - timedelta(hours=hours)
            m = Mention(
                source=source,
                external_id=ext,
                url=f"https://{source}.example/{ext}",
                text=text,
                author=f"user_{ext}",
                author_followers=followers,
                language="en",
                sentiment_label=label,
                sentiment_compound=-0.87 if label == "negative" else 0.6,
                published_at=when,
                fetched_at=when,
            )
            s.add(m)
            s.flush()
            assert m.id is not None
            s.add(MentionBrand(mention_id=m.id, brand="Acme", published_at=when))
            ids[ext] = m.id
        # Earlier days and the competitor, so the archive has days to list (not in ``ids``).
        for n, (brand, days_ago, text) in enumerate(
            [
                ("Acme", 1, "Acme check-in took forever"),
                ("Acme", 1, "Acme crew were great"),
                ("Acme", 3, "Acme app keeps logging me out"),
                ("Globex", 0, "Globex flight was on time"),
                ("Globex", 2, "Globex lost a suitcase"),
            ]
        ):
            when = NOW - timedelta(days=days_ago, hours=1)
            m = Mention(
                source="bluesky",
                external_id=f"bg{n}",
                text=text,
                published_at=when,
                fetched_at=when,
            )
            s.add(m)
            s.flush()
            assert m.id is not None
            s.add(MentionBrand(mention_id=m.id, brand=brand, published_at=when))
    return ids, esc_id


@pytest.fixture
def live(sqlite_engine: Engine) -> Iterator[Live]:
    config = AppConfig.model_validate(
        {
            "brands": [
                {"name": "Acme", "competitors": ["Globex"]},
                {"name": "Globex", "track": False},
            ],
            "escalation": {
                "channels": {"f": {"kind": "file", "path": "x"}},
                "routes": [{"level": 1, "channel": "f", "to": "lead"}],
            },
        }
    )
    ids, esc_id = _seed(sqlite_engine, config)
    make_user(sqlite_engine, "lea", "lead")
    make_user(sqlite_engine, "ana", "analyst")
    port = _free_port()
    settings = Settings(secret_key="chromium-secret", base_url=f"http://127.0.0.1:{port}")  # type: ignore[arg-type]
    app = create_app(settings, sqlite_engine, config, clock=SimulatedClock(NOW))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield Live(settings.base_url, sqlite_engine, ids, esc_id)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with headless_chromium("1280,900") as driver:
        yield driver


def _by(kind: str) -> Any:
    from selenium.webdriver.common.by import By

    return getattr(By, kind)


def _login(browser: Any, live: Live, name: str = "lea") -> None:
    browser.delete_all_cookies()
    browser.get(f"{live.base}/login")
    browser.find_element(_by("ID"), "username").send_keys(name)
    browser.find_element(_by("ID"), "password").send_keys(PASSWORD)
    _click(browser, "login")


def _follow(browser: Any, element: Any) -> None:
    """Click ``element`` and wait until the page it leads to has replaced this one."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = browser.find_element(_by("TAG_NAME"), "html")
    element.click()

    def replaced(_: Any) -> bool:
        # Mid-navigation Chromium may answer "node does not belong to the document" instead
        # of a stale-element error: either way the old page is gone.
        try:
            return bool(expected_conditions.staleness_of(old)(browser))
        except WebDriverException:
            return True

    WebDriverWait(browser, 20).until(replaced)
    WebDriverWait(browser, 20).until(
        lambda b: b.execute_script("return document.readyState") == "complete"
    )


def _click(browser: Any, element_id: str) -> None:
    _follow(browser, browser.find_element(_by("ID"), element_id))


def _text(browser: Any, element_id: str) -> str:
    return str(browser.find_element(_by("ID"), element_id).text)


def _listed(browser: Any, live: Live) -> set[str]:
    links = browser.find_elements(_by("CSS_SELECTOR"), "#mention-list a")
    hrefs = {str(a.get_attribute("href")) for a in links}
    return {ext for ext, i in live.ids.items() if f"{live.base}/mentions/{i}" in hrefs}


def _digest_json(browser: Any, live: Live) -> dict[str, Any]:
    browser.get(f"{live.base}/digests/Acme/{DAY}?format=json")
    body = browser.find_element(_by("TAG_NAME"), "body").text
    data: dict[str, Any] = json.loads(body)
    return data


def test_login_is_required_and_a_wrong_password_fails(browser: Any, live: Live) -> None:
    browser.delete_all_cookies()
    browser.get(f"{live.base}/mentions")
    assert browser.current_url.startswith(f"{live.base}/login")
    browser.find_element(_by("ID"), "username").send_keys("lea")
    browser.find_element(_by("ID"), "password").send_keys("not the password")
    _click(browser, "login")
    assert "Wrong user name or password" in browser.page_source
    _login(browser, live)
    assert browser.current_url == f"{live.base}/escalations"
    assert "lea · lead" in browser.find_element(_by("CSS_SELECTOR"), ".who").text


def test_filter_and_search_with_the_query_language(browser: Any, live: Live) -> None:
    from selenium.webdriver.support.ui import Select

    _login(browser, live)
    browser.get(f"{live.base}/mentions")
    assert _listed(browser, live) == set(live.ids)  # and the earlier days' mentions
    box = browser.find_element(_by("ID"), "q")
    box.send_keys('"lost my bag" NEAR/3 gate -refund')
    _click(browser, "search")
    assert _listed(browser, live) == {"bag-gate"}
    assert "q=" in browser.current_url
    browser.get(f"{live.base}/mentions")
    Select(browser.find_element(_by("ID"), "source")).select_by_visible_text("reddit")
    Select(browser.find_element(_by("ID"), "sentiment")).select_by_visible_text("positive")
    _click(browser, "search")
    assert _listed(browser, live) == {"crew"}


def test_correcting_a_label_changes_the_digest(browser: Any, live: Live) -> None:
    from selenium.webdriver.support.ui import Select

    _login(browser, live, "ana")
    before = _digest_json(browser, live)
    browser.get(f"{live.base}/mentions/{live.ids['espresso']}")
    Select(browser.find_element(_by("ID"), "sentiment")).select_by_value("positive")
    _click(browser, "save-sentiment")
    assert _text(browser, "label") == "positive"
    assert "ana set sentiment" in _text(browser, "history")
    browser.get(f"{live.base}/mentions/{live.ids['shares']}")
    _click(browser, "mark-irrelevant")
    assert _text(browser, "mention-status") == "irrelevant"
    after = _digest_json(browser, live)
    assert after["volume"] == before["volume"] - 1
    assert after["sentiment"]["negative"] == before["sentiment"]["negative"] - 1
    assert after["sentiment"]["positive"] == before["sentiment"]["positive"]  # +1 -1


def test_acknowledge_from_the_escalation_page(browser: Any, live: Live) -> None:
    _login(browser, live)
    browser.get(f"{live.base}/escalations")
    _follow(
        browser, browser.find_element(_by("CSS_SELECTOR"), f'a[href="/escalations/{live.esc_id}"]')
    )
    assert "broke my guitar" in _text(browser, "post-text")
    assert "views ×12 in 1 h" in _text(browser, "reasons")
    assert browser.find_elements(_by("CSS_SELECTOR"), "svg.curve polyline")
    assert "opened" in _text(browser, "timeline")
    _click(browser, "ack")
    assert _text(browser, "esc-status") == "acknowledged"
    assert _text(browser, "esc-acked-by") == "lea"
    with Session(live.engine) as s:
        esc = s.get(Escalation, live.esc_id)
        assert esc is not None and esc.acknowledged_by == "lea"


def test_analyst_sees_no_escalation_controls(browser: Any, live: Live) -> None:
    _login(browser, live, "ana")
    browser.get(f"{live.base}/escalations/{live.esc_id}")
    assert not browser.find_elements(_by("ID"), "ack")
    assert "needs the lead role" in _text(browser, "actions")


def test_hostile_mention_never_executes(browser: Any, live: Live) -> None:
    _login(browser, live)
    for path in ("/mentions", f"/mentions/{live.ids['hostile']}", "/escalations"):
        browser.get(f"{live.base}{path}")
        assert browser.title != "PWNED"
        assert browser.execute_script("return typeof window.__pwned") == "undefined"
        assert not browser.find_elements(_by("CSS_SELECTOR"), "main img, main b, main script")
    browser.get(f"{live.base}/mentions/{live.ids['hostile']}")
    assert "<script>document.title='PWNED'" in _text(browser, "mention-text")


def _full_page_png(browser: Any, path: Path, width: int) -> None:
    """The whole page, not just the window (Chrome DevTools' beyond-viewport capture)."""
    size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": width, "height": min(size["height"], 3000), "scale": 1}
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


PAGES = {
    "login": "/login",
    "mentions": "/mentions",
    "mention": "/mentions/{espresso}",
    "escalations": "/escalations",
    "escalation": "/escalations/{esc}",
    "digests": "/digests",
}


@pytest.mark.parametrize("width", [1280, 390])
def test_pages_fit_the_screen_and_are_captured(
    browser: Any, live: Live, tmp_path: Path, width: int
) -> None:
    out = Path(os.environ.get("EARFUL_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    _login(browser, live)
    browser.set_window_size(width, 1000)
    try:
        for name, path in PAGES.items():
            if name == "login":
                browser.delete_all_cookies()
            url = live.base + path.format(espresso=live.ids["espresso"], esc=live.esc_id)
            browser.get(url)
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 1, f"{name} scrolls sideways at {width} px"
            _full_page_png(browser, out / f"{name}-{width}.png", width)
            if name == "login":
                _login(browser, live)
    finally:
        browser.set_window_size(1280, 900)
