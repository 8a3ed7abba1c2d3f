"""CLI: ``earful users add|list|remove|passwd`` — the people who may use ``earful web``.

Passwords come from stdin when it is not a terminal (``printf '%s\\n' "$PW" | earful users add
ana --role analyst``), else from a prompt asked twice; they never appear on the command line.
"""

from __future__ import annotations

import sys

import typer
from sqlalchemy import inspect
from sqlmodel import Session

from earful.cli.common import CliState, print_json_lines, print_table, sqlite_file, state
from earful.clock import SystemClock, isoformat_z
from earful.errors import StorageError

users_app = typer.Typer(help="users of the web workspace and their roles", no_args_is_help=True)


def _check_schema(st: CliState) -> None:
    file = sqlite_file(st.db_url)
    if file is not None and not file.exists():
        raise StorageError(f"no database at {file}: run `earful db upgrade` first", reason="schema")
    if not inspect(st.engine()).has_table("user"):
        raise StorageError("no user table: run `earful db upgrade` first", reason="schema")


def _read_password(confirm: bool) -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    if not password:
        raise typer.BadParameter("an empty password (give it on stdin or at the prompt)")
    return password


@users_app.command("add")
def add_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="login name"),
    role: str = typer.Option(..., "--role", help="admin, lead or analyst"),
    email: str = typer.Option(None, "--email", help="e-mail address"),
) -> None:
    """Add a user; the password is read from stdin or asked for."""
    from earful.store.db import init_db, run_in_transaction
    from earful.store.users import ROLES, add_user

    if role not in ROLES:
        raise typer.BadParameter(f"must be one of {', '.join(ROLES)}", param_hint="--role")
    password = _read_password(confirm=True)
    st = state(ctx)
    init_db(st.engine())  # the first user is often the first thing an installation stores
    now = SystemClock().now()
    run_in_transaction(
        st.engine(),
        lambda s: add_user(s, name=name, role=role, password=password, now=now, email=email),
    )
    typer.echo(f"added {name} ({role})")


@users_app.command("list")
def list_cmd(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="JSON Lines instead of a table"),
) -> None:
    """Users, by name."""
    from earful.store.users import list_users

    st = state(ctx)
    _check_schema(st)
    with Session(st.engine()) as session:
        rows = [
            {
                "name": u.name,
                "role": u.role,
                "email": u.email,
                "created_at": isoformat_z(u.created_at),
                "password_changed_at": (
                    isoformat_z(u.password_changed_at) if u.password_changed_at else None
                ),
            }
            for u in list_users(session)
        ]
    if as_json:
        print_json_lines(rows)
        return
    print_table(
        "users",
        ["name", "role", "email", "created", "password changed"],
        [
            [r["name"], r["role"], r["email"], r["created_at"], r["password_changed_at"]]
            for r in rows
        ],
    )


@users_app.command("remove")
def remove_cmd(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Remove a user (their sessions end at once)."""
    from earful.store.db import run_in_transaction
    from earful.store.users import remove_user

    st = state(ctx)
    _check_schema(st)
    run_in_transaction(st.engine(), lambda s: remove_user(s, name=name))
    typer.echo(f"removed {name}")


@users_app.command("passwd")
def passwd_cmd(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Set a user's password (stdin or prompt); their other sessions end."""
    from earful.store.db import run_in_transaction
    from earful.store.users import set_password

    st = state(ctx)
    _check_schema(st)
    password = _read_password(confirm=True)
    now = SystemClock().now()
    run_in_transaction(
        st.engine(), lambda s: set_password(s, name=name, password=password, now=now)
    )
    typer.echo(f"password of {name} changed")


def register(app: typer.Typer) -> None:
    """Adds this module's commands to app."""
    app.add_typer(users_app, name="users")
