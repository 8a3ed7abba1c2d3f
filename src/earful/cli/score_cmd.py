"""CLI: ``earful score`` (sentiment as JSON Lines) and ``earful eval-sentiment`` (the eval table).

``earful score [TEXT...] [--brand NAME]... [--raw]``: one JSON object per text with ``neg``,
``neu``, ``pos``, ``compound``, ``label`` and ``raw_compound`` (stock VADER); without TEXT, every
line of stdin is a text. Names masked: the config's brands and aliases (when ``--config`` is
there) plus every ``--brand``. ``--raw``: stock VADER 3.3.2, no adjustment.

``earful eval-sentiment [--data DIR] [--set NAME]... [--json] [--use-config]``: stock VADER and
Earful side by side on the human-labelled sets (see ``earful.sentiment.evaluation``);
``--use-config``
scores with the config's ``sentiment:`` section (lexicon extensions, switches) instead of the
defaults.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from earful.cli.common import console, err_console, state
from earful.config.sentiment import SentimentConfig


def _config_names_and_sentiment(ctx: typer.Context) -> tuple[list[str], SentimentConfig]:
    """Names to mask and the sentiment config; defaults when there is no config directory."""
    cli = state(ctx)
    if not Path(cli.config_dir).is_dir():
        return [], SentimentConfig()
    config = cli.config()  # a broken config is a ConfigError: exit 2 with file:line
    names: list[str] = []
    for brand in config.brands:
        names.append(brand.name)
        names.extend(brand.aliases)
    return names, config.sentiment


def _texts(texts: list[str]) -> Iterator[str]:
    if texts:
        yield from texts
        return
    for line in sys.stdin:
        line = line.rstrip("\r\n")
        if line.strip():
            yield line


def _write(row: dict[str, Any]) -> None:
    try:
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    except BrokenPipeError:
        raise typer.Exit(0) from None


def score(
    ctx: typer.Context,
    texts: list[str] = typer.Argument(None, help="texts to score [default: lines of stdin]"),
    brand: list[str] = typer.Option(
        None, "--brand", "-b", help="a name to mask besides the config's brands (repeatable)"
    ),
    raw: bool = typer.Option(False, "--raw", help="stock VADER 3.3.2 scores, no adjustments"),
) -> None:
    """Sentiment of each text as JSON Lines: neg, neu, pos, compound, label, raw_compound."""
    from earful.sentiment.analyzer import get_analyzer, label_for

    given = list(texts or [])
    names, sentiment = _config_names_and_sentiment(ctx)
    analyzer = get_analyzer(sentiment, names=tuple(names))
    extra = tuple(brand or ())
    for text in _texts(given):
        row: dict[str, Any] = {"text": text}
        if raw:
            scores = analyzer.score_raw(text)
            row.update(scores)
            row["label"] = label_for(scores["compound"])
            row["raw_compound"] = scores["compound"]
        else:
            row.update(analyzer.score(text, names=extra).as_dict())
        _write(row)
    sys.stdout.flush()


_METRICS = ("pearson_r", "accuracy", "macro_f1", "macro_recall", "neg_precision", "neg_recall")


def eval_sentiment(
    ctx: typer.Context,
    data: Path = typer.Option(
        None,
        "--data",
        help="labelled sets [default: EARFUL_SENTIMENT_DATA or ../shared/data/sentiment]",
    ),
    sets: list[str] = typer.Option(
        None, "--set", help="only these sets (repeatable): icwsm_tweets, tweeteval_test, ..."
    ),
    as_json: bool = typer.Option(False, "--json", help="one JSON object instead of a table"),
    use_config: bool = typer.Option(
        False,
        "--use-config",
        help="score with the sentiment: section of --config (default: Earful's defaults)",
    ),
) -> None:
    """Stock VADER vs Earful on human-labelled sentiment sets, side by side."""
    from earful.sentiment.analyzer import get_analyzer
    from earful.sentiment.evaluation import ALL_SETS, evaluate, load_datasets, results_as_json

    data_dir = data or Path(
        os.environ.get("EARFUL_SENTIMENT_DATA", str(Path("..") / "shared" / "data" / "sentiment"))
    )
    if not data_dir.is_dir():
        typer.echo(f"earful eval-sentiment: data directory {data_dir} not found", err=True)
        raise typer.Exit(2)
    try:
        datasets = load_datasets(data_dir, sets or ALL_SETS)
    except (ValueError, OSError) as exc:
        typer.echo(f"earful eval-sentiment: {exc}", err=True)
        raise typer.Exit(2) from exc
    if not datasets:
        typer.echo(f"earful eval-sentiment: no labelled sets found under {data_dir}", err=True)
        raise typer.Exit(2)

    sentiment = _config_names_and_sentiment(ctx)[1] if use_config else SentimentConfig()
    analyzer = get_analyzer(sentiment)
    total = sum(len(d.texts) for d in datasets)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("scoring", total=total)

        def advance(name: str, done: int) -> None:
            bar.update(task, advance=done, description=f"scoring {name}")

        results = evaluate(datasets, analyzer, progress=advance)

    if as_json:
        typer.echo(json.dumps(results_as_json(results), indent=2))
        return
    table = Table(title=f"Sentiment: stock VADER 3.3.2 vs Earful ({data_dir})")
    for col in ("set", "n", "metric", "stock VADER", "Earful", "change"):
        table.add_column(col, justify="left" if col in ("set", "metric") else "right")
    for result in results:
        first = True
        for metric in _METRICS:
            if metric not in result.stock:
                continue
            before, after = result.stock[metric], result.earful[metric]
            table.add_row(
                result.name if first else "",
                str(result.n) if first else "",
                metric,
                f"{before:.3f}",
                f"{after:.3f}",
                f"{after - before:+.3f}",
            )
            first = False
        table.add_section()
    console.print(table)


def register(app: typer.Typer) -> None:
    """Adds ``score`` and ``eval-sentiment`` to app."""
    app.command("score")(score)
    app.command("eval-sentiment")(eval_sentiment)
