"""Logging in: signed session cookies, CSRF tokens, login rate limit, the role check.

* The session is a cookie signed with a key derived from the installation's secret
  (``EARFUL_SECRET_KEY`` or the generated ``install_secret``; itsdangerous, expiring after
  ``SESSION_MAX_AGE``): ``{"u": user name, "s": password stamp, "c": CSRF token}``. HttpOnly,
  SameSite=Lax, Secure when the request (or ``EARFUL_BASE_URL``) is https. Changing a password
  or removing the user ends their sessions (the stamp no longer matches).
* Every form carries the session's CSRF token; :func:`check_csrf` compares in constant time.
  The login form has its own token in a short-lived cookie (double submit).
* Failed logins are counted per (user name, client address) in memory; after
  ``MAX_FAILURES`` within ``FAILURE_WINDOW`` the next attempts answer 429 until the window
  passes.
* :func:`load_user` is what the app's middleware calls on every request: no valid session →
  pages (outside ``OPEN_PATHS``) redirect to ``/login``, ``/api/*`` answers 401. ``/api/*``
  and ``/openapi.json`` (:func:`is_api`) also take ``Authorization: Bearer TOKEN``
  (``earful tokens create``) instead of a session; such a user has ``token=True``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from threading import Lock

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.clock import Clock
from earful.store.db import run_in_transaction
from earful.store.users import (
    authenticate,
    get_user,
    role_at_least,
    session_stamp,
    user_for_token,
)
from earful.web.pages import PageError, read_form, render

logger = logging.getLogger(__name__)

SESSION_COOKIE = "earful_session"
LOGIN_COOKIE = "earful_login"
SESSION_MAX_AGE = 12 * 3600
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
OPEN_PATHS = ("/login", "/healthz", "/static/earful.css")
OPEN_PREFIXES = ("/ack/",)
API_PATHS = ("/openapi.json",)


@dataclass(frozen=True, slots=True)
class WebUser:
    name: str
    role: str
    csrf: str
    token: bool = False  # authenticated by a bearer token (no cookie, so no CSRF risk)

    def can(self, needed: str) -> bool:
        return role_at_least(self.role, needed)


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def is_api(path: str) -> bool:
    """Paths for programs: bearer tokens count there, and errors are JSON, never redirects."""
    return path.startswith("/api/") or path in API_PATHS


class LoginLimiter:
    """Failed logins per (name, address) within a sliding window, in this process's memory."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[datetime]] = defaultdict(deque)
        self._lock = Lock()

    def _recent(self, key: tuple[str, str]) -> deque[datetime]:
        cutoff = self._clock.now() - FAILURE_WINDOW
        seen = self._failures[key]
        while seen and seen[0] <= cutoff:
            seen.popleft()
        return seen

    def blocked(self, name: str, address: str) -> bool:
        with self._lock:
            return len(self._recent((name.casefold(), address))) >= MAX_FAILURES

    def failed(self, name: str, address: str) -> None:
        with self._lock:
            self._recent((name.casefold(), address)).append(self._clock.now())

    def succeeded(self, name: str, address: str) -> None:
        with self._lock:
            self._failures.pop((name.casefold(), address), None)


class Sessions:
    """Signs and reads session cookies with keys derived from the installation's secret."""

    def __init__(self, keys: Callable[[], list[str]], *, base_url: str) -> None:
        self._keys = keys
        self._base_https = base_url.startswith("https://")
        self._serializer: URLSafeTimedSerializer | None = None

    def _signer(self) -> URLSafeTimedSerializer:
        if self._serializer is None:
            derived = [
                hmac.new(k.encode(), b"earful-session", hashlib.sha256).hexdigest()
                for k in self._keys()
            ]
            # itsdangerous signs with the last key and verifies with all of them.
            self._serializer = URLSafeTimedSerializer(
                list(reversed(derived)), salt="earful-session"
            )
        return self._serializer

    def secure(self, request: Request) -> bool:
        forwarded = request.headers.get("x-forwarded-proto", "")
        return self._base_https or request.url.scheme == "https" or forwarded == "https"

    def issue(self, response: Response, request: Request, *, name: str, stamp: str) -> None:
        token = self._signer().dumps({"u": name, "s": stamp, "c": secrets.token_urlsafe(24)})
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=SESSION_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=self.secure(request),
            path="/",
        )

    def read(self, request: Request) -> dict[str, str] | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            data = self._signer().loads(raw, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in "usc"):
            return None
        return {k: str(data[k]) for k in "usc"}


