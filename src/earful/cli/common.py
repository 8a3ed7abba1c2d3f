"""Shared CLI plumbing: options common to all commands, output as table or JSON."""

from __future__ import annotations

import difflib
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
from earful.text import terminal_safe

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    config_dir: Path
    db_url: str
    db_explicit: bool = False  # --db was given (replay then stores there, not in a temp file)
    verbose: bool = False
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

    def existing_engine(self) -> Engine | None:
        """The engine, or None when the database is a SQLite file that does not exist yet:
        read commands use this so that they never create an empty database file."""
        path = sqlite_file(self.db_url)
        if path is not None and not path.exists():
            err_console.print(f"earful: no database at {path} yet (nothing stored)", markup=False)
            return None
        return self.engine()


def sqlite_file(db_url: str) -> Path | None:
    """The file of a ``sqlite:///FILE`` URL (None for other databases and in-memory SQLite)."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def stored_brands(engine: Engine) -> list[str]:
    """Brand names that stored mentions are linked to (none before the first run)."""
    from sqlalchemy import inspect, select

    from earful.store.models import MentionBrand

    if not inspect(engine).has_table("mention_brand"):
        return []
    with engine.connect() as conn:
        return [str(b) for b in conn.execute(select(MentionBrand.brand).distinct()).scalars()]  # type: ignore[call-overload]


def configured_brands(st: CliState) -> list[str]:
    """Brand names of the config; none when it cannot be loaded (a read command still works)."""
    from earful.errors import ConfigError

    try:
        return [b.name for b in st.config().brands]
    except ConfigError:
        return []


def choose_brand(name: str, configured: Sequence[str], stored: Iterable[str] = ()) -> str:
    """``name`` if it is a configured or stored brand (any case), else a usage error (exit 2)
    that lists the configured brands and the closest one."""
    known = list(dict.fromkeys([*configured, *stored]))
    if any(name.casefold() == k.casefold() for k in known):
        return name
    folded = {k.casefold(): k for k in known}
    close = difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=0.5)
    hint = f"; did you mean {folded[close[0]]!r}?" if close else ""
    listed = ", ".join(configured) or "none"
    raise typer.BadParameter(
        f"no brand named {name!r} (configured: {listed}){hint}", param_hint="--brand"
    )


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


@dataclass(frozen=True)
class Col:
    """A table column: ``optional`` ones are shown only with ``--wide``; a ``flex`` column
    takes the width that is left and ends in an ellipsis instead of wrapping."""

    name: str
    optional: bool = False
    flex: bool = False
    max_width: int | None = None


def print_table(
    title: str | None,
    columns: Sequence[str | Col],
    rows: Iterable[Sequence[object]],
    *,
    wide: bool = False,
) -> None:
    """A table for people. Cells become ``Text`` so mention text is never read as markup, and
    lose terminal control (escape sequences, BEL...) so it cannot drive the terminal.

    Unless ``wide``, optional columns are left out and every cell stays on one line (long
    text ends in an ellipsis), so the table fits the terminal, 80 columns included; with
    ``wide`` every column is shown and long cells wrap."""
    cols = [c if isinstance(c, Col) else Col(c) for c in columns]
    shown = [i for i, c in enumerate(cols) if wide or not c.optional]
    table = Table(
        title=terminal_safe(title) if title else title,
        show_lines=False,
        expand=not wide and any(c.flex for c in cols),
    )
    for i in shown:
        col = cols[i]
        if wide:
            table.add_column(col.name, overflow="fold")
        elif col.flex:
            table.add_column(
                col.name, overflow="ellipsis", no_wrap=True, ratio=1, min_width=len(col.name)
            )
        else:
            table.add_column(col.name, overflow="ellipsis", no_wrap=True, max_width=col.max_width)
    for row in rows:
        table.add_row(*(Text("" if row[i] is None else terminal_safe(str(row[i]))) for i in shown))
    console.print(table)


WIDE = typer.Option(False, "--wide", help="every column, long cells wrapped (not cut at the width)")
