"""CLI: ``earful status [--json]`` — queue depths, workers and source health of a running system.

Reads the broker (``EARFUL_BROKER_URL``) and the store (``--db``/``EARFUL_DB_URL``). Without a
reachable broker it says so and still shows source health: the embedded runner has no broker.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import typer

from earful.cli.common import db_reason, print_table, state
from earful.clock import SystemClock
from earful.settings import Settings

logger = logging.getLogger(__name__)

PING_TIMEOUT_S = 1.0


def _safe_url(url: str) -> str:
    from kombu.utils.url import maybe_sanitize_url

    return str(maybe_sanitize_url(url))


def broker_status(settings: Settings, *, timeout: float = PING_TIMEOUT_S) -> dict[str, Any]:
    """Queue depths from Redis and the workers answering a ping within ``timeout``."""
    from earful.run.distributed import queue_depths

    broker_url = settings.broker_url
    out: dict[str, Any] = {"url": _safe_url(broker_url), "ok": False, "queues": {}, "workers": []}
    try:
        out["queues"] = queue_depths(broker_url)
    except Exception as exc:  # any failure means "no broker here": say so, show the rest
        out["error"] = f"broker unreachable: {exc}"
        return out
    out["ok"] = True
    from earful.run.celery_config import create_app

    app = create_app(settings, main="earful-status")
    try:
        inspect = app.control.inspect(timeout=timeout)
        pings = inspect.ping() or {}
        active = inspect.active() or {}
        out["workers"] = [
            {"name": name, "ok": reply.get("ok") == "pong", "active": len(active.get(name, []))}
            for name, reply in sorted(pings.items())
        ]
    except Exception as exc:
        out["error"] = f"workers could not be asked: {exc}"
    finally:
        app.close()
    return out


def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="one JSON object"),
    timeout: float = typer.Option(PING_TIMEOUT_S, "--timeout", help="seconds to wait for pings"),
) -> None:
    """Queue depths, live workers and source health of the distributed system."""
    from sqlmodel import Session

    from earful.run.distributed import source_health

    st = state(ctx)
    settings = st.settings()
    config = st.config()
    broker = broker_status(settings, timeout=timeout)
    try:
        with Session(st.engine()) as session:
            sources = source_health(session, config, SystemClock().now())
        db_error = None
    except Exception as exc:  # a store without tables yet, or down
        sources, db_error = [], f"store unreachable: {db_reason(exc)}"
    if as_json:
        data = {"broker": broker, "sources": sources, "db_error": db_error}
        typer.echo(json.dumps(data, default=str))
        return
    if broker["ok"]:
        print_table(
            f"queues on {broker['url']}",
            ["queue", "waiting"],
            sorted(broker["queues"].items()),
        )
        if broker["workers"]:
            print_table(
                f"{len(broker['workers'])} worker(s)",
                ["worker", "ping", "active tasks"],
                [[w["name"], "ok" if w["ok"] else "no", w["active"]] for w in broker["workers"]],
            )
        else:
            typer.echo("no worker answered the ping")
    else:
        typer.echo(f"no broker at {broker['url']}: {broker.get('error')} (embedded mode?)")
    if db_error:
        typer.echo(db_error, err=True)
        raise typer.Exit(1)
    print_table(
        f"{len(sources)} source(s)",
        ["source", "kind", "status", "failures", "last ok", "next poll", "polling"],
        [
            [
                s["source"],
                s["kind"],
                s["status"],
                s["failures"],
                s["last_ok_at"],
                s["next_poll_at"],
                "yes" if s["polling"] else "",
            ]
            for s in sources
        ],
    )


def register(app: typer.Typer) -> None:
    """Adds this module's commands to app."""
    app.command("status")(status)
