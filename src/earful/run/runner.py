"""The embedded runner: poll due sources concurrently, run the pipeline, record health, loop.

One poll of one source (:func:`poll_source`) is: claim the source's lease and read its poll state
(one short transaction), fetch over HTTP (no transaction open), then process the batch and record
health in one transaction. A source error never escapes: it is recorded in ``source_state``,
logged once (when a failure streak starts or its reason changes), and the source backs off.
Hooks in ``ctx.after_batch`` run after the commit (enqueue after commit).

The distributed runner (Celery) calls the same :func:`poll_source`.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.clock import Clock, ensure_utc
from earful.config.models import AppConfig, SourceConfig
from earful.errors import ConfigError, EarfulError, SourceError
from earful.pipeline import BatchReport, PipelineContext, build_context, process_batch
from earful.settings import Settings
from earful.sources import connector_for
from earful.sources.base import FetchResult, PollState
from earful.sources.http import HttpClient, make_client
from earful.store import repository
from earful.store.db import is_sqlite, run_in_transaction

logger = logging.getLogger(__name__)

MAX_WORKERS = 4
# Longer than any single poll (HTTP timeouts x retries), so a lease only expires when its
# holder died.
LEASE = timedelta(minutes=10)
# run_forever wakes at least this often, so a source added to the config is polled promptly.
MAX_SLEEP_S = 30.0
OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

# SQLite allows one writer: the pollers fetch in parallel but take turns to write, which
# avoids "database is locked" between threads of one process (other processes are retried).
_sqlite_write_lock = threading.Lock()


@dataclass
class PollReport:
    source: str
    kind: str
    ok: bool = True
    skipped: bool = False
    not_modified: bool = False
    fetched: int = 0
    new: int = 0
    updated: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    error: str | None = None
    reason: str | None = None
    next_poll_at: datetime | None = None
    disabled: bool = False

    @property
    def status(self) -> str:
        if self.skipped:
            return "skipped"
        if not self.ok:
            return "disabled" if self.disabled else "failed"
        return "not modified" if self.not_modified else "ok"


@dataclass
class RunReport:
    """One pass: the polls and engagement refresh of :func:`run_once`, plus what the other
    steps of a full pass (``earful.run.loop.run_pass``) did."""

    polls: list[PollReport] = field(default_factory=list)
    refreshed: int = 0
    rescored: int = 0
    delivered: int = 0
    digests: list[str] = field(default_factory=list)
    streams: list[str] = field(default_factory=list)
    step_errors: dict[str, str] = field(default_factory=dict)
    started_at: datetime | None = None

    @property
    def new(self) -> int:
        return sum(p.new for p in self.polls)

    @property
    def failed(self) -> int:
        return sum(1 for p in self.polls if not p.ok)


class RunProgress(Protocol):
    """What a display wants to know about a pass (the CLI shows a rich progress bar)."""

    def start(self, sources: list[str]) -> None: ...

    def done(self, report: PollReport) -> None: ...


def _write(engine: Engine, work: Callable[[Session], Any]) -> Any:
    if is_sqlite(engine):
        with _sqlite_write_lock:
            return run_in_transaction(engine, work)
    return run_in_transaction(engine, work)


def _log_failure(
    source: SourceConfig, reason: str, previous_reason: str | None, failures: int, exc: Exception
) -> None:
    if failures <= 1 or previous_reason != reason:
        logger.warning("source %s failed (%s): %s", source.name, reason, exc)
    else:
        logger.info("source %s still failing (%s, %s times)", source.name, reason, failures)


def poll_source(
    engine: Engine,
    http: HttpClient,
    source: SourceConfig,
    ctx: PipelineContext,
    *,
    owner: str | None = None,
) -> PollReport:
    """Poll ``source`` once: fetch with its stored state, process, record health.

    ``owner`` names the lease holder (default: this process); the distributed runner passes
    the claim token of the tick that dispatched the poll, so a redelivered task may resume.

    Never raises for source errors (nor for a connector bug on hostile input): they are recorded
    in the source's health with a backoff. Storage errors do propagate.
    """
    report = PollReport(source=source.name, kind=source.kind)
    now = ensure_utc(ctx.clock.now())

    def claim(session: Session) -> tuple[bool, PollState, str | None]:
        state = repository.get_or_create_source_state(session, name=source.name, kind=source.kind)
        poll = PollState(
            etag=state.etag,
            last_modified=state.last_modified,
            cursor=state.cursor,
            last_ok_at=ensure_utc(state.last_ok_at) if state.last_ok_at else None,
        )
        reason = state.last_error_reason if state.consecutive_failures else None
        won = repository.claim_source(
            session, source.name, owner=owner or OWNER, now=now, lease=LEASE
        )
        return won, poll, reason

    won, poll_state, previous_reason = _write(engine, claim)
    if not won:
        report.skipped = True
        logger.info("source %s is being polled by another process; skipped", source.name)
        return report

    try:
        connector = connector_for(source.kind)
        result: FetchResult = connector.fetch(http, source, poll_state)
    except (SourceError, ConfigError) as exc:
        return _record_failure(engine, source, ctx, report, exc, previous_reason)
    except Exception as exc:  # a connector bug must not stop the other sources
        logger.exception("source %s: unexpected error in connector %s", source.name, source.kind)
        return _record_failure(engine, source, ctx, report, exc, previous_reason)

    report.not_modified = result.not_modified
    report.fetched = len(result.mentions)
    report.problems = list(result.problems)
    fetched_at = ensure_utc(ctx.clock.now())

    def store(session: Session) -> BatchReport:
        batch = process_batch(session, result.mentions, ctx, source_name=source.name)
        state = repository.record_poll_ok(
            session,
            name=source.name,
            kind=source.kind,
            now=fetched_at,
            interval=source.interval,
            etag=result.etag,
            last_modified=result.last_modified,
            cursor=result.cursor,
            not_modified=result.not_modified,
            item_count=len(result.mentions),
            new_count=len(batch.new_ids),
            quota_left=result.quota_left,
            problems=result.problems,
        )
        report.next_poll_at = state.next_poll_at
        return batch

    batch: BatchReport = _write(engine, store)
    report.new = len(batch.new_ids)
    report.updated = len(batch.updated_ids)
    report.rejected = batch.rejected
    if result.problems:
        logger.warning(
            "source %s: %s item problem(s), e.g. %s",
            source.name,
            len(result.problems),
            result.problems[0],
        )
    logger.info(
        "source %s: %s fetched, %s new, %s updated%s",
        source.name,
        report.fetched,
        report.new,
        report.updated,
        " (not modified)" if report.not_modified else "",
    )
    if batch.stored:
        run_after_batch(engine, batch, ctx)
    return report


def _record_failure(
    engine: Engine,
    source: SourceConfig,
    ctx: PipelineContext,
    report: PollReport,
    exc: Exception,
    previous_reason: str | None,
) -> PollReport:
    now = ensure_utc(ctx.clock.now())

    def record(session: Session) -> tuple[int, datetime | None, bool]:
        state = repository.record_poll_failure(
            session,
            name=source.name,
            kind=source.kind,
            now=now,
            interval=source.interval,
            error=exc,
            config_hash=repository.source_fingerprint(source),
        )
        return state.consecutive_failures, state.next_poll_at, not state.enabled

    failures, next_poll, disabled = _write(engine, record)
    reason = exc.reason if isinstance(exc, EarfulError) else type(exc).__name__
    _log_failure(source, reason, previous_reason, failures, exc)
    if disabled:
        logger.error("source %s disabled: %s", source.name, exc)
    report.ok = False
    report.error = str(exc)
    report.reason = reason
    report.next_poll_at = next_poll
    report.disabled = disabled
    return report


def run_after_batch(engine: Engine, batch: BatchReport, ctx: PipelineContext) -> None:
    """Run the after-commit hooks; one failing hook is logged and never stops the others."""
    for hook in ctx.after_batch:
        try:
            hook(engine, batch)
        except Exception:
            logger.exception("after-batch hook %r failed", hook)


def due_sources(session: Session, config: AppConfig, now: datetime) -> list[str]:
    """Names of enabled config sources due at ``now``: never polled (a source just added to
    the config is due at once) or ``next_poll_at`` reached. Sources disabled in the config or by
    the runner (a 410), and states of sources removed from the config, are skipped — unless the
    source's config changed since the runner disabled it: it is then enabled again (in the
    caller's transaction) and due at once."""
    now = ensure_utc(now)
    states = repository.all_source_states(session)
    due: list[str] = []
    for source in config.sources:
        if not source.enabled:
            continue
        state = states.get(source.name)
        if state is None:
            due.append(source.name)
            continue
        if not state.enabled:
            fingerprint = repository.source_fingerprint(source)
            if state.disabled_config is None or state.disabled_config == fingerprint:
                continue
            repository.enable_source(session, name=source.name)
            logger.info(
                "source %s: config changed since it was disabled; enabled again", source.name
            )
            due.append(source.name)
            continue
        if state.next_poll_at is None or ensure_utc(state.next_poll_at) <= now:
            due.append(source.name)
    return due


