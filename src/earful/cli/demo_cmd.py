"""CLI: ``earful demo`` — offline end-to-end run on bundled sample feeds over local HTTP."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from earful.cli.common import console, state


def _log_to_file(path: Path) -> None:
    """The demo's story goes to the terminal; its log lines (hundreds) go to ``path``."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)


def demo(
    ctx: typer.Context,
    keep: Path = typer.Option(
        None,
        "--keep",
        help="keep the demo database (DIR/earful.db) and its config (DIR/config) in this "
        "directory instead of a temp dir",
    ),
    out: Path = typer.Option(
        Path("earful-demo"), "--out", help="directory for digest.html and digest.json"
    ),
) -> None:
    """Offline end-to-end run on bundled data over local HTTP: sample feeds through the
    pipeline; a month of United Airlines mentions and "United Breaks Guitars" through the real
    main loop on a simulated clock (escalations printed as they reach the console and a local
    signed webhook); then the last demo day's digest written as HTML and JSON. No network.
    Log lines go to OUT/demo.log (with -v, to the terminal)."""
    from earful.demo.main import run_demo

    # Both directories are made up front: a bad path fails now, not after the whole demo.
    for option, directory in (("--keep", keep), ("--out", out)):
        if directory is None:
            continue
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = f"{directory}: {exc.strerror or exc}"
            raise typer.BadParameter(reason, param_hint=option) from exc
    log = out / "demo.log"
    if not state(ctx).verbose:
        _log_to_file(log)
    run_demo(console, workdir=keep, out_dir=out)
    if not state(ctx).verbose:
        console.print(f"log:            {log}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
