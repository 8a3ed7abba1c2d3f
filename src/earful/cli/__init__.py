"""The ``earful`` command line: thin — parses arguments and calls the core.

Each command group lives in its own module with a ``register(app)`` function.
Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad config (one-line reason on stderr).
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from earful.cli.common import CliState, db_reason, default_config_dir, default_db_url
from earful.errors import ConfigError, EarfulError
from earful.run.memory import tune_gc

app = typer.Typer(
    name="earful",
    help="Earful: hear every public complaint about your brand, and escalate the ones that spread.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Command modules, in help order. Each defines register(app: typer.Typer) -> None.
COMMAND_MODULES = [
    "run_cmd",
    "demo_cmd",
    "parse_cmd",
    "score_cmd",
    "eval_risk_cmd",
    "replay_cmd",
    "sources_cmd",
    "mentions_cmd",
    "escalations_cmd",
    "digest_cmd",
    "web_cmd",
    "users_cmd",
    "tokens_cmd",
    "db_cmd",
    "status_cmd",
    "bench_cmd",
]


@app.callback()
def _common(
    ctx: typer.Context,
    config: Path = typer.Option(
        None, "--config", help="config directory (default: ./config, or EARFUL_CONFIG)"
    ),
    db: str = typer.Option(
        None, "--db", help="database URL (default: sqlite:///earful.db, or EARFUL_DB_URL)"
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging"),
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    ctx.obj = CliState(
        config_dir=config or default_config_dir(),
        db_url=db or default_db_url(),
        db_explicit=db is not None,
        verbose=verbose,
    )


for _name in COMMAND_MODULES:
    importlib.import_module(f"earful.cli.{_name}").register(app)


def _flags_without_types(command: Any) -> Any:
    """Help lists on/off flags as ``--json``, not ``--json <bool>`` (typer's default). Typer
    vendors its own click, so its command and option classes are matched by what they have."""
    commands = [command]
    while commands:
        cmd = commands.pop()
        help_option = cmd.get_help_option(typer.Context(cmd))
        for param in [*cmd.params, *([help_option] if help_option else [])]:
            if getattr(param, "is_flag", False):
                param.metavar = ""
        commands.extend(getattr(cmd, "commands", {}).values())
    return command


def main() -> None:
    """Console-script entry point: maps Earful errors to exit codes and one-line reasons."""
    tune_gc()
    try:
        # In non-standalone mode click *returns* the code of a typer.Exit raised in a command.
        code = _flags_without_types(typer.main.get_command(app))(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except ConfigError as exc:
        typer.echo(f"earful: {exc}", err=True)
        sys.exit(2)
    except EarfulError as exc:
        typer.echo(f"earful: {exc}", err=True)
        sys.exit(1)
    except (typer.Exit, SystemExit) as exc:
        code = exc.exit_code if isinstance(exc, typer.Exit) else exc.code
        sys.exit(code if isinstance(code, int) else 0)
    except SQLAlchemyError as exc:
        # An unreachable database or a malformed --db URL: one line, not a driver traceback.
        typer.echo(f"earful: database error: {db_reason(exc)}", err=True)
        sys.exit(2 if isinstance(exc, ArgumentError | NoSuchModuleError) else 1)
    except typer.Abort:
        typer.echo("earful: aborted", err=True)
        sys.exit(1)
    except Exception as exc:
        # Click's usage errors (typer vendors click) arrive here in non-standalone mode.
        show = getattr(exc, "show", None)
        code = getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        raise