def next_due_at(session: Session, config: AppConfig) -> datetime | None:
    """The earliest next poll among enabled sources (``None``: nothing scheduled)."""
    states = repository.all_source_states(session)
    times: list[datetime] = []
    for source in config.sources:
        state = states.get(source.name)
        if not source.enabled or (state is not None and not state.enabled):
            continue
        if state is None or state.next_poll_at is None:
            return None
        times.append(ensure_utc(state.next_poll_at))
    return min(times) if times else None


def refresh_engagement(engine: Engine, http: HttpClient, config: AppConfig, clock: Clock) -> int:
    """Re-poll rising mentions (``earful.engagement.refresh_due``) when that module is there."""
    try:
        engagement = importlib.import_module("earful.engagement")
    except ImportError:
        return 0
    refresh_due = getattr(engagement, "refresh_due", None)
    if refresh_due is None:
        return 0
    try:
        return int(refresh_due(engine, http, config, clock))
    except Exception:
        logger.exception("engagement refresh failed")
        return 0


def build_run_context(
    config: AppConfig, clock: Clock, *, deliver: Callable[[Engine], object] | None = None
) -> PipelineContext:
    """``build_context`` plus the after-commit hooks of a full run: risk scoring, escalation
    and the outbox flush (``earful.risk.evaluation``) when that feature is installed. ``deliver``
    flushes the outbox (default: ``risk_eval.default_deliverer``, the configured channels).
    Hooks registered with ``pipeline.register_after_batch`` are included too."""
    ctx = build_context(config, clock)
    try:
        risk_eval = importlib.import_module("earful.risk.evaluation")
    except ImportError:
        return ctx
    make_hook = getattr(risk_eval, "make_after_batch_hook", None)
    if make_hook is not None:
        ctx.after_batch.append(make_hook(config, clock, deliver=deliver))
    return ctx


