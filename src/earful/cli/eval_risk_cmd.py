"""CLI: ``earful eval-risk [--json] [--seed N] [--cascades N] [--data DIR]`` — does risk at 30 and
60 minutes rank cascades by eventual size better than counting shares? (AUC table)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from earful.cli.common import console, err_console

NO_REAL_DATA = (
    "no real cascade data on disk, and none can be fetched here (SEISMIC's tweets, "
    "snap.stanford.edu/seismic, are offline): synthetic data sets only. "
    "Give --data DIR with SEISMIC's index.csv and data.csv to add them."
)


def _real(data: Path | None) -> tuple[list[Any], str]:
    """The real data set in ``data`` (SEISMIC format) as results, and a note saying so."""
    from earful.risk.eval_cascades import evaluate_real, parse_seismic

    if data is None:
        return [], NO_REAL_DATA
    index, rows = data / "index.csv", data / "data.csv"
    if not (index.is_file() and rows.is_file()):
        typer.echo(f"earful eval-risk: {data} has no index.csv and data.csv", err=True)
        raise typer.Exit(2)
    try:
        cascades = parse_seismic(
            index.read_text(encoding="utf-8"), rows.read_text(encoding="utf-8")
        )
    except (ValueError, IndexError, OSError) as exc:
        typer.echo(f"earful eval-risk: {data}: {exc}", err=True)
        raise typer.Exit(2) from exc
    if len(cascades) < 8:
        return [], f"{data}: only {len(cascades)} cascades of 10+ shares, too few to rank"
    half = len(cascades) // 2
    note = f"real: {data} (SEISMIC format), prior fitted on the first {half} cascades"
    return [evaluate_real(f"seismic:{data.name}", cascades)], note


def eval_risk(
    as_json: bool = typer.Option(False, "--json", help="one JSON object instead of a table"),
    seed: int = typer.Option(13, "--seed", help="seed of the ranked cascades (prior: seed + 1)"),
    cascades: int = typer.Option(
        600, "--cascades", min=40, help="cascades ranked per synthetic data set"
    ),
    data: Path = typer.Option(
        None,
        "--data",
        help="a directory of real cascades in SEISMIC's format (index.csv, data.csv) "
        "[default: EARFUL_CASCADE_DATA, else none]",
    ),
) -> None:
    """AUC of count-only vs Earful's forecast and risk for the top quartile of final size."""
    from earful.risk.eval_cascades import HORIZONS_MIN, TARGET_MARGIN, evaluate_synthetic

    env = os.environ.get("EARFUL_CASCADE_DATA")
    real, note = _real(data or (Path(env) if env else None))
    synthetic = evaluate_synthetic(
        seed=seed,
        cascades=cascades,
        progress=lambda name: err_console.print(f"[dim]eval-risk:[/] simulating {name}..."),
    )
    results = [*synthetic, *real]
    passed = all(h.passed for r in results for h in r.horizons)
    if as_json:
        body = {
            "seed": seed,
            "cascades_per_set": cascades,
            "horizons_min": list(HORIZONS_MIN),
            "target": f"forecast and risk AUC >= count AUC + {TARGET_MARGIN} at every horizon",
            "real_data": note,
            "datasets": [r.to_dict() for r in results],
            "passed": passed,
        }
        typer.echo(json.dumps(body, indent=2))
        return
    table = Table(
        title=f"Risk vs counting shares: AUC for the top quartile of final size (seed {seed})"
    )
    for col in ("data set", "n", "at", "count", "forecast", "risk", "risk − count"):
        table.add_column(col, justify="left" if col == "data set" else "right")
    for result in results:
        for i, h in enumerate(result.horizons):
            # ✗: this score is under count + the target margin.
            short = {
                name: "" if value >= h.auc_count + TARGET_MARGIN else " ✗"
                for name, value in (("forecast", h.auc_forecast), ("risk", h.auc_risk))
            }
            table.add_row(
                result.name if i == 0 else "",
                str(result.cascades) if i == 0 else "",
                f"{h.minutes} min",
                f"{h.auc_count:.3f}",
                f"{h.auc_forecast:.3f}{short['forecast']}",
                f"{h.auc_risk:.3f}{short['risk']}",
                f"{h.auc_risk - h.auc_count:+.3f}",
            )
        table.add_section()
    console.print(table)
    console.print(note)
    verdict = "met" if passed else "NOT met"
    console.print(f"target (forecast and risk ≥ count + {TARGET_MARGIN}): {verdict}")


def register(app: typer.Typer) -> None:
    """Adds ``eval-risk`` to app."""
    app.command("eval-risk")(eval_risk)
