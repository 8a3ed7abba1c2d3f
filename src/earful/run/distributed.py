"""The core of the distributed runner: what the Celery tasks in ``workers/tasks.py`` call.

The tasks stay thin (ids or JSON in, one call here); everything below is plain Python over an
engine, so it is tested without a broker. It drives the *same* functions as ``earful run``
(:func:`earful.run.runner.poll_source`, :func:`earful.pipeline.process_batch`, ...).

Scheduling. Beat sends ``earful.tick`` every few seconds. :func:`tick` reloads the config (a
source added to ``sources.yaml`` is due at once, no restart), asks :func:`runner.due_sources`,
and *claims* each due source with a conditional UPDATE (:func:`repository.claim_source`) under
a fresh token, re-checking in the same transaction that the source is still due. Only after
the commit does it enqueue ``earful.poll_source(name, token)``. Two ticks racing (two beats, a
slow tick overlapping the next) cannot both win a claim, and a tick that read a stale due list
finds the source no longer due and lets go of it.

Polling. :func:`poll_claimed` runs ``runner.poll_source`` with the claim token as the lease
owner: a redelivered message (the worker was SIGKILLed, Redis handed the message to another
worker after the visibility timeout) carries the same token and resumes; a stale message whose
claim expired and was taken by a newer tick is skipped. Upserts are idempotent, so a batch that
is stored twice leaves the same rows.

Lost follow-ups. A poll's risk evaluation travels as its own ``earful.evaluate_risk`` message;
a Redis restart without persistence drops the messages still queued. Beat's
``earful.sweep_unscored`` (:func:`sweep_unscored`, ``run.sweep``) finds the stored mentions no
evaluation reached and enqueues them again, so none stays unscored once Redis is back.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from earful.clock import Clock, SystemClock, parse_iso
from earful.config.loader import config_fingerprint, load_config
from earful.config.models import AppConfig
from earful.digest.schedule import run_due_digests
from earful.errors import StorageError, TransientNotificationError, TransientSourceError
from earful.mention import Engagement, RawMention
from earful.notify.outbox import default_deliverer
from earful.pipeline import PipelineContext, build_context, process_batch, run_after_batch
from earful.risk import evaluation as risk_eval
from earful.risk.evaluation import evaluate_and_escalate, run_sla_checks
from earful.run import rematch, runner, sweep
from earful.settings import Settings
from earful.sources.http import HttpClient, make_client
from earful.sources.limits import make_limits
from earful.store import repository
from earful.store.db import make_engine, run_in_transaction
from earful.store.models import SourceState

logger = logging.getLogger(__name__)

# How long a tick's claim holds a source before its poll starts. Longer than the queue wait
# plus a poll, so it only runs out when the message was lost (e.g. Redis restarted without
# persistence); the source is then claimed again by a later tick.
DISPATCH_LEASE = runner.LEASE
QUEUES = ("poll", "process", "engagement", "notify", "digest")

# Errors worth a Celery retry with backoff. Everything else is a bug or a permanent failure:
# retrying it would only repeat it (source errors are recorded by the runner with their own
# backoff and never reach Celery).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientSourceError,
    TransientNotificationError,
    OperationalError,
    StorageError,  # run_in_transaction's wrapper of OperationalError
)


# --------------------------------------------------------------------------- logging

_task_id: ContextVar[str] = ContextVar("earful_task_id", default="-")
_source: ContextVar[str] = ContextVar("earful_source", default="-")

LOG_FORMAT = (
    "%(asctime)s %(levelname)s [%(processName)s] task=%(task_id)s source=%(source)s "
    "%(name)s: %(message)s"
)


class TaskContextFilter(logging.Filter):
    """Adds ``task_id`` and ``source`` to every record (``-`` outside a task), so every log
    line of a poll names the task and the source it belongs to."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "task_id"):
            record.task_id = _task_id.get()
        if not hasattr(record, "source"):
            record.source = _source.get()
        return True


