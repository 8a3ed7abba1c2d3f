"""CLI: ``earful parse KIND FILE [--url URL]`` — a saved response body to normalized mentions.

No network, no database, no config: the body is read from FILE (``-`` for stdin), handed to
``connector_for(KIND).parse(body, url=URL)``, and every mention is printed as one JSON object
per line (DESIGN.md section 3). Problems the parser recovered from go to stderr as warnings.

Exit codes: 0 parsed (possibly zero mentions), 1 the body could not be parsed,
2 unknown kind or unreadable file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer

from earful.errors import ConfigError, EarfulError
from earful.sources import KINDS, connector_for


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"earful parse: {message}", err=True)
    return typer.Exit(code)


def _read_body(file: str) -> bytes:
    if file == "-":
        return sys.stdin.buffer.read()
    path = Path(file)
    try:
        return path.read_bytes()
    except IsADirectoryError as exc:
        raise _fail(f"cannot read {file}: is a directory", 2) from exc
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror or exc}", 2) from exc


def _load_connector(kind: str) -> Any:
    known = ", ".join(sorted(KINDS))
    try:
        return connector_for(kind)
    except ConfigError as exc:
        raise _fail(f"unknown kind {kind!r} (known: {known})", 2) from exc
    except ModuleNotFoundError as exc:
        # The kind is listed but its connector is not part of this build (yet).
        if exc.name and exc.name.startswith("earful.sources"):
            raise _fail(f"kind {kind!r} has no parser in this build (known: {known})", 2) from exc
        raise


def _write_lines(lines: list[str]) -> None:
    out = sys.stdout.buffer
    try:
        for line in lines:
            out.write(line.encode("utf-8") + b"\n")
        out.flush()
    except BrokenPipeError:
        # `earful parse ... | head`: the reader left; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0) from None


def parse_command(
    kind: str = typer.Argument(..., help=f"source kind: {', '.join(KINDS)}"),
    file: str = typer.Argument(..., help="saved response body (- for stdin)"),
    url: str | None = typer.Option(
        None, "--url", help="the address the body came from, to resolve relative links"
    ),
) -> None:
    """Parse a saved response body; print normalized mentions as JSON Lines."""
    connector = _load_connector(kind)
    body = _read_body(file)
    try:
        result = connector.parse(body, url=url)
    except EarfulError as exc:
        raise _fail(f"{file}: {exc}", 1) from exc
    for problem in result.problems:
        typer.echo(f"warning: {file}: {problem}", err=True)
    _write_lines([mention.to_json() for mention in result.mentions])


def register(app: typer.Typer) -> None:
    """Adds ``earful parse`` to app."""
    app.command("parse")(parse_command)
