"""CLI: ``earful run [--once]`` — poll due sources, process, store; loop until stopped."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from earful.cli.common import CliState, console, err_console, print_table, state
from earful.clock import SystemClock, isoformat_z
from earful.config.models import AppConfig
from earful.run.loop import run_forever
from earful.run.runner import PollReport, RunReport, is_streamed
from earful.text import excerpt

logger = logging.getLogger(__name__)


class RichProgress:
    """A progress bar per pass on a terminal."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("[bold]polling"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        )
        self.task: int | None = None

    def start(self, sources: list[str]) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)  # type: ignore[arg-type]
        self.progress.start()
        self.task = self.progress.add_task("", total=len(sources))  # type: ignore[assignment]

    def done(self, report: PollReport) -> None:
        if self.task is not None:
            self.progress.update(
                self.task,  # type: ignore[arg-type]
                advance=1,
                description=f"{report.source}: {report.status}",
            )

    def stop(self) -> None:
        self.progress.stop()


def summary_rows(report: RunReport) -> list[list[object]]:
    rows: list[list[object]] = []
    for p in report.polls:
        rejected = ", ".join(f"{k} {v}" for k, v in sorted(p.rejected.items()))
        rows.append(
            [
                p.source,
                p.status,
                p.fetched,
                p.new,
                p.updated,
                rejected,
                excerpt(p.error, 60) if p.error else "",
                isoformat_z(p.next_poll_at) if p.next_poll_at else "",
            ]
        )
    return rows


SUMMARY_COLUMNS = [
    "source",
    "status",
    "fetched",
    "new",
    "updated",
    "rejected",
    "error",
    "next poll",
]


def run(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="one pass over the due sources, then exit"),
) -> None:
    """Poll due sources, process and store mentions; loop until stopped (Ctrl-C)."""
    from earful.store.db import upgrade

    st = state(ctx)
    config = st.config()  # a bad config exits 2 before anything runs
    settings = st.settings()
    engine = st.engine()
    upgrade(engine)
    clock = SystemClock()
    fancy = console.is_terminal
    progress = RichProgress() if fancy else None
    if fancy:
        _log_through_rich()
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        logger.info("stopping: polls in flight get a few seconds (Ctrl-C again to abort)")
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        if once:
            report = _one_pass(st, config, clock, progress, stop)
            if progress is not None:
                progress.stop()
            print_table(
                f"{len(report.polls)} source(s) polled, {report.new} new mention(s)",
                SUMMARY_COLUMNS,
                summary_rows(report),
            )
            for line in pass_notes(report, config):
                err_console.print(line, markup=False, highlight=False)
            if all_failed(report):
                err_console.print(OFFLINE_HINT, markup=False, highlight=False)
                raise typer.Exit(1)
            return

        hinted = False

        def on_pass(report: RunReport) -> None:
            nonlocal hinted
            if all_failed(report) and not hinted:
                logger.warning("%s", OFFLINE_HINT)
                hinted = True
            if not (report.polls or report.rescored or report.delivered or report.step_errors):
                return  # a quiet turn of the loop (steps ran, found nothing to do)
            logger.info(
                "pass done: %s polled, %s new, %s failed; %s re-scored, %s notified, digests: %s%s",
                len(report.polls),
                report.new,
                report.failed,
                report.rescored,
                report.delivered,
                ", ".join(report.digests) or "none due",
                f"; failed steps: {', '.join(report.step_errors)}" if report.step_errors else "",
            )

        logger.info("earful run: polling %s source(s); Ctrl-C stops", len(config.sources))
        try:
            run_forever(
                engine,
                _reloader(st),
                settings,
                clock,
                stop=stop,
                progress=progress,
                on_pass=on_pass,
            )
        except KeyboardInterrupt:
            stop.set()
            err_console.print("aborted")
            raise typer.Exit(1) from None
        err_console.print("stopped")
    finally:
        if progress is not None:
            progress.stop()


def _one_pass(
    st: CliState,
    config: AppConfig,
    clock: SystemClock,
    progress: RichProgress | None,
    stop: threading.Event,
) -> RunReport:
    """Every step of a pass once (poll, engagement, risk/SLA, notify, digests); no streams."""
    from earful.run.loop import build_loop_context, run_pass
    from earful.sources.http import make_client

    settings = st.settings()
    ctx, deliver = build_loop_context(config, settings, clock)
    try:
        with make_client(settings, stop=stop) as http:
            report: RunReport = run_pass(
                st.engine(),
                config,
                settings,
                clock,
                http=http,
                ctx=ctx,
                deliver=deliver,
                progress=progress,
                stop=stop,
            )
    finally:
        deliver.close()
    return report


OFFLINE_HINT = (
    "every polled source failed: no network? `earful demo` runs Earful end to end offline "
    "(see the error column, or `earful sources list`)"
)


def all_failed(report: RunReport) -> bool:
    """True when the pass polled at least one source and every one of them failed."""
    polled = [p for p in report.polls if not p.skipped]
    return bool(polled) and all(not p.ok for p in polled)


def pass_notes(report: RunReport, config: AppConfig) -> list[str]:
    """What the other steps of a ``--once`` pass did, and what ``--once`` leaves out."""
    notes = [
        f"engagement: {report.refreshed} mention(s) re-polled; risk: {report.rescored} "
        f"re-scored; notifications: {report.delivered} sent; digests: "
        + (", ".join(report.digests) or "none due")
    ]
    for step, error in sorted(report.step_errors.items()):
        notes.append(f"step {step} failed: {error}")
    streamed = [s.name for s in config.sources if s.enabled and is_streamed(s)]
    if streamed:
        notes.append(
            f"not started with --once: firehose consumer(s) {', '.join(streamed)} "
            "(streams run only in `earful run`)"
        )
    return notes


def _log_through_rich() -> None:
    """On a terminal, log lines go through rich so they print above the progress bar."""
    from rich.logging import RichHandler

    root = logging.getLogger()
    level = root.level
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(RichHandler(console=err_console, show_path=False, markup=False))
    root.setLevel(level)


def _reloader(st: CliState) -> Callable[[], AppConfig]:
    """The config for each pass, re-read only when its files changed (``config_fingerprint``):
    an idle loop does not re-parse and re-validate the YAML every pass, and the first pass
    reuses the start-up load. A failed re-read raises (the loop keeps the last good config)."""
    from earful.config.loader import config_fingerprint, load_config

    fingerprint = config_fingerprint(st.config_dir)
    config = st.config()

    def reload() -> AppConfig:
        nonlocal fingerprint, config
        now = config_fingerprint(st.config_dir)
        if now != fingerprint:
            config = load_config(st.config_dir)
            fingerprint = now
        return config

    return reload


def register(app: typer.Typer) -> None:
    app.command("run")(run)
