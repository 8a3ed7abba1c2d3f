"""CLI: ``earful tokens create|list|revoke`` — API tokens for ``/api/*`` (Bearer auth).

``create`` prints the token alone on its last line (it is shown once; only its hash is kept).
"""

from __future__ import annotations

import typer
from sqlmodel import Session

from earful.cli.common import print_json_lines, print_table, state
from earful.cli.users_cmd import _check_schema
from earful.clock import SystemClock, isoformat_z

tokens_app = typer.Typer(help="API tokens for programs calling /api/*", no_args_is_help=True)


@tokens_app.command("create")
def create_cmd(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="the user the token acts as"),
    name: str = typer.Option("", "--name", help="what the token is for"),
) -> None:
    """Create a token; it is printed once, on the last line."""
    from earful.store.db import run_in_transaction
    from earful.store.users import create_token

    st = state(ctx)
    _check_schema(st)
    now = SystemClock().now()

    def make(session: Session) -> tuple[int | None, str]:
        row, token = create_token(session, name=user, label=name, now=now)
        return row.id, token

    row_id, token = run_in_transaction(st.engine(), make)
    typer.echo(f"token {row_id} for {user} (shown once; keep it secret):")
    typer.echo(token)


@tokens_app.command("list")
def list_cmd(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="JSON Lines instead of a table"),
) -> None:
    """Tokens (never the secret itself)."""
    from earful.store.users import list_tokens

    st = state(ctx)
    _check_schema(st)

    def iso(value: object) -> str | None:
        return isoformat_z(value) if value is not None else None  # type: ignore[arg-type]

    with Session(st.engine()) as session:
        rows = [
            {
                "id": t.id,
                "user": user,
                "name": t.name,
                "created_at": iso(t.created_at),
                "last_used_at": iso(t.last_used_at),
                "revoked_at": iso(t.revoked_at),
            }
            for t, user in list_tokens(session)
        ]
    if as_json:
        print_json_lines(rows)
        return
    print_table(
        "tokens",
        ["id", "user", "name", "created", "last used", "revoked"],
        [list(r.values()) for r in rows],
    )


@tokens_app.command("revoke")
def revoke_cmd(ctx: typer.Context, token_id: int = typer.Argument(...)) -> None:
    """Revoke a token at once."""
    from earful.store.db import run_in_transaction
    from earful.store.users import revoke_token

    st = state(ctx)
    _check_schema(st)
    now = SystemClock().now()
    run_in_transaction(st.engine(), lambda s: revoke_token(s, token_id=token_id, now=now))
    typer.echo(f"revoked token {token_id}")


def register(app: typer.Typer) -> None:
    """Adds this module's commands to app."""
    app.add_typer(tokens_app, name="tokens")
