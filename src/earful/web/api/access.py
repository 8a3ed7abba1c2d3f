"""Who may call an API route: the signed-in session or bearer token's user, by role.

Reading needs ``analyst`` (any role). Writing needs the route's role and, for a session
cookie, the session's CSRF token in the ``X-CSRF-Token`` header (``GET /api/me`` gives it):
a browser sends the cookie on a cross-site request too, but no other site can read the token
or set that header without CORS, which this app never grants. A bearer token is sent only by
programs that hold it, so token calls need no CSRF token.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from earful.web.api.errors import ApiError
from earful.web.auth import WebUser, require

logger = logging.getLogger(__name__)

CSRF_HEADER = "X-CSRF-Token"

# Only documents the scheme in /openapi.json (and /docs' Authorize button): the app's
# middleware has already resolved the token or the session to ``request.state.user``.
bearer = HTTPBearer(
    auto_error=False,
    description="a token from `earful tokens create USER`; or sign in for a session cookie",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def reader(request: Request, _: Credentials) -> WebUser:
    return require(request, "analyst")


def writer(role: str) -> Callable[..., WebUser]:
    """A dependency: the user, when their role includes ``role`` and, on a session, the
    request carries the session's CSRF token."""

    def check(request: Request, _: Credentials) -> WebUser:
        user = require(request, role)
        if not user.token:
            sent = request.headers.get(CSRF_HEADER, "")
            if not sent or not hmac.compare_digest(sent, user.csrf):
                raise ApiError(
                    403,
                    f"with a session cookie, send the {CSRF_HEADER} header (GET /api/me)",
                    code="csrf",
                )
        return user

    return check


Reader = Annotated[WebUser, Depends(reader)]
Analyst = Annotated[WebUser, Depends(writer("analyst"))]
Lead = Annotated[WebUser, Depends(writer("lead"))]