def load_user(
    engine: Engine, sessions: Sessions, request: Request, now: datetime
) -> WebUser | None:
    """The signed-in user of ``request``, or None (no cookie, bad signature, expired, user
    removed or password changed since); on :func:`is_api` paths a live bearer token also
    counts."""
    bearer = request.headers.get("authorization", "")
    if is_api(request.url.path) and bearer.lower().startswith("bearer "):
        token = bearer[7:].strip()

        def by_token(session: Session) -> WebUser | None:
            user = user_for_token(session, token=token, now=now)
            # No form is ever valid for a token caller: its CSRF value is random and unknown.
            if user is None:
                return None
            return WebUser(user.name, user.role, secrets.token_urlsafe(24), token=True)

        return run_in_transaction(engine, by_token)
    data = sessions.read(request)
    if data is None:
        return None

    def lookup(session: Session) -> WebUser | None:
        user = get_user(session, name=data["u"])
        if user is None or not hmac.compare_digest(session_stamp(user), data["s"]):
            return None
        return WebUser(user.name, user.role, data["c"])

    return run_in_transaction(engine, lookup)


def check_csrf(request: Request, form: dict[str, str]) -> WebUser:
    """The signed-in user, when the form carries their session's CSRF token (else 403)."""
    user: WebUser | None = getattr(request.state, "user", None)
    if user is None:
        raise PageError(401, "Log in first")
    if not user.csrf or not hmac.compare_digest(form.get("csrf", ""), user.csrf):
        raise PageError(403, "Form expired", "Reload the page and try again.")
    return user


def require(request: Request, role: str) -> WebUser:
    """The signed-in user if their role includes ``role``, else a 403 page."""
    user: WebUser | None = getattr(request.state, "user", None)
    if user is None:
        raise PageError(401, "Log in first")
    if not user.can(role):
        raise PageError(403, "Not allowed", f"This needs the {role} role; you are {user.role}.")
    return user


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never ``//host`` or a scheme) is followed after login."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def make_auth_router(*, engine: Engine, sessions: Sessions, limiter: LoginLimiter) -> APIRouter:
    router = APIRouter()

    def login_page(request: Request, status: int, *, error: str, next_url: str) -> Response:
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        response = render(
            request, "login.html", status_code=status, error=error, login_csrf=token, next=next_url
        )
        response.set_cookie(
            LOGIN_COOKIE,
            token,
            max_age=3600,
            httponly=True,
            samesite="lax",
            secure=sessions.secure(request),
            path="/login",
        )
        return response

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> Response:
        return login_page(request, 200, error="", next_url=_safe_next(next))

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        form = await read_form(request)
        name, password = form.get("username", "").strip(), form.get("password", "")
        next_url = _safe_next(form.get("next"))
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        if not cookie or not hmac.compare_digest(cookie, form.get("csrf", "")):
            return login_page(request, 403, error="The form expired; try again.", next_url=next_url)
        address = _client(request)
        if limiter.blocked(name, address):
            logger.warning("login rate-limited for %r from %s", name, address)
            response = login_page(
                request, 429, error="Too many failed attempts; wait and retry.", next_url=next_url
            )
            response.headers["Retry-After"] = str(int(FAILURE_WINDOW.total_seconds()))
            return response

        def check(session: Session) -> tuple[str, str] | None:
            user = authenticate(session, name=name, password=password)
            return (user.name, session_stamp(user)) if user is not None else None

        found = run_in_transaction(engine, check) if name and password else None
        if found is None:
            limiter.failed(name, address)
            logger.info("failed login for %r from %s", name, address)
            return login_page(request, 401, error="Wrong user name or password.", next_url=next_url)
        limiter.succeeded(name, address)
        response = RedirectResponse(next_url, status_code=303)
        sessions.issue(response, request, name=found[0], stamp=found[1])
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        logger.info("%s logged in from %s", found[0], address)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        check_csrf(request, await read_form(request))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return router
