"""The embedded runner: poll due sources concurrently, run the pipeline, record health, loop.

One poll of one source (:func:`poll_source`) is: claim the source's lease and read its poll state
(one short transaction), fetch over HTTP (no transaction open), then process the batch and record
health in one transaction. A source error never escapes: it is recorded in ``source_state``,
logged once (when a failure streak starts or its reason changes), and the source backs off.
Hooks in ``ctx.after_batch`` run after the commit (enqueue after commit).

The distributed runner (Celery) calls the same :func:`poll_source`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.clock import Clock
from earful.config.models import AppConfig, SourceConfig
from earful.engagement import refresh_due
from earful.errors import ConfigError, EarfulError, SourceError
from earful.notify.outbox import default_deliverer
from earful.pipeline import (
    BatchReport,
    PipelineContext,
    build_context,
    process_batch,
    run_after_batch,
)
from earful.risk.evaluation import make_after_batch_hook
from earful.settings import Settings
from earful.sources import connector_for
from earful.sources.base import FetchResult, PollState
from earful.sources.http import HttpClient, make_client
from earful.store import repository
from earful.store.db import is_sqlite, run_in_transaction

logger = logging.getLogger(__name__)

# Longer than any single poll (HTTP timeouts x retries), so a lease only expires when its
# holder died.
LEASE = timedelta(minutes=10)
# run_forever wakes at least this often, so a source added to the config is polled promptly.
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
    now = ctx.clock.now()

    def claim(session: Session) -> tuple[bool, PollState, str | None]:
        state = repository.get_or_create_source_state(session, name=source.name, kind=source.kind)
        poll = PollState(
            etag=state.etag,
            last_modified=state.last_modified,
            cursor=state.cursor,
            last_ok_at=state.last_ok_at if state.last_ok_at else None,
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
    fetched_at = ctx.clock.now()

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
    now = ctx.clock.now()

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


def due_sources(session: Session, config: AppConfig, now: datetime) -> list[str]:
    """Names of enabled config sources due at ``now``: never polled (a source just added to
    the config is due at once) or ``next_poll_at`` reached. Sources disabled in the config or by
    the runner (a 410), and states of sources removed from the config, are skipped — unless the
    source's config changed since the runner disabled it: it is then enabled again (in the
    caller's transaction) and due at once."""
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
        if state.next_poll_at is None or state.next_poll_at <= now:
            due.append(source.name)
    return due


def next_due_at(
    session: Session, config: AppConfig, *, skip: Collection[str] = ()
) -> datetime | None:
    """The earliest next poll among enabled sources (``None``: nothing scheduled); sources
    named in ``skip`` (being polled now) are left out."""
    states = repository.all_source_states(session)
    times: list[datetime] = []
    for source in config.sources:
        state = states.get(source.name)
        if source.name in skip or not source.enabled or (state is not None and not state.enabled):
            continue
        if state is None or state.next_poll_at is None:
            return None
        times.append(state.next_poll_at)
    return min(times) if times else None


def sources_to_poll(engine: Engine, config: AppConfig, now: datetime) -> list[SourceConfig]:
    """The due sources (:func:`due_sources`, in its own write transaction), streamed ones left
    out."""
    names: list[str] = _write(engine, lambda session: due_sources(session, config, now))
    return [s for s in (config.source(n) for n in names) if s is not None and not is_streamed(s)]


def storage_failure(source: SourceConfig, exc: BaseException) -> PollReport:
    """The report of a poll that raised (the store failed: source errors never escape)."""
    logger.error("source %s: could not be stored: %s", source.name, exc)
    return PollReport(
        source=source.name,
        kind=source.kind,
        ok=False,
        error=str(exc),
        reason=getattr(exc, "reason", type(exc).__name__),
    )


def refresh_engagement(engine: Engine, http: HttpClient, config: AppConfig, clock: Clock) -> int:
    """Re-poll rising mentions (``earful.engagement.refresh_due``); a failure is logged, never
    raised, so it cannot stop the polls."""
    try:
        return refresh_due(engine, http, config, clock)
    except Exception:
        logger.exception("engagement refresh failed")
        return 0


def build_run_context(
    config: AppConfig, clock: Clock, *, deliver: Callable[[Engine], object] | None = None
) -> PipelineContext:
    """``build_context`` plus the after-commit hook of a full run: a stored mention goes on to
    risk scoring and escalation (``earful.risk.evaluation``), then the outbox is flushed by
    ``deliver`` (default: ``notify.outbox.default_deliverer``, the configured channels).
    Hooks registered with ``pipeline.register_after_batch`` are included too."""
    ctx = build_context(config, clock)
    flush = deliver or default_deliverer(config, clock)
    ctx.after_batch.append(make_after_batch_hook(config, clock, deliver=flush))
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
        sources = sources_to_poll(engine, config, clock.now())
        if progress is not None:
            progress.start([s.name for s in sources])
        if sources:
            workers = min(settings.poll_threads, len(sources))
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
                        poll = storage_failure(source, exc)
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
