"""CLI: ``earful bench [--quick] [--only NAME] [--profile]`` — the performance figures as one
JSON object; ``--profile`` also prints where ingest time goes (µs per mention by stage)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from earful.cli.common import err_console


def bench(
    quick: bool = typer.Option(False, "--quick", help="smaller workloads, under two minutes"),
    only: list[str] = typer.Option(None, "--only", help="run only this benchmark (repeatable)"),
    out: Path = typer.Option(None, "--out", help="also write the JSON to this file"),
    profile: bool = typer.Option(
        False,
        "--profile",
        help="print the ingest's µs per mention by stage (runs only ingest unless --only)",
    ),
) -> None:
    """Run the benchmarks; print every figure (null when not measured) as one JSON object."""
    from earful.bench.registry import BENCHES
    from earful.bench.run import run_benchmarks

    names = {b.name for b in BENCHES}
    unknown = set(only or ()) - names
    if unknown:
        raise typer.BadParameter(
            f"unknown benchmark(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(names))}"
        )
    if out is not None and not out.parent.is_dir():
        # checked before the minutes of measuring, not after
        raise typer.BadParameter(f"no directory {out.parent}", param_hint="--out")
    if profile and not only:
        only = ["ingest"]
    result = run_benchmarks(
        BENCHES,
        quick=quick,
        only=set(only) if only else None,
        progress=lambda name: err_console.print(f"[dim]bench:[/] running {name}..."),
    )
    if profile:
        print_stages(result.get("ingest_stage_us"))
    text = json.dumps(result, indent=2)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
    typer.echo(text)


def print_stages(stages: dict[str, float] | None) -> None:
    """The per-stage table of ``--profile`` on stderr (stdout keeps the JSON alone)."""
    if not stages:
        err_console.print("ingest: no stage figures (the ingest benchmark did not run)")
        return
    total = sum(stages.values()) or 1.0
    err_console.print("stage        µs/mention   share")
    for name, us in stages.items():
        err_console.print(f"{name:<12} {us:>10.1f}   {us / total:>5.0%}")
    err_console.print(f"{'total':<12} {total:>10.1f}")


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
