"""CLI: ``earful db upgrade`` — run the Alembic migrations on the configured database."""

from __future__ import annotations

import typer

from earful.cli.common import state
from earful.store.db import upgrade

db_app = typer.Typer(help="database schema", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or migrate the schema to the newest revision."""
    st = state(ctx)
    upgrade(st.engine())
    typer.echo(f"database schema is up to date ({st.engine().url.render_as_string()})")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
