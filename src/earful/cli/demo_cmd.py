"""CLI: ``earful demo`` — offline end-to-end run on bundled sample feeds over local HTTP."""

from __future__ import annotations

from pathlib import Path

import typer

from earful.cli.common import console


def demo(
    keep: Path = typer.Option(
        None, "--keep", help="keep the demo database in this directory instead of a temp dir"
    ),
) -> None:
    """Serve the bundled sample feeds on 127.0.0.1, run the real pipeline once into a
    throw-away database, and show what was stored. Needs no network."""
    from earful.demo import run_demo

    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    run_demo(console, workdir=keep)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
