"""Shared CLI plumbing: options common to all commands, output as table or JSON."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from earful.config.models import AppConfig
from earful.settings import Settings, get_settings

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    config_dir: Path
    db_url: str
    _settings: Settings | None = None
    _config: AppConfig | None = None
    _engine: Engine | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = get_settings(config=self.config_dir, db_url=self.db_url)
        return self._settings

    def config(self) -> AppConfig:
        if self._config is None:
            from earful.config.loader import load_config

            self._config = load_config(self.config_dir)
        return self._config

    def engine(self) -> Engine:
        if self._engine is None:
            from earful.store.db import make_engine

            self._engine = make_engine(self.db_url)
        return self._engine


def default_config_dir() -> Path:
    return Path(os.environ.get("EARFUL_CONFIG", "config"))


def default_db_url() -> str:
    return os.environ.get("EARFUL_DB_URL", "sqlite:///earful.db")


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        obj = CliState(config_dir=default_config_dir(), db_url=default_db_url())
        ctx.find_root().obj = obj
    return obj


def db_reason(exc: Exception) -> str:
    """A database error in one line: the driver's own first line, never the SQL statement
    or its parameters (they may carry mention text)."""
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


def print_json_lines(rows: Iterable[dict[str, Any]]) -> None:
    for row in rows:
        typer.echo(json.dumps(row, ensure_ascii=False, default=str))


def print_table(
    title: str | None, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    """A table for people. Cells become ``Text`` so mention text is never read as markup, and
    lose terminal control (escape sequences, BEL...) so it cannot drive the terminal."""
    from earful.text import terminal_safe

    table = Table(title=terminal_safe(title) if title else title, show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*(Text("" if v is None else terminal_safe(str(v))) for v in row))
    console.print(table)