def is_streamed(source: SourceConfig) -> bool:
    """A source consumed by a long-lived stream (Bluesky Jetstream), never polled."""
    return source.kind == "bluesky" and source.params.get("mode") == "jetstream"


def run_once(
    engine: Engine,
    config: AppConfig,
    settings: Settings,
    clock: Clock,
    *,
    http: HttpClient | None = None,
    progress: RunProgress | None = None,
    ctx: PipelineContext | None = None,
    stop: threading.Event | None = None,
) -> RunReport:
    """One pass: poll every due source concurrently, then refresh engagement.

    One failing source never stops the others. When ``stop`` is set mid-pass, polls not yet
    started are dropped and the ones in flight finish (their rows are committed whole).
    """
    ctx = ctx or build_run_context(config, clock)
    own_http = http is None
    client = http or make_client(settings, stop=stop)
    report = RunReport()
    try:
        now = ensure_utc(clock.now())
        names: list[str] = _write(engine, lambda session: due_sources(session, config, now))
        sources = [
            s for s in (config.source(n) for n in names) if s is not None and not is_streamed(s)
        ]
        if progress is not None:
            progress.start([s.name for s in sources])
        if sources:
            workers = min(MAX_WORKERS, len(sources))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll") as pool:
                futures = {pool.submit(poll_source, engine, client, s, ctx): s for s in sources}
                for future in as_completed(futures):
                    if stop is not None and stop.is_set():
                        for pending in futures:
                            pending.cancel()
                    if future.cancelled():
                        continue
                    source = futures[future]
                    try:
                        poll = future.result()
                    except Exception as exc:  # storage trouble: report it, keep the others
                        logger.error("source %s: could not be stored: %s", source.name, exc)
                        poll = PollReport(
                            source=source.name,
                            kind=source.kind,
                            ok=False,
                            error=str(exc),
                            reason=getattr(exc, "reason", type(exc).__name__),
                        )
                    report.polls.append(poll)
                    if progress is not None:
                        progress.done(poll)
        if stop is None or not stop.is_set():
            report.refreshed = refresh_engagement(engine, client, config, clock)
    finally:
        if own_http:
            client.close()
    report.polls.sort(key=lambda p: p.source)
    return report


