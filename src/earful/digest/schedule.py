"""Which brands' digests are due, and sending each one once per brand and local day.

A brand is due when its local time (its timezone) has passed its send time (``digest.send_at``
or the brand's own). ``digest.covers`` picks the day reported: the finished previous day
(default) or the day so far. ``run_due_digests`` is what the embedded runner and the Celery beat
task call every few minutes: it claims ``digest_run (brand, day)`` before sending, so running it
twice, or on two workers at once, sends one email. A failed send is retried on the next run (up
to ``MAX_ATTEMPTS``); a claim left in ``sending`` by a crash is retried after ``STALE_CLAIM``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import quote

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from earful.clock import Clock
from earful.config.models import AppConfig
from earful.digest.build import build_digest, local_today
from earful.digest.charts import render_charts
from earful.digest.mail import build_message, send_message, subject_for, valid_recipients
from earful.errors import NotificationError
from earful.settings import Settings
from earful.store.digest_runs import DigestRun

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
STALE_CLAIM = timedelta(hours=1)

Sender = Callable[[EmailMessage, Settings], None]


@dataclass(frozen=True, slots=True)
class DueDigest:
    brand: str
    day: date


def due_digests(config: AppConfig, now: datetime) -> list[DueDigest]:
    """Tracked brands whose local send time has passed today (pure; ignores what was sent)."""
    dcfg = config.digest
    if not dcfg.enabled:
        return []
    due = []
    for brand in config.brands:
        if not brand.track or not dcfg.brand_settings(brand.name).enabled:
            continue
        local = now.astimezone(brand.zone())
        if local.time().replace(tzinfo=None) < dcfg.send_time_for(brand.name):
            continue
        today = local_today(now, brand.zone())
        day = today - timedelta(days=1) if dcfg.covers == "previous_day" else today
        due.append(DueDigest(brand.name, day))
    return due


def claim(session: Session, due: DueDigest, now: datetime) -> DigestRun | None:
    """Insert or re-take the (brand, day) row; ``None`` when it is sent or being sent."""
    key = due.day.isoformat()
    try:
        with session.begin_nested():
            run = DigestRun(brand=due.brand, day=key, status="sending", attempts=1, claimed_at=now)
            session.add(run)
            session.flush()
        return run
    except IntegrityError:
        pass
    existing = session.exec(
        select(DigestRun).where(DigestRun.brand == due.brand, DigestRun.day == key)
    ).one()
    retry_failed = existing.status == "failed" and existing.attempts < MAX_ATTEMPTS
    stale = existing.status == "sending" and existing.claimed_at < now - STALE_CLAIM
    if not (retry_failed or stale):
        return None
    # Conditional update: only one concurrent claimer sees rowcount 1.
    result = session.execute(
        update(DigestRun)
        .where(
            DigestRun.id == existing.id,  # type: ignore[arg-type]
            DigestRun.status == existing.status,  # type: ignore[arg-type]
            DigestRun.attempts == existing.attempts,  # type: ignore[arg-type]
        )
        .values(status="sending", attempts=existing.attempts + 1, claimed_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    session.refresh(existing)
    return existing


def _finish(engine: Engine, run_id: int, **values: object) -> None:
    with Session(engine) as session, session.begin():
        session.execute(update(DigestRun).where(DigestRun.id == run_id).values(**values))  # type: ignore[arg-type]


def run_due_digests(
    engine: Engine,
    config: AppConfig,
    settings: Settings,
    clock: Clock,
    *,
    sender: Sender = send_message,
) -> list[DigestRun]:
    """Build and send every due digest not yet sent; returns the runs it handled."""
    now = clock.now()
    handled = []
    for due in due_digests(config, now):
        with Session(engine, expire_on_commit=False) as session, session.begin():
            run = claim(session, due, now)
        if run is None or run.id is None:
            continue
        recipients = valid_recipients(config.digest.recipients_for(due.brand))
        if not recipients:
            logger.warning("digest for %s %s: no recipients configured", due.brand, due.day)
            _finish(engine, run.id, status="no_recipients")
            run.status = "no_recipients"
            handled.append(run)
            continue
        try:
            data = build_digest(engine, config, brand=due.brand, now=now, day=due.day)
            brand_path = quote(due.brand, safe="")  # "Acme Air" must not break the link
            web_url = f"{settings.base_url.rstrip('/')}/digests/{brand_path}/{due.day}"
            msg = build_message(
                data,
                render_charts(data),
                sender=settings.smtp_from,
                recipients=recipients,
                subject=subject_for(config.digest.subject, data),
                web_url=web_url,
                chronic_weeks=config.digest.chronic_min_weeks,
                chronic_authors=config.digest.chronic_min_authors,
            )
            sender(msg, settings)
        except NotificationError as exc:
            logger.warning("digest for %s %s not sent: %s", due.brand, due.day, exc)
            _finish(engine, run.id, status="failed", error=str(exc)[:500])
            run.status = "failed"
            handled.append(run)
            continue
        _finish(
            engine,
            run.id,
            status="sent",
            sent_at=clock.now(),
            recipients=json.dumps(recipients),
            volume=data.volume,
            error=None,
        )
        run.status = "sent"
        handled.append(run)
        logger.info("digest for %s %s sent to %s", due.brand, due.day, len(recipients))
    return handled


def list_runs(engine: Engine, *, limit: int = 200) -> list[DigestRun]:
    """The archive: newest first."""
    with Session(engine) as session:
        rows = session.exec(
            select(DigestRun).order_by(DigestRun.day.desc(), DigestRun.brand).limit(limit)  # type: ignore[attr-defined]
        ).all()
        return list(rows)
