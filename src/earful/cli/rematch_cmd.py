"""CLI: ``earful mentions rematch [--brand B]... [--dry-run] [--json]`` — apply the current brand
queries to stored mentions (``earful.run.rematch``): drop links that no longer match, add brands
that now match; a progress bar on a terminal, then a summary (a table, or one JSON object)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import inspect

from earful.cli.common import err_console, print_table, state
from earful.clock import SystemClock
from earful.run.rematch import Progress as OnProgress
from earful.run.rematch import RematchReport, rematch

_BRAND = typer.Option(
    None, "--brand", metavar="NAME", help="only this configured brand (repeatable)"
)
_DRY = typer.Option(False, "--dry-run", help="report what would change, change nothing")
_JSON = typer.Option(False, "--json", help="the summary as one JSON object")


@contextmanager
def _progress(enabled: bool) -> Iterator[OnProgress | None]:
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn("[bold]re-matching"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    task = bar.add_task("", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield update


def rematch_mentions(
    ctx: typer.Context,
    brand: list[str] = _BRAND,
    dry_run: bool = _DRY,
    as_json: bool = _JSON,
) -> None:
    """Apply the current brand queries to stored mentions: brands that no longer match are
    unlinked, brands that now match are linked. Escalations and mentions are never deleted."""
    st = state(ctx)
    config = st.config()  # a bad config exits 2
    configured = {b.name.casefold() for b in config.brands}
    unknown = [b for b in brand or [] if b.casefold() not in configured]
    if unknown:
        listed = ", ".join(b.name for b in config.brands) or "none"
        raise typer.BadParameter(
            f"no configured brand named {unknown[0]!r} (configured: {listed})",
            param_hint="--brand",
        )
    engine = st.existing_engine()
    if engine is None or not inspect(engine).has_table("mention"):
        report = RematchReport(dry_run=dry_run)
    else:
        if not dry_run:
            from earful.store.db import upgrade

            upgrade(engine)  # the fingerprint table may be new
        with _progress(err_console.is_terminal and not as_json) as progress:
            report = rematch(
                engine,
                config,
                now=SystemClock().now(),
                brands=brand or None,
                dry_run=dry_run,
                progress=progress,
            )
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False))
        return
    verb = "would change" if dry_run else "changed"
    print_table(
        f"{report.scanned:,} mention(s) re-matched{' (dry run)' if dry_run else ''}: "
        f"{report.changed:,} link(s) {verb}",
        ["brand", "before", "added", "dropped", "after", "escalations kept"],
        [
            [c.brand, c.before, c.added, c.dropped, c.after, c.escalations]
            for c in report.brands.values()
        ],
    )
    notes = []
    if report.unlinked:
        notes.append(
            f"{report.unlinked:,} mention(s) {'would be' if dry_run else 'are'} left with no "
            "brand (kept; they leave digests and risk)"
        )
    unsure = sum(c.unsure for c in report.brands.values())
    if unsure:
        notes.append(
            f"{unsure:,} link(s) kept although they no longer match: the brand's site: terms may "
            "have matched a related address (linked page, publisher) that is not stored"
        )
    if report.competitor_flags:
        notes.append(f"{report.competitor_flags:,} link(s) switch competitor/tracked")
    if dry_run:
        notes.append("dry run: nothing was changed; run without --dry-run to apply")
    for line in notes:
        err_console.print(line, markup=False, highlight=False)


def register_rematch(app: typer.Typer) -> None:
    app.command("rematch")(rematch_mentions)