def run_forever(
    engine: Engine,
    load_config: Callable[[], AppConfig],
    settings: Settings,
    clock: Clock,
    *,
    stop: threading.Event,
    http: HttpClient | None = None,
    progress: RunProgress | None = None,
    on_pass: Callable[[RunReport], None] | None = None,
    max_sleep_s: float = MAX_SLEEP_S,
    env: Mapping[str, str] | None = None,
    run_stream: Callable[..., Any] | None = None,
) -> None:
    """The main job: loop full passes (``earful.run.loop.run_pass``: poll, engagement, risk and
    SLA, notifications, digests) until ``stop`` is set, sleeping until the next source is due
    (at most ``max_sleep_s``), with one thread per streamed source (Jetstream) alongside.

    The config is reloaded before each pass, so added sources and brands need no restart; a
    config that no longer validates is logged and the last good one kept. On ``stop`` the
    stream threads are stopped and joined. ``env`` supplies channel URLs and secrets
    (default: the environment); ``run_stream`` replaces ``jetstream.run_source`` (tests).
    """
    from earful.run.loop import Deliverer, StreamSupervisor, build_loop_context, run_pass

    own_http = http is None
    client = http or make_client(settings, stop=stop)
    config: AppConfig | None = None
    ctx: PipelineContext | None = None
    deliver: Deliverer | None = None
    streams = StreamSupervisor(engine, run_source=run_stream)
    since: datetime | None = None
    try:
        while not stop.is_set():
            try:
                fresh = load_config()
            except ConfigError as exc:
                if config is None:
                    raise
                logger.error("config reload failed, keeping the previous config: %s", exc)
                fresh = config
            changed = fresh is not config and (
                config is None or fresh.model_dump() != config.model_dump()
            )
            if ctx is None or changed:
                # hooks and channels capture the config, so they are rebuilt with it
                if deliver is not None:
                    deliver.close()
                ctx, deliver = build_loop_context(fresh, settings, clock, env=env)
            config = fresh
            try:
                running = streams.sync(config, ctx)
            except Exception:
                logger.exception("could not start the firehose consumers")
                running = sorted(streams.threads)
            result = run_pass(
                engine,
                config,
                settings,
                clock,
                http=client,
                ctx=ctx,
                deliver=deliver,
                since=since,
                progress=progress,
                stop=stop,
            )
            since = result.started_at or since
            result.streams = running
            if on_pass is not None:
                on_pass(result)
            try:
                with Session(engine) as session:
                    upcoming = next_due_at(session, config)
            except Exception:
                logger.exception("could not read the next due time")
                upcoming = None
            wait = max_sleep_s
            if upcoming is not None:
                wait = min(max_sleep_s, (upcoming - ensure_utc(clock.now())).total_seconds())
            stop.wait(max(min(1.0, max_sleep_s), wait))
    finally:
        streams.stop_all()
        if deliver is not None:
            deliver.close()
        if own_http:
            client.close()
