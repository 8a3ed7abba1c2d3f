"""CLI: ``earful digest --brand B [--date D | --since D] [--out FILE.html] [--json] [--send]``
and ``earful digest-due`` (send the scheduled digests that are due, once per brand and day)."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import typer

from earful.cli.common import choose_brand, sqlite_file, state, stored_brands

logger = logging.getLogger(__name__)


def _parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        typer.echo(f"earful: bad {option} {value!r}: expected a date as YYYY-MM-DD", err=True)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    """Adds this module's commands to app."""

    @app.command("digest")
    def digest(
        ctx: typer.Context,
        brand: str = typer.Option(..., "--brand", help="brand name (as in config, or as stored)"),
        day: str | None = typer.Option(
            None, "--date", help="local day YYYY-MM-DD in the brand's timezone [default: today]"
        ),
        since: str | None = typer.Option(
            None, "--since", help="a period from this local day YYYY-MM-DD through today"
        ),
        out: Path | None = typer.Option(None, "--out", help="write the HTML page to this file"),
        as_json: bool = typer.Option(False, "--json", help="print the digest as JSON"),
        send: bool = typer.Option(
            False, "--send", help="email it to the configured recipients (or --to)"
        ),
        to: list[str] = typer.Option([], "--to", help="recipient for --send (repeatable)"),
    ) -> None:
        """The daily digest for one brand and day (or a period): HTML, text, JSON or email."""
        chosen_day = _parse_day(day, "--date")
        chosen_since = _parse_day(since, "--since")
        if chosen_day is not None and chosen_since is not None:
            typer.echo("earful: use either --date or --since, not both", err=True)
            raise typer.Exit(2)

        from earful.clock import SystemClock
        from earful.digest.build import build_digest
        from earful.digest.charts import render_charts
        from earful.digest.mail import build_message, send_message, subject_for, valid_recipients
        from earful.digest.render import data_uri_srcs, digest_to_json, render_html, render_text
        from earful.store.db import upgrade

        st = state(ctx)
        config = st.config()
        file = sqlite_file(st.db_url)
        engine = st.engine()
        # Before upgrade: a mistyped brand creates nothing and exits 2.
        fresh = file is not None and not file.exists()
        brand = choose_brand(
            brand, [b.name for b in config.brands], [] if fresh else stored_brands(engine)
        )
        upgrade(engine)  # a fresh database gives an empty digest, not a missing-table traceback
        try:
            data = build_digest(
                engine,
                config,
                brand=brand,
                now=SystemClock().now(),
                day=chosen_day,
                since=chosen_since,
            )
        except ValueError as exc:
            typer.echo(f"earful: {exc}", err=True)
            raise typer.Exit(2) from None
        dcfg = config.digest
        charts = render_charts(data) if (out or send) else {}
        if out is not None:
            html = render_html(
                data,
                chart_srcs=data_uri_srcs(charts),
                chronic_weeks=dcfg.chronic_min_weeks,
                chronic_authors=dcfg.chronic_min_authors,
            )
            try:
                out.write_text(html, encoding="utf-8")
            except OSError as exc:
                typer.echo(f"earful: cannot write --out {out}: {exc.strerror or exc}", err=True)
                raise typer.Exit(2) from None
            typer.echo(f"wrote {out}", err=True)
        if as_json:
            typer.echo(digest_to_json(data))
        elif out is None and not send:
            typer.echo(render_text(data), nl=False)
        if send:
            recipients = valid_recipients(to or dcfg.recipients_for(data.brand))
            if not recipients:
                typer.echo(
                    "earful: --send needs recipients: digest.recipients in config or --to", err=True
                )
                raise typer.Exit(2)
            settings = st.settings()
            msg = build_message(
                data,
                charts,
                sender=settings.smtp_from,
                recipients=recipients,
                subject=subject_for(dcfg.subject, data),
                chronic_weeks=dcfg.chronic_min_weeks,
                chronic_authors=dcfg.chronic_min_authors,
            )
            send_message(msg, settings)
            typer.echo(f"sent to {', '.join(recipients)}", err=True)

    @app.command("digest-due")
    def digest_due(ctx: typer.Context) -> None:
        """Send every scheduled digest that is due now (each brand once per local day)."""
        from earful.clock import SystemClock
        from earful.digest.schedule import run_due_digests
        from earful.store.db import upgrade

        st = state(ctx)
        config = st.config()
        engine = st.engine()
        upgrade(engine)
        runs = run_due_digests(engine, config, st.settings(), SystemClock())
        for run in runs:
            typer.echo(f"{run.brand} {run.day}: {run.status}")
