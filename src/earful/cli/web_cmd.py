"""CLI: ``earful web [--host] [--port]`` — the team's workspace (login, mentions, escalations,
digests) and the acknowledge links."""

from __future__ import annotations

import typer
from sqlalchemy.engine import Engine

from earful.cli.common import state


def register(app: typer.Typer) -> None:
    """Adds this module's commands to app."""

    @app.command("web")
    def web(
        ctx: typer.Context,
        host: str = typer.Option("127.0.0.1", "--host", help="interface to listen on"),
        port: int = typer.Option(8000, "--port", help="TCP port"),
    ) -> None:
        """Serve the workspace: login, mention inbox, escalations, digests (FastAPI + uvicorn)."""
        import uvicorn

        from earful.config.models import AppConfig
        from earful.errors import ConfigError
        from earful.store.db import upgrade
        from earful.web.app import create_app

        st = state(ctx)
        try:
            config = st.config()
        except ConfigError as exc:
            typer.echo(f"earful: config not loaded ({exc}); serving with defaults", err=True)
            config = AppConfig()
        engine = st.engine()
        upgrade(engine)
        _warn_without_users(engine)
        uvicorn.run(
            create_app(st.settings(), engine, config), host=host, port=port, log_level="info"
        )


def _warn_without_users(engine: Engine) -> None:
    from sqlmodel import Session, select

    from earful.store.users import User

    with Session(engine) as session:
        if session.exec(select(User.id).limit(1)).first() is None:
            typer.echo(
                "earful: no users yet, nobody can log in: "
                "earful users add NAME --role admin (password on stdin or at the prompt)",
                err=True,
            )
