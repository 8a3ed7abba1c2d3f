"""``/api/digests/{brand}/{day}`` (the digest JSON), ``/api/sources`` (health), ``/api/me``.

* The digest is ``earful digest --json``'s object (``earful.digest.build.build_digest``),
  computed live; a brand found only in stored data gets defaults (UTC, no competitors).
* A source's ``status`` is the digest's verdict (``earful.digest.health.assess_source``) over
  the last ``HEALTH_WINDOW``: ok, failing, recovered, disabled, never_polled, stale, silent;
  configured sources first, then stored ones no longer configured.
* ``/api/me`` tells a script who it acts as; a session also gets its CSRF token there.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.clock import Clock
from earful.config.models import AppConfig
from earful.digest.build import build_digest
from earful.digest.health import assess_source
from earful.store import repository
from earful.store.db import run_in_transaction
from earful.store.models import SourceState
from earful.web.api.access import Reader
from earful.web.api.schemas import MeOut, SourceOut

logger = logging.getLogger(__name__)

HEALTH_WINDOW = timedelta(days=1)


def source_health(
    config: AppConfig, states: dict[str, SourceState], now: datetime
) -> list[SourceOut]:
    """One record per configured source and per stored state no longer configured."""
    names = [s.name for s in config.sources]
    names += sorted(set(states) - set(names))
    out = []
    for name in names:
        cfg, st = config.source(name), states.get(name)
        health = assess_source(
            name,
            cfg.kind if cfg else None,
            configured_enabled=cfg.enabled if cfg else True,
            state=st,
            start=now - HEALTH_WINDOW,
            zone=ZoneInfo("UTC"),
        )
        out.append(
            SourceOut(
                name=name,
                kind=health.kind,
                in_config=cfg is not None,
                enabled=bool((cfg is None or cfg.enabled) and (st is None or st.enabled)),
                status=health.status,
                detail=health.detail,
                last_polled_at=st.last_polled_at if st else None,
                last_ok_at=st.last_ok_at if st else None,
                last_error_at=st.last_error_at if st else None,
                last_error=st.last_error if st else None,
                last_error_reason=st.last_error_reason if st else None,
                consecutive_failures=st.consecutive_failures if st else 0,
                next_poll_at=st.next_poll_at if st else None,
                quota_left=st.quota_left if st else None,
                last_item_count=st.last_item_count if st else None,
            )
        )
    return out


def make_misc_api(*, engine: Engine, config: AppConfig, clock: Clock) -> APIRouter:
    router = APIRouter()

    @router.get("/api/digests/{brand}/{day}", tags=["digests"])
    def digest(_: Reader, brand: str, day: date) -> dict[str, Any]:
        """The digest JSON of ``brand`` for local day ``day`` (``YYYY-MM-DD``)."""
        data = build_digest(engine, config, brand=brand, now=clock.now(), day=day)
        return data.to_json()

    @router.get("/api/sources", response_model=list[SourceOut], tags=["sources"])
    def sources(_: Reader) -> list[SourceOut]:
        """Health of every source."""
        now = clock.now()

        def read(session: Session) -> dict[str, SourceState]:
            return repository.all_source_states(session)

        return source_health(config, run_in_transaction(engine, read), now)

    @router.get("/api/me", response_model=MeOut, tags=["session"])
    def me(user: Reader) -> MeOut:
        """Who the caller acts as; with a session cookie also the CSRF token for writes."""
        return MeOut(name=user.name, role=user.role, csrf_token=None if user.token else user.csrf)

    return router
