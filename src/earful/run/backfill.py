"""Backfill: read a source's past, page by page, through the normal pipeline; resumable.

:func:`backfill_source` asks the connector's ``backfill_page`` (see ``earful.sources.base``)
for one page at a time, newest first, back to ``since``. Each page's mentions inside the window
are matched, scored and stored by :func:`earful.pipeline.process_batch` — idempotent on
(source, external id), so a re-run stores nothing twice — and the page's cursor is written to
``backfill_progress`` *in the same transaction*. A failure (after the HTTP layer's own retries,
backoff and politeness) stops the run with the pages so far committed; the same command
resumes at the page that failed. A window "up to now" ends at the moment it was first started,
so a resumed run pages the very same stretch.

Backfilled mentions do not go through risk scoring and escalation: a weeks-old post is history,
not an incident to wake someone for. Hooks registered with ``pipeline.register_after_batch``
still run after each page.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.clock import isoformat_z
from earful.config.models import SourceConfig
from earful.errors import ConfigError, SourceError
from earful.pipeline import BatchReport, PipelineContext, process_batch, run_after_batch
from earful.run.runner import is_streamed
from earful.sources import BACKFILL_KINDS, connector_for
from earful.sources.base import BackfillPage, BackfillWindow
from earful.sources.http import HttpClient
from earful.store.backfill import BackfillProgress, get_progress, start_progress
from earful.store.db import run_in_transaction

logger = logging.getLogger(__name__)

# A backfill longer than this many pages in one run stops (resumable): a runaway cursor or an
# enormous window must not hammer an API for hours unattended.
DEFAULT_MAX_PAGES = 500


@dataclass
class BackfillReport:
    source: str
    kind: str
    since: datetime
    until: datetime | None
    pages: int = 0  # read by this run
    pages_total: int = 0  # read by every run of this window
    fetched: int = 0
    new: int = 0
    updated: int = 0
    outside_window: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    oldest: datetime | None = None
    resumed_at_page: int | None = None  # the first page of this run, when it resumed
    already_done: bool = False
    done: bool = False
    error: str | None = None
    reason: str | None = None
    requests: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "since": isoformat_z(self.since),
            "until": isoformat_z(self.until) if self.until else None,
            "pages": self.pages,
            "pages_total": self.pages_total,
            "fetched": self.fetched,
            "new": self.new,
            "updated": self.updated,
            "outside_window": self.outside_window,
            "rejected": dict(self.rejected),
            "oldest": isoformat_z(self.oldest) if self.oldest else None,
            "resumed_at_page": self.resumed_at_page,
            "already_done": self.already_done,
            "done": self.done,
            "error": self.error,
            "reason": self.reason,
            "problems": self.problems[:20],
        }


class BackfillProgressView(Protocol):
    """What a display wants to know (the CLI shows a rich progress line)."""

    def page(self, report: BackfillReport) -> None: ...


def can_backfill(source: SourceConfig) -> bool:
    """True when ``source`` can search the past: its kind has ``backfill_page`` and it is not
    a Jetstream (firehose) source."""
    return source.kind in BACKFILL_KINDS and not is_streamed(source)


def unsupported_message(source: SourceConfig) -> str:
    what = "a Jetstream (firehose) source" if is_streamed(source) else f"kind {source.kind!r}"
    return (
        f"{source.name}: {what} cannot search the past, so it cannot be backfilled; kinds "
        f"that can: {', '.join(BACKFILL_KINDS)} (bluesky with params.q)"
    )


def backfill_source(
    engine: Engine,
    http: HttpClient,
    source: SourceConfig,
    ctx: PipelineContext,
    *,
    window: BackfillWindow,
    restart: bool = False,
    max_pages: int = DEFAULT_MAX_PAGES,
    progress: BackfillProgressView | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> BackfillReport:
    """Backfill ``source`` over ``window`` (see the module docstring). Source errors end the
    run and are returned in the report (``error``, ``reason``); storage errors propagate.
    Raises :class:`ConfigError` for a source that cannot search the past (see
    :func:`can_backfill`)."""
    if not can_backfill(source):
        raise ConfigError(unsupported_message(source), field=f"{source.name}.kind")
    connector = connector_for(source.kind)
    report = BackfillReport(source.name, source.kind, window.since, window.until)

    def begin(session: Session) -> tuple[str | None, int, bool, datetime | None, datetime]:
        row = start_progress(
            session,
            source=source.name,
            kind=source.kind,
            since=window.since,
            until=window.until,
            now=ctx.clock.now(),
            restart=restart,
        )
        return row.cursor, row.pages, row.done, row.oldest_at, row.started_at

    cursor, pages_before, done, oldest, started = run_in_transaction(engine, begin)
    # "Up to now" is the moment the window was first started: a resumed run pages the same
    # stretch as the run it continues (what arrived since is the regular polls' business).
    window = BackfillWindow(since=window.since, until=window.until or started)
    report.until = window.until
    report.pages_total, report.oldest = pages_before, oldest
    if done:
        report.already_done = report.done = True
        return report
    if pages_before:
        report.resumed_at_page = pages_before + 1
        logger.info("backfill %s: resuming at page %s", source.name, pages_before + 1)

    while True:
        if report.pages >= max_pages:
            report.error = f"stopped after {max_pages} pages in one run (run it again to go on)"
            report.reason = "max_pages"
            break
        try:
            page: BackfillPage = connector.backfill_page(http, source, window, cursor)
        except SourceError as exc:
            report.error, report.reason = str(exc), exc.reason
            _record_error(engine, source.name, window.since, str(exc), ctx)
            break
        report.requests += page.requests
        batch = _store_page(engine, source, window, page, ctx, report)
        if batch.stored:
            run_after_batch(engine, batch, ctx)
        if progress is not None:
            progress.page(report)
        if page.cursor is None:
            report.done = True
            break
        if page.cursor == cursor:
            report.error = "the source returned the same page again; stopped to avoid a loop"
            report.reason = "no_progress"
            break
        cursor = page.cursor
        if page.quota_left is not None and page.quota_left <= 0:
            report.error = "the API's daily quota is used up; run it again when it resets"
            report.reason = "quota"
            break
        if page.wait_s > 0:
            logger.info("backfill %s: the API asked for %.0fs of backoff", source.name, page.wait_s)
            sleep(page.wait_s)
    return report


def _store_page(
    engine: Engine,
    source: SourceConfig,
    window: BackfillWindow,
    page: BackfillPage,
    ctx: PipelineContext,
    report: BackfillReport,
) -> BatchReport:
    inside = [m for m in page.mentions if window.holds(m.published_at)]

    def store(session: Session) -> BatchReport:
        batch = process_batch(session, inside, ctx, source_name=source.name)
        row = get_progress(session, source=source.name, since=window.since)
        assert row is not None, "backfill_source creates the progress row first"
        _advance(row, page, batch, len(inside), ctx.clock.now())
        session.add(row)
        return batch

    batch: BatchReport = run_in_transaction(engine, store)
    report.pages += 1
    report.pages_total += 1
    report.fetched += len(inside)
    report.outside_window += len(page.mentions) - len(inside)
    report.new += len(batch.new_ids)
    report.updated += len(batch.updated_ids)
    report.rejected.update(batch.rejected)
    report.problems.extend(page.problems)
    if page.oldest is not None:
        reached = max(page.oldest, window.since)
        report.oldest = reached if report.oldest is None else min(report.oldest, reached)
    return batch


def _advance(
    row: BackfillProgress, page: BackfillPage, batch: BatchReport, fetched: int, now: datetime
) -> None:
    row.cursor = page.cursor
    row.pages += 1
    row.fetched += fetched
    row.new += len(batch.new_ids)
    row.done = page.cursor is None
    row.last_error = None
    row.updated_at = now
    if page.oldest is not None:
        reached = max(page.oldest, row.since)
        row.oldest_at = reached if row.oldest_at is None else min(row.oldest_at, reached)


def _record_error(
    engine: Engine, name: str, since: datetime, error: str, ctx: PipelineContext
) -> None:
    def work(session: Session) -> None:
        row = get_progress(session, source=name, since=since)
        if row is not None:
            row.last_error = error
            row.updated_at = ctx.clock.now()
            session.add(row)

    run_in_transaction(engine, work)
