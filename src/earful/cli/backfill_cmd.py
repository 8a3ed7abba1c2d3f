"""CLI: ``earful sources backfill NAME --since DATE [--until DATE] [--json] [--restart]``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from earful.cli.common import err_console, print_table, state
from earful.clock import SystemClock, ensure_utc, isoformat_z, parse_iso
from earful.run.backfill import BackfillReport

_DATE_HELP = "YYYY-MM-DD (UTC midnight) or an ISO 8601 time"


def parse_when(value: str, option: str, *, end_of_day: bool = False) -> datetime:
    """A ``--since``/``--until`` value as UTC; a bare date is that day's start (``end_of_day``:
    the next day's start, so ``--until 2025-01-31`` includes the 31st)."""
    try:
        when = parse_iso(value.strip())
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r} is not a date ({_DATE_HELP})", param_hint=option
        ) from exc
    if end_of_day and len(value.strip()) == 10:
        when += timedelta(days=1)
    return ensure_utc(when)


class RichBackfillProgress:
    """One live line on a terminal: pages, mentions, oldest date reached."""

    def __init__(self, name: str) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn(f"[bold]backfill {name}[/bold]"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        )
        self.task = self.progress.add_task("starting", total=None)

    def page(self, report: BackfillReport) -> None:
        oldest = isoformat_z(report.oldest) if report.oldest else "-"
        self.progress.update(
            self.task,
            description=(
                f"page {report.pages_total}, {report.fetched} mentions ({report.new} new), "
                f"back to {oldest}"
            ),
        )

    def __enter__(self) -> RichBackfillProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def backfill(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="source name from the config"),
    since: str = typer.Option(..., "--since", help=f"oldest time to read back to: {_DATE_HELP}"),
    until: str | None = typer.Option(
        None, "--until", help="newest time (default: now); a bare date includes that day"
    ),
    as_json: bool = typer.Option(False, "--json", help="the summary as one JSON object"),
    restart: bool = typer.Option(
        False, "--restart", help="start this window again from the newest page"
    ),
) -> None:
    """Read a source's past back to --since through the normal pipeline (match, score, store;
    no escalations). Resumable: run it again after an interruption and it continues at the
    page that failed; a finished window is not read again (--restart reads it again, storing
    nothing twice)."""
    from earful.pipeline import build_context
    from earful.run.backfill import backfill_source, can_backfill, unsupported_message
    from earful.sources.base import BackfillWindow
    from earful.sources.http import make_client
    from earful.store.db import upgrade

    st = state(ctx)
    config = st.config()
    source = config.source(name)
    if source is None:
        known = ", ".join(s.name for s in config.sources) or "none"
        raise typer.BadParameter(f"no source named {name!r} (configured: {known})")
    if not can_backfill(source):
        typer.echo(f"earful: {unsupported_message(source)}", err=True)
        raise typer.Exit(2)
    clock = SystemClock()
    start = parse_when(since, "--since")
    end = parse_when(until, "--until", end_of_day=True) if until else None
    if start >= (end or clock.now()):
        raise typer.BadParameter(
            "--since must be before --until (and before now)", param_hint="--since"
        )
    engine = st.engine()
    upgrade(engine)
    pipeline = build_context(config, clock)
    window = BackfillWindow(since=start, until=end)
    show = err_console.is_terminal and not as_json
    try:
        with make_client(st.settings()) as client:
            if show:
                with RichBackfillProgress(name) as bar:
                    report = backfill_source(
                        engine,
                        client,
                        source,
                        pipeline,
                        window=window,
                        restart=restart,
                        progress=bar,
                    )
            else:
                report = backfill_source(
                    engine, client, source, pipeline, window=window, restart=restart
                )
    except KeyboardInterrupt:
        # Every page stored so far was committed with its cursor; the one in flight was not.
        typer.echo(
            f"earful: {name}: backfill interrupted; the pages stored so far are kept — run the "
            "same command again to resume",
            err=True,
        )
        raise typer.Exit(130) from None
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        _print_summary(report)
    if report.error:
        typer.echo(f"earful: {name}: {_failure_line(report)}", err=True)
        raise typer.Exit(1)


def _failure_line(report: BackfillReport) -> str:
    stored = report.pages_total
    oldest = isoformat_z(report.oldest) if report.oldest else "nothing yet"
    error = (report.error or "").removeprefix(f"{report.source}: ")
    return (
        f"backfill stopped at page {stored + 1} ({error}); {stored} page(s) stored, "
        f"back to {oldest}; run the same command again to resume at page {stored + 1}"
    )


def _print_summary(report: BackfillReport) -> None:
    if report.already_done:
        typer.echo(
            f"{report.source}: the backfill since {isoformat_z(report.since)} is already "
            f"complete ({report.pages_total} pages); --restart reads it again"
        )
        return
    rejected = ", ".join(f"{k} {v}" for k, v in sorted(report.rejected.items())) or "none"
    status = "complete" if report.done else "stopped"
    print_table(
        f"backfill {report.source} ({report.kind}): {status}",
        ["pages", "mentions", "new", "updated", "rejected", "oldest reached", "resumed at"],
        [
            [
                report.pages,
                report.fetched,
                report.new,
                report.updated,
                rejected,
                isoformat_z(report.oldest) if report.oldest else "-",
                f"page {report.resumed_at_page}" if report.resumed_at_page else "-",
            ]
        ],
    )
    for problem in report.problems[:5]:
        typer.echo(f"problem: {problem}")


def register(app: typer.Typer) -> None:
    """Adds ``backfill`` to the ``sources`` group (``app`` is that group)."""
    app.command("backfill")(backfill)