@contextmanager
def log_context(task_id: str | None = None, source: str | None = None) -> Any:
    """Within the block, log records carry ``task_id`` and ``source``."""
    tokens = []
    if task_id is not None:
        tokens.append((_task_id, _task_id.set(task_id)))
    if source is not None:
        tokens.append((_source, _source.set(source)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def install_log_filter(logger_: logging.Logger, fmt: str | None = LOG_FORMAT) -> None:
    """Put :class:`TaskContextFilter` (and the structured format) on ``logger_``'s handlers."""
    for handler in logger_.handlers:
        if not any(isinstance(f, TaskContextFilter) for f in handler.filters):
            handler.addFilter(TaskContextFilter())
        if fmt is not None:
            handler.setFormatter(logging.Formatter(fmt))


# --------------------------------------------------------------------------- runtime


@dataclass
class Runtime:
    """What one worker process keeps between tasks: engine, HTTP client, config and the
    compiled pipeline context (rebuilt only when the config files change)."""

    settings: Settings
    engine: Engine
    http: HttpClient
    clock: Clock = field(default_factory=SystemClock)
    config_loader: Callable[[Path], AppConfig] | None = None
    # How a stored batch's risk evaluation is enqueued (workers/tasks.py: the evaluate_risk
    # task); None: no follow-up.
    risk_enqueuer: Callable[[list[int]], None] | None = None
    _fingerprint: str | None = None
    _config: AppConfig | None = None
    _ctx: PipelineContext | None = None
    _deliverer: tuple[PipelineContext, Callable[[Engine], object]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def context(self) -> PipelineContext:
        """The pipeline context of the current config; the config is re-read when its files
        changed, so an edited ``sources.yaml`` needs no restart. A config that no longer
        validates is logged and the previous one kept."""

        directory = self.settings.resolved_config_dir()
        with self._lock:
            fingerprint = config_fingerprint(directory)
            if self._ctx is None or fingerprint != self._fingerprint:
                try:
                    config = (self.config_loader or load_config)(directory)
                except Exception:
                    if self._ctx is None:
                        raise
                    logger.exception("config reload failed, keeping the previous config")
                    return self._ctx
                self._ctx = build_context(config, self.clock)
                self._ctx.after_batch.append(self._enqueue_risk)
                self._config = config
                self._fingerprint = fingerprint
            return self._ctx

    def config(self) -> AppConfig:
        return self.context().config

    def _enqueue_risk(self, engine: Engine, batch: Any) -> None:
        """After-commit hook: hand the stored mention ids to the ``evaluate_risk`` task, so
        risk and delivery run on their own queues, never behind slow polls."""
        ids = list(batch.new_ids) + list(batch.updated_ids)
        if ids and self.risk_enqueuer is not None:
            self.risk_enqueuer(ids)

    def close(self) -> None:
        self.http.close()
        self.engine.dispose()


def create_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    risk_enqueuer: Callable[[list[int]], None] | None = None,
) -> Runtime:
    """A runtime with a connection pool sized for one worker process, and the quotas,
    politeness gaps and breakers every worker shares (in Redis: ``limits_url`` or the
    broker)."""
    engine = make_engine(settings.db_url, pool_size=max(1, settings.db_pool_size))
    return Runtime(
        settings=settings,
        engine=engine,
        http=make_client(settings, limits=make_limits(settings, distributed=True)),
        clock=clock or SystemClock(),
        risk_enqueuer=risk_enqueuer,
    )


# --------------------------------------------------------------------------- scheduling


@dataclass(frozen=True, slots=True)
class Claim:
    source: str
    token: str


def new_token() -> str:
    return f"tick:{uuid.uuid4().hex}"


def claim_due(
    session: Session, name: str, kind: str, *, token: str, now: datetime, lease: timedelta
) -> bool:
    """Claim source ``name`` for one poll if nobody holds it and it is still due at ``now``.

    The claim is :func:`repository.claim_source`'s conditional UPDATE; the due re-check runs
    after it in the same transaction, so it sees any poll committed by a racing worker (the
    UPDATE waited for that row) and lets go of a source that is no longer due.
    """
    repository.get_or_create_source_state(session, name=name, kind=kind)
    if not repository.claim_source(session, name, owner=token, now=now, lease=lease):
        return False
    table = SourceState.__table__  # type: ignore[attr-defined]
    row = session.exec(  # type: ignore[call-overload]
        select(table.c.next_poll_at, table.c.enabled).where(table.c.name == name)
    ).one()
    next_poll_at, enabled = row
    if enabled and (next_poll_at is None or next_poll_at <= now):
        return True
    repository.release_source(session, name, owner=token)
    return False


def hold_claim(session: Session, name: str, *, token: str, now: datetime, lease: timedelta) -> bool:
    """Extend the claim ``token`` on ``name`` if it is still held by that token.

    False when the poll it was made for already ran (the lease was released) or a newer tick
    took the source: a duplicate or late message then does nothing. A message redelivered
    after its worker died still holds the token, and resumes.
    """
    table = SourceState.__table__  # type: ignore[attr-defined]
    result = session.exec(  # type: ignore[call-overload]
        update(table)
        .where(table.c.name == name, table.c.lock_owner == token)
        .values(lock_until=now + lease)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def tick(
    rt: Runtime, enqueue: Callable[[Claim], None], *, lease: timedelta = DISPATCH_LEASE
) -> list[Claim]:
    """Claim every due source and enqueue one poll per claim, after the claims committed."""
    config = rt.config()
    now = rt.clock.now()

    def claim_all(session: Session) -> list[Claim]:
        won: list[Claim] = []
        for name in runner.due_sources(session, config, now):
            source = config.source(name)
            if source is None:
                continue
            token = new_token()
            if claim_due(session, name, source.kind, token=token, now=now, lease=lease):
                won.append(Claim(name, token))
        return won

    claims: list[Claim] = run_in_transaction(rt.engine, claim_all)
    sent: list[Claim] = []
    try:
        for claim in claims:  # enqueue after commit: the worker must see the claim
            enqueue(claim)
            sent.append(claim)
    finally:
        unsent = claims[len(sent) :]
        if unsent:  # the broker refused: free them for the next tick instead of a lease wait
            logger.error("tick: could not enqueue %s poll(s); claims released", len(unsent))
            run_in_transaction(rt.engine, lambda s: _release_all(s, unsent))
    if sent:
        logger.info("tick: %s source(s) due and dispatched", len(sent))
    return sent


def _release_all(session: Session, claims: Sequence[Claim]) -> None:
    for claim in claims:
        repository.release_source(session, claim.source, owner=claim.token)


def poll_claimed(rt: Runtime, name: str, token: str) -> dict[str, Any]:
    """Poll source ``name`` under the claim ``token`` (idempotent; see the module docstring)."""
    ctx = rt.context()
    source = ctx.config.source(name)
    if source is None or not source.enabled:
        run_in_transaction(rt.engine, lambda s: repository.release_source(s, name, owner=token))
        logger.info("source %s is no longer in the config (or disabled); claim released", name)
        return {"source": name, "status": "removed"}
    now = rt.clock.now()
    held = run_in_transaction(
        rt.engine, lambda s: hold_claim(s, name, token=token, now=now, lease=runner.LEASE)
    )
    if not held:
        logger.info("source %s: claim %s already used or taken over; skipped", name, token)
        return {"source": name, "status": "stale"}
    report = runner.poll_source(rt.engine, rt.http, source, ctx, owner=token)
    return {
        "source": name,
        "status": report.status,
        "fetched": report.fetched,
        "new": report.new,
        "updated": report.updated,
        "reason": report.reason,
    }


# --------------------------------------------------------------------------- pushed batches


def raw_from_json(data: dict[str, Any]) -> RawMention:
    """A :class:`RawMention` from its normalized JSON object (``RawMention.to_dict``)."""
    published = data.get("published_at")
    eng = data.get("engagement") or {}
    return RawMention(
        source=str(data["source"]),
        external_id=str(data["external_id"]),
        url=data.get("url"),
        text=str(data.get("text") or ""),
        title=data.get("title"),
        author=data.get("author"),
        author_followers=data.get("author_followers"),
        published_at=parse_iso(published) if published else None,
        language=data.get("language"),
        rating=data.get("rating"),
        engagement=Engagement(
            likes=eng.get("likes"),
            shares=eng.get("shares"),
            comments=eng.get("comments"),
            views=eng.get("views"),
        ),
        parent_id=data.get("parent_id"),
    )


def batch_payload(raws: Iterable[RawMention]) -> list[dict[str, Any]]:
    """The JSON a pushed batch travels as (the ``earful.process_batch`` task's argument)."""
    return [raw.to_dict() for raw in raws]


def batch_sender(
    send: Callable[[list[dict[str, Any]], str | None], None], source_name: str | None
) -> Callable[[list[RawMention]], None]:
    """A ``sink`` for :func:`earful.sources.jetstream.run_jetstream` that hands each batch to
    the ``earful.process_batch`` task (``send`` is e.g. ``process_batch.delay``), so the
    consumer only reads the stream and the workers do the matching, scoring and storing."""

    def sink(batch: list[RawMention]) -> None:
        if batch:
            send(batch_payload(batch), source_name)

    return sink


def process_pushed(
    rt: Runtime, mentions: Sequence[dict[str, Any]], source_name: str | None = None
) -> dict[str, Any]:
    """Run a pushed batch (e.g. from the Jetstream firehose) through the same pipeline as a
    poll: one transaction, then the after-commit hooks. Idempotent (upserts)."""
    ctx = rt.context()
    raws = [raw_from_json(m) for m in mentions]
    batch = run_in_transaction(
        rt.engine, lambda s: process_batch(s, raws, ctx, source_name=source_name)
    )
    if batch.stored:
        run_after_batch(rt.engine, batch, ctx)
    return {"stored": batch.stored, "new": len(batch.new_ids), "rejected": dict(batch.rejected)}


# --------------------------------------------------------------------------- other tasks


def refresh_engagement(rt: Runtime) -> int:
    """Re-poll rising mentions, then re-score the ones whose engagement moved (virality
    arrives through re-polls, not new batches); returns how many were re-polled."""

    ctx = rt.context()
    started = rt.clock.now()
    refreshed = runner.refresh_engagement(rt.engine, rt.http, ctx.config, rt.clock)
    if refreshed:
        risk_eval.tick(rt.engine, clock=rt.clock, config=ctx.config, since=started)
    return refreshed


def evaluate_risk(rt: Runtime, mention_ids: Sequence[int]) -> int:
    """Score the mentions and escalate (``risk_eval.evaluate_and_escalate``, what the embedded
    runner's after-batch hook calls); number of escalation decisions."""

    _, decisions = evaluate_and_escalate(
        rt.engine, list(mention_ids), now=rt.clock.now(), config=rt.config()
    )
    return len(decisions)


def process_backlog(rt: Runtime) -> int:
    """Messages waiting in the broker's ``process`` queue (risk evaluations, pushed batches)."""
    return queue_depths(rt.settings.broker_url, ["process"])["process"]


def sweep_unscored(
    rt: Runtime,
    enqueue: Callable[[list[int]], None],
    *,
    backlog: Callable[[], int] | None = None,
) -> int:
    """Hand stored mentions whose risk evaluation never ran (``run.sweep``) to ``enqueue``
    (the ``evaluate_risk`` task), in chunks; returns how many.

    Skipped while ``backlog()`` (the ``process`` queue) still holds messages: queued work is
    late, not lost, and sweeping it would only send it twice."""

    waiting = backlog() if backlog is not None else 0
    if waiting:
        logger.info("sweep: %s message(s) still queued for processing; skipped", waiting)
        return 0
    grace = timedelta(seconds=rt.settings.sweep_grace_s)
    config = rt.config()
    now = rt.clock.now()
    ids: list[int] = run_in_transaction(
        rt.engine,
        lambda s: sweep.unscored_mentions(s, now=now, config=config, grace=grace),
    )
    for chunk in sweep.chunks(ids):
        enqueue(chunk)
    if ids:
        logger.warning(
            "sweep: %s stored mention(s) never scored (a lost risk task); re-enqueued", len(ids)
        )
    return len(ids)


def check_sla(rt: Runtime) -> int:

    return run_sla_checks(rt.engine, now=rt.clock.now(), config=rt.config())


def rematch_changed(rt: Runtime) -> int:
    """Re-match stored mentions of the brands whose queries changed (``run.rematch``; its
    writes are conflict-safe, so two workers doing it at once end as one); returns how many
    links changed."""
    report = rematch.rematch_changed(rt.engine, rt.config(), now=rt.clock.now())
    return report.changed if report is not None else 0


def deliver_notifications(rt: Runtime) -> int:
    """One pass over the outbox (``notify.outbox.default_deliverer``: the channels of the config);
    the outbox's claim-before-send makes two workers delivering at once send nothing twice.
    Returns how many were sent."""

    ctx = rt.context()
    if rt._deliverer is None or rt._deliverer[0] is not ctx:
        rt._deliverer = (ctx, default_deliverer(ctx.config, rt.clock))
    report = rt._deliverer[1](rt.engine)
    return int(getattr(report, "sent", 0) or 0)


def build_digests(rt: Runtime) -> int:

    return len(run_due_digests(rt.engine, rt.config(), rt.settings, rt.clock))


# --------------------------------------------------------------------------- status


def queue_depths(redis_url: str, queues: Sequence[str] = QUEUES) -> dict[str, int]:
    """Messages waiting per queue in the Redis broker (priority sub-queues included), plus
    ``unacked``: messages taken by workers and not yet acknowledged."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        depths: dict[str, int] = {}
        for queue in queues:
            total = 0
            # kombu stores priorities 1-9 in "<queue>\x06\x16<n>" lists beside "<queue>".
            for key in [queue, *(f"{queue}\x06\x16{n}" for n in range(1, 10))]:
                total += int(client.llen(key))  # type: ignore[arg-type]
            depths[queue] = total
        depths["unacked"] = int(client.hlen("unacked"))  # type: ignore[arg-type]
        return depths
    finally:
        client.close()


def source_health(session: Session, config: AppConfig, now: datetime) -> list[dict[str, Any]]:
    """One row per configured source: status, failures, last ok, next poll, who holds it."""
    states = repository.all_source_states(session)
    rows: list[dict[str, Any]] = []
    for source in config.sources:
        st = states.get(source.name)
        if not source.enabled:
            status = "disabled (config)"
        elif st is None or st.last_polled_at is None:
            status = "never polled"
        elif not st.enabled:
            status = "disabled"
        elif st.consecutive_failures:
            status = "failing"
        else:
            status = "ok"
        locked = st is not None and st.lock_until is not None and st.lock_until > now
        rows.append(
            {
                "source": source.name,
                "kind": source.kind,
                "status": status,
                "failures": st.consecutive_failures if st else 0,
                "last_ok_at": _iso(st.last_ok_at if st else None),
                "next_poll_at": _iso(st.next_poll_at if st else None),
                "polling": bool(locked),
                "last_error": st.last_error if st and st.consecutive_failures else None,
            }
        )
    return rows


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
