"""Login: without a session every page redirects to /login and /api/* is 401; passwords are
argon2-hashed; cookies are signed, HttpOnly, SameSite=Lax (Secure behind https); forms carry
CSRF tokens; failed logins are rate-limited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.clock import SimulatedClock
from earful.store.users import User, get_user, remove_user, set_password
from earful.web.auth import MAX_FAILURES, SESSION_COOKIE
from tests.unit.web.web_factories import (
    PASSWORD,
    T0,
    login,
    login_csrf,
    make_client,
    make_user,
    page_csrf,
)

PAGES = [
    "/",
    "/mentions",
    "/mentions/1",
    "/escalations",
    "/escalations/1",
    "/incidents/1",
    "/digests",
    "/digests/Acme/2025-03-11",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_redirects_to_login_without_a_session(sqlite_engine: Engine, path: str) -> None:
    answer = make_client(sqlite_engine).get(path)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


def test_forms_without_a_session_change_nothing(sqlite_engine: Engine) -> None:
    client = make_client(sqlite_engine)
    for path in ("/mentions/1", "/escalations/1/acknowledge", "/logout"):
        answer = client.post(path, data={"csrf": "x", "status": "irrelevant"})
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_api_answers_401_and_open_paths_stay_open(sqlite_engine: Engine) -> None:
    client = make_client(sqlite_engine)
    api = client.get("/api/escalations")
    assert api.status_code == 401 and api.json()["error"]["code"] == "unauthorized"
    assert client.get("/api/anything").status_code == 401
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/static/earful.css").status_code == 200
    assert client.get("/ack/garbage").status_code == 403  # the ack page itself, not a redirect


def test_password_is_stored_hashed_with_argon2(sqlite_engine: Engine) -> None:
    make_user(sqlite_engine, "lea", "lead")
    with Session(sqlite_engine) as s:
        user = get_user(s, name="lea")
        assert user is not None and user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


def test_wrong_password_fails_and_right_one_gives_a_signed_cookie(sqlite_engine: Engine) -> None:
    make_user(sqlite_engine, "lea", "lead")
    client = make_client(sqlite_engine)
    csrf = login_csrf(client)
    wrong = client.post("/login", data={"username": "lea", "password": "nope", "csrf": csrf})
    assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
    assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
    nobody = client.post("/login", data={"username": "zed", "password": PASSWORD, "csrf": csrf})
    assert nobody.status_code == 401
    assert client.get("/escalations").status_code == 303
    ok = client.post(
        "/login",
        data={"username": "lea", "password": PASSWORD, "csrf": csrf, "next": "/mentions"},
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/mentions"
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert client.get("/escalations").status_code == 200
    assert client.get("/api/escalations").status_code == 200


def test_cookie_is_secure_behind_https(sqlite_engine: Engine) -> None:
    make_user(sqlite_engine, "lea", "lead")
    client = make_client(sqlite_engine, base_url="https://earful.example")
    ok = client.post(
        "/login", data={"username": "lea", "password": PASSWORD, "csrf": login_csrf(client)}
    )
    assert ok.status_code == 303 and "Secure" in ok.headers["set-cookie"]


def test_login_form_needs_its_csrf_token(sqlite_engine: Engine) -> None:
    make_user(sqlite_engine, "lea", "lead")
    client = make_client(sqlite_engine)
    login_csrf(client)
    answer = client.post("/login", data={"username": "lea", "password": PASSWORD, "csrf": "x"})
    assert answer.status_code == 403


def test_login_never_redirects_off_site(sqlite_engine: Engine) -> None:
    make_user(sqlite_engine, "lea", "lead")
    client = make_client(sqlite_engine)
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        data = {"username": "lea", "password": PASSWORD, "csrf": login_csrf(client)}
        answer = client.post("/login", data={**data, "next": target})
        assert answer.headers["location"] == "/"


def test_failed_logins_are_rate_limited_per_name_and_address(sqlite_engine: Engine) -> None:
    make_user(sqlite_engine, "lea", "lead")
    clock = SimulatedClock(T0)
    client = make_client(sqlite_engine, clock=clock)
    csrf = login_csrf(client)
    for _ in range(MAX_FAILURES):
        bad = client.post("/login", data={"username": "lea", "password": "bad", "csrf": csrf})
        assert bad.status_code == 401
    right = {"username": "lea", "password": PASSWORD, "csrf": csrf}
    blocked = client.post("/login", data=right)
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    clock.advance(timedelta(minutes=16))
    assert client.post("/login", data=right).status_code == 303


def test_forged_or_tampered_session_is_refused(sqlite_engine: Engine) -> None:
    make_user(sqlite_engine, "lea", "lead")
    client = login(make_client(sqlite_engine), "lea")
    value = client.cookies[SESSION_COOKIE]
    client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert client.get("/escalations").status_code == 303


def test_new_password_or_removal_ends_sessions(sqlite_engine: Engine) -> None:
    make_user(sqlite_engine, "lea", "lead")
    make_user(sqlite_engine, "ana", "analyst")
    lea = login(make_client(sqlite_engine), "lea")
    ana = login(make_client(sqlite_engine), "ana")
    with Session(sqlite_engine) as s, s.begin():
        set_password(s, name="lea", password="another password", now=T0)
        remove_user(s, name="ana")
        assert s.get(User, 1) is not None
    assert lea.get("/escalations").status_code == 303
    assert ana.get("/escalations").status_code == 303


def test_logout_needs_csrf_and_ends_the_session(sqlite_engine: Engine) -> None:
    make_user(sqlite_engine, "lea", "lead")
    client = login(make_client(sqlite_engine), "lea")
    csrf = page_csrf(client, "/escalations")
    assert client.post("/logout", data={"csrf": "wrong"}).status_code == 403
    assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    assert client.get("/escalations").status_code == 303


def test_pages_forbid_inline_script_and_style(sqlite_engine: Engine) -> None:
    make_user(sqlite_engine, "lea", "lead")
    client = login(make_client(sqlite_engine), "lea")
    for path in ("/login", "/escalations", "/mentions"):
        csp = client.get(path).headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "script-src" not in csp
        assert "default-src 'none'" in csp
