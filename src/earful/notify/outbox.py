"""The outbox: each (escalation, level, recipient) delivered once, failures visible.

Contract of :func:`deliver_due` (one pass; safe to run concurrently and after crashes):

1. *Claim* a due row in its own committed transaction: ``pending -> sending`` by a conditional
   UPDATE (two workers cannot both claim it), ``attempts + 1``, ``sending_since = now``.
2. *Send* with the row's stable idempotency key, outside any transaction.
3. *Record* in a second transaction: ``sent`` (and the escalation's ``notified_at``), or back to
   ``pending`` with exponential backoff for transient errors, or ``dead`` after
   ``max_attempts`` or a permanent error.

A row still ``sending`` after ``lease`` means the process died between 2 and 3: the message
may or may not have gone out. On a channel that honours the idempotency key (webhook, file) it
is re-sent with the same key, so the receiver sees it once; on the others it becomes
``unknown`` — listed as a failure for a person to check, never sent twice blindly.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from earful.clock import Clock
from earful.config.escalation import ChannelConfig
from earful.config.models import AppConfig
from earful.errors import ConfigError, NotificationError, TransientNotificationError
from earful.escalation.lifecycle import add_event
from earful.escalation.links import signing_keys
from earful.notify.channels.base import Sender
from earful.notify.channels.console import ConsoleSender, FileSender
from earful.notify.channels.email import EmailSender
from earful.notify.channels.slack import SlackSender
from earful.notify.channels.teams import TeamsSender
from earful.notify.channels.webhook import WebhookSender
from earful.notify.message import Message, build_message
from earful.settings import Settings, get_settings
from earful.store.db import run_in_transaction
from earful.store.escalations import Escalation, Notification

logger = logging.getLogger(__name__)

FAILED = ("dead", "unknown")


@dataclass(slots=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    unknown: int = 0
    resent_after_crash: int = 0
    latencies_s: list[float] = field(default_factory=list)


def make_sender(
    name: str,
    channel: ChannelConfig,
    *,
    settings: Settings,
    client: httpx.Client,
    env: Mapping[str, str] | None = None,
) -> Sender:
    """The sender for one configured channel; URLs and secrets may come from the environment."""
    env = os.environ if env is None else env
    url = channel.url or (env.get(channel.url_env) if channel.url_env else None)
    if channel.kind == "console":
        return ConsoleSender()
    if channel.kind == "file":
        return FileSender(Path(channel.path or "escalations.jsonl"))
    if channel.kind == "email":
        return EmailSender(settings)
    if channel.kind == "apprise":
        return _apprise_sender(name, channel, env)
    if not url:
        missing = f" ({channel.url_env} is not set)" if channel.url_env else ""
        raise ConfigError(
            f"channel {name!r} needs url or url_env{missing}", field="escalation.channels"
        )
    if channel.kind == "slack":
        return SlackSender(url, client)
    if channel.kind == "teams":
        return TeamsSender(url, client)

    secret = env.get(channel.secret_env) if channel.secret_env else None
    if channel.secret_env and not secret:
        # Never send unsigned because a variable is missing: the receiver would refuse (or worse,
        # accept) every request, and nobody would know why.
        raise ConfigError(
            f"channel {name!r}: secret_env {channel.secret_env} is not set",
            field="escalation.channels",
        )
    return WebhookSender(url, client, secret=secret)


def _apprise_sender(name: str, channel: ChannelConfig, env: Mapping[str, str]) -> Sender:
    # Imported here: Apprise loads its hundred plugins on first use, which only this needs.
    from earful.notify.channels.apprise import AppriseSender

    url = env.get(channel.url_env) if channel.url_env else None
    if not url:
        raise ConfigError(
            f"channel {name!r}: url_env {channel.url_env} is not set (it holds the Apprise URL)",
            field="escalation.channels",
        )
    return AppriseSender(url, name=name)


def senders_from_config(
    config: AppConfig,
    settings: Settings,
    client: httpx.Client,
    env: Mapping[str, str] | None = None,
) -> dict[str, Sender]:
    return {
        name: make_sender(name, ch, settings=settings, client=client, env=env)
        for name, ch in config.escalation.channels.items()
    }


def _backoff(attempts: int, config: AppConfig) -> timedelta:
    delay: timedelta = config.escalation.retry_base * (2 ** max(attempts - 1, 0))
    return min(delay, timedelta(hours=1))


def _claim(engine: Engine, row_id: int, expect: str, now: datetime) -> bool:
    def work(session: Session) -> bool:
        result = session.exec(  # type: ignore[call-overload]
            update(Notification)
            .where(col(Notification.id) == row_id, col(Notification.status) == expect)
            .values(
                status="sending",
                sending_since=now,
                attempts=col(Notification.attempts) + 1,
            )
        )
        return bool(result.rowcount == 1)

    return run_in_transaction(engine, work)


def _due(engine: Engine, now: datetime, lease: timedelta, limit: int) -> list[Notification]:
    def work(session: Session) -> list[Notification]:
        pending = session.exec(
            select(Notification)
            .where(Notification.status == "pending", col(Notification.next_attempt_at) <= now)
            .order_by(col(Notification.next_attempt_at))
            .limit(limit)
        ).all()
        stale = session.exec(
            select(Notification)
            .where(
                Notification.status == "sending",
                col(Notification.sending_since) <= now - lease,
            )
            .limit(limit)
        ).all()
        return [*stale, *pending]

    return run_in_transaction(engine, work)


def _message(
    engine: Engine, row: Notification, config: AppConfig, settings: Settings, now: datetime
) -> Message:
    def work(session: Session) -> Message:
        esc = session.get(Escalation, row.escalation_id)
        assert esc is not None
        return build_message(
            session,
            esc,
            row.level,
            config=config,
            base_url=settings.base_url,
            secret=signing_keys(settings, engine)[0],
            notification=row,
            now=now,
        )

    return run_in_transaction(engine, work)


def _finish(
    engine: Engine,
    row_id: int,
    now: datetime,
    *,
    status: str,
    error: str | None = None,
    next_at: datetime | None = None,
) -> None:
    def work(session: Session) -> None:
        row = session.get(Notification, row_id)
        assert row is not None
        row.status = status
        row.last_error = error
        if next_at is not None:
            row.next_attempt_at = next_at
        esc = session.get(Escalation, row.escalation_id)
        if status == "sent":
            row.sent_at = now
            if esc is not None and esc.notified_at is None:
                esc.notified_at = now
                session.add(esc)
        session.add(row)
        if esc is not None and status in ("sent", *FAILED):
            kind = "notified" if status == "sent" else "delivery_failed"
            add_event(session, esc, kind, now, level=row.level, actor=row.recipient, detail=error)

    run_in_transaction(engine, work)


def deliver_due(
    engine: Engine,
    senders: Mapping[str, Sender],
    *,
    clock: Clock,
    config: AppConfig,
    settings: Settings,
    limit: int = 100,
    lease: timedelta = timedelta(minutes=5),
    after_send: Callable[[Notification], None] | None = None,
) -> DeliveryReport:
    """One delivery pass over due rows (see the module docstring). ``after_send`` runs between
    a successful send and its commit (tests use it to simulate a crash there)."""
    report = DeliveryReport()
    now = clock.now()
    for row in _due(engine, now, lease, limit):
        assert row.id is not None
        sender = senders.get(row.channel)
        if sender is None:
            continue  # this pass was not given that channel; another one delivers it
        if row.status == "sending":
            if not sender.idempotent:
                _finish(
                    engine,
                    row.id,
                    now,
                    status="unknown",
                    error="interrupted during send; not re-sent (channel has no idempotency)",
                )
                report.unknown += 1
                continue
            if not _claim(engine, row.id, "sending", now):
                continue
            report.resent_after_crash += 1
        elif not _claim(engine, row.id, "pending", now):
            continue  # another worker took it
        attempts = row.attempts + 1
        to = row.recipient.partition(":")[2] or row.recipient
        try:
            msg = _message(engine, row, config, settings, now)
            sender.send(msg, to=to, idempotency_key=row.idempotency_key)
        except TransientNotificationError as exc:
            if attempts >= config.escalation.max_attempts:
                _finish(engine, row.id, now, status="dead", error=f"{exc.reason}: {exc}")
                report.dead += 1
            else:
                _finish(
                    engine,
                    row.id,
                    now,
                    status="pending",
                    error=f"{exc.reason}: {exc}",
                    next_at=now + _backoff(attempts, config),
                )
                report.retried += 1
            logger.warning("notification %s via %s failed: %s", row.id, row.channel, exc)
            continue
        except NotificationError as exc:
            _finish(engine, row.id, now, status="dead", error=f"{exc.reason}: {exc}")
            report.dead += 1
            logger.error("notification %s via %s failed for good: %s", row.id, row.channel, exc)
            continue
        if after_send is not None:
            after_send(row)
        _finish(engine, row.id, now, status="sent")
        report.sent += 1
        report.latencies_s.append((now - row.created_at).total_seconds())
    return report


def failures(session: Session) -> list[Notification]:
    """Notifications that need a person: dead (gave up) or unknown (interrupted)."""
    return list(
        session.exec(
            select(Notification)
            .where(col(Notification.status).in_(FAILED))
            .order_by(col(Notification.created_at))
        ).all()
    )


def default_deliverer(config: AppConfig, clock: Clock) -> Callable[[Engine], object]:
    """Flush the outbox over the configured channels (settings from the environment, read on
    first use). A channel that cannot be built (e.g. its URL variable unset) is logged once
    and skipped; its rows stay pending, visible in ``earful escalations show``."""
    cache: dict[str, Any] = {}

    def deliver(engine: Engine) -> object:
        if "senders" not in cache:
            settings = get_settings()
            client = httpx.Client(timeout=settings.http_timeout_s)
            senders = {}
            for name, channel in config.escalation.channels.items():
                try:
                    senders[name] = make_sender(name, channel, settings=settings, client=client)
                except ConfigError as exc:
                    logger.error("notification channel %s disabled: %s", name, exc)
            cache.update(senders=senders, settings=settings, client=client)
        return deliver_due(
            engine, cache["senders"], clock=clock, config=config, settings=cache["settings"]
        )

    return deliver
