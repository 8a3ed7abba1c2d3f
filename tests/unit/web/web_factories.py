"""Test factories for the workspace: users in the store and a logged-in TestClient."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.clock import Clock, SimulatedClock
from earful.config.models import AppConfig
from earful.settings import Settings
from earful.store.models import Mention, MentionBrand
from earful.store.users import add_user
from earful.web.app import create_app

with warnings.catch_warnings():
    # Starlette deprecates its httpx-based TestClient in favour of httpx2 (not installed).
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

T0 = datetime(2025, 3, 11, 14, 0, tzinfo=UTC)
SECRET = "web-test-secret"
PASSWORD = "correct horse battery"


def make_user(engine: Engine, name: str, role: str, password: str = PASSWORD) -> None:
    with Session(engine) as s, s.begin():
        add_user(s, name=name, role=role, password=password, now=T0, email=None)


def make_client(
    engine: Engine,
    config: AppConfig | None = None,
    *,
    clock: Clock | None = None,
    base_url: str = "http://testserver",
) -> TestClient:
    settings = Settings(secret_key=SECRET, base_url=base_url)  # type: ignore[arg-type]
    app = create_app(settings, engine, config or AppConfig(), clock=clock or SimulatedClock(T0))
    return TestClient(app, base_url=base_url, follow_redirects=False)


def login_csrf(client: TestClient) -> str:
    page = client.get("/login")
    found = re.search(r'id="login-csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> TestClient:
    """Log ``client`` in through the form, as a browser does (GET /login, then POST)."""
    answer = client.post(
        "/login",
        data={"username": name, "password": password, "csrf": login_csrf(client), "next": "/"},
    )
    assert answer.status_code == 303, answer.text
    return client


def page_csrf(client: TestClient, path: str) -> str:
    """The CSRF token of the forms on ``path`` (the signed-in session's)."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def store_mention(
    session: Session,
    ext: str,
    text: str,
    *,
    source: str,
    brand: str,
    at: datetime,
    label: str,
    compound: float,
    **fields: Any,
) -> int:
    """One stored mention of ``brand`` published at ``at`` (url and author from ``ext``)."""
    m = Mention(
        source=source,
        external_id=ext,
        text=text,
        url=f"https://{source}.example/{ext}",
        author=f"author-{ext}",
        sentiment_label=label,
        sentiment_compound=compound,
        published_at=at,
        fetched_at=at,
        **fields,
    )
    session.add(m)
    session.flush()
    assert m.id is not None
    session.add(MentionBrand(mention_id=m.id, brand=brand, published_at=at))
    return m.id
