"""CLI: ``earful sources list|check|test NAME|enable NAME`` — source health and dry runs
(``backfill NAME`` lives in ``backfill_cmd``)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import inspect
from sqlmodel import Session

from earful.cli.common import WIDE, Col, print_json_lines, print_table, state
from earful.clock import SystemClock, isoformat_z, parse_iso
from earful.config.models import AppConfig
from earful.errors import ConfigError, SourceError
from earful.store import repository
from earful.store.models import SourceState
from earful.text import excerpt

sources_app = typer.Typer(help="source health, config check and dry runs", no_args_is_help=True)


def _ts(value: datetime | None) -> str | None:
    return isoformat_z(value) if value else None


def _ago(now: datetime, then: datetime | None) -> str | None:
    if then is None:
        return None
    seconds = int((now - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def relative(now: datetime, when: str | None) -> str | None:
    """``5m ago`` / ``in 15m`` for an ISO time, for people reading the table."""
    if not when:
        return None
    then = parse_iso(when)
    if then <= now:
        return f"{_ago(now, then)} ago"
    return f"in {_ago(then, now)}"


def health_rows(
    config: AppConfig, states: dict[str, SourceState], now: datetime
) -> list[dict[str, Any]]:
    """One health record per configured source (and per stored state no longer configured)."""
    rows: list[dict[str, Any]] = []
    names = [s.name for s in config.sources] + sorted(
        set(states) - {s.name for s in config.sources}
    )
    for name in names:
        source = config.source(name)
        st = states.get(name)
        enabled = bool(source and source.enabled and (st is None or st.enabled))
        silent_since = (st.last_nonempty_at or None) if st else None
        rows.append(
            {
                "name": name,
                "kind": source.kind if source else (st.kind if st else None),
                "in_config": source is not None,
                "enabled": enabled,
                "disabled_reason": st.disabled_reason if st else None,
                "last_ok": _ts(st.last_ok_at) if st else None,
                "last_error": st.last_error if st else None,
                "last_error_at": _ts(st.last_error_at) if st else None,
                "last_error_reason": st.last_error_reason if st else None,
                "consecutive_failures": st.consecutive_failures if st else 0,
                "next_poll": _ts(st.next_poll_at) if st else None,
                "quota_left": st.quota_left if st else None,
                "last_items": st.last_item_count if st else None,
                "silent_for": _ago(now, silent_since) if st and st.last_ok_at else None,
            }
        )
    return rows


def _error_text(name: str, error: str | None, *, wide: bool) -> str:
    """The last error without the source's own name in front (the row already says it)."""
    if not error:
        return ""
    text = error.removeprefix(f"{name}: ")
    return text if wide else excerpt(text, 200)


@sources_app.command("list")
def list_sources(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="JSON Lines, one source per line"),
    wide: bool = WIDE,
) -> None:
    """Health of every source: last ok, failures, next poll, last error (--wide: also quota
    left and silence)."""
    st = state(ctx)
    config = st.config()
    engine = st.existing_engine()
    states: dict[str, SourceState] = {}
    if engine is not None and inspect(engine).has_table("source_state"):
        with Session(engine) as session:
            states = repository.all_source_states(session)
    now = SystemClock().now()
    rows = health_rows(config, states, now)
    if as_json:
        print_json_lines(rows)
        return
    print_table(
        "sources",
        [
            Col("name", max_width=20),
            Col("kind", max_width=10),
            Col("last ok", max_width=9),
            Col("fails"),
            Col("next poll", max_width=12),
            Col("last error" if wide else "error", flex=True, max_width=200),
            Col("quota left", optional=True),
            Col("silent for", optional=True),
        ],
        [
            [
                r["name"],
                r["kind"],
                relative(now, r["last_ok"]) or "never",
                r["consecutive_failures"],
                (relative(now, r["next_poll"]) or "now")
                if r["enabled"]
                else f"off {r['disabled_reason'] or ''}".strip(),
                _error_text(r["name"], r["last_error"], wide=wide),
                r["quota_left"],
                r["silent_for"],
            ]
            for r in rows
        ],
        wide=wide,
    )


@sources_app.command("check")
def check_sources(ctx: typer.Context) -> None:
    """Validate the config: every mistake on its own line, ``file:line: name.key: problem``
    (exit 2 when there is any)."""
    from earful.config.loader import find_config_errors
    from earful.sources import connector_for

    st = state(ctx)
    config, errors = find_config_errors(st.config_dir, by_name=True)
    if config is not None:
        for source in config.sources:
            try:
                connector_for(source.kind)
            except (ConfigError, ImportError) as exc:
                why = exc.message if isinstance(exc, ConfigError) else f"not installed: {exc}"
                errors.append(
                    ConfigError(
                        f"connector for kind {source.kind!r}: {why}",
                        file=str(st.config_dir / "sources.yaml"),
                        field=f"{source.name}.kind",
                    )
                )
    if config is not None:
        errors.extend(_apprise_url_errors(config, st.config_dir))
    if errors:
        for error in errors:
            typer.echo(f"earful: {error}", err=True)
        if len(errors) > 1:
            typer.echo(f"earful: {len(errors)} mistakes in {st.config_dir}", err=True)
        raise typer.Exit(2)
    assert config is not None
    from earful.pipeline import build_context

    build_context(config, SystemClock())  # loads the matcher and the analyzer once
    enabled = sum(1 for s in config.sources if s.enabled)
    typer.echo(
        f"config ok ({st.config_dir}): {len(config.brands)} brand(s), "
        f"{len(config.sources)} source(s) ({enabled} enabled)"
    )


def _apprise_url_errors(config: AppConfig, config_dir: Path) -> list[ConfigError]:
    """Apprise channels whose URL (from the environment) Apprise does not understand; the
    error names the scheme only."""
    channels = [(n, c) for n, c in config.escalation.channels.items() if c.kind == "apprise"]
    if not channels:
        return []
    from earful.notify.channels.apprise import AppriseSender

    found: list[ConfigError] = []
    for name, channel in channels:
        try:
            AppriseSender(os.environ.get(channel.url_env or "", ""), name=name)
        except ConfigError as exc:
            found.append(
                ConfigError(
                    exc.message,
                    file=str(config_dir / "routes.yaml"),
                    field=f"escalation.channels.{name}.url_env",
                )
            )
    return found


@sources_app.command("test")
def test_source(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="source name from the config"),
    as_json: bool = typer.Option(False, "--json", help="JSON Lines, one mention per line"),
    limit: int = typer.Option(20, "--limit", min=1, help="mentions to show in the table"),
) -> None:
    """Fetch one source once and show what would be stored (matched brands, sentiment).
    Stores nothing and ignores the stored ETag, so the full body is fetched."""
    from earful.pipeline import analyse_batch, build_context
    from earful.sources import connector_for
    from earful.sources.base import PollState
    from earful.sources.http import make_client

    st = state(ctx)
    config = st.config()
    source = config.source(name)
    if source is None:
        known = ", ".join(s.name for s in config.sources) or "none"
        raise typer.BadParameter(f"no source named {name!r} (configured: {known})")
    pipeline = build_context(config, SystemClock())
    with make_client(st.settings()) as client:
        try:
            result = connector_for(source.kind).fetch(client, source, PollState())
        except SourceError as exc:
            typer.echo(f"earful: {name}: {exc}", err=True)
            raise typer.Exit(1) from exc
    items, rejected = analyse_batch(result.mentions, pipeline, source_name=source.name)
    if as_json:
        for item in items:
            data = item.raw.to_dict()
            data["brands"] = [b.brand for b in item.brands]
            if item.score is not None:
                data["sentiment"] = {
                    k: getattr(item.score, k)
                    for k in ("neg", "neu", "pos", "compound", "label", "raw_compound")
                }
            print_json_lines([data])
        return
    print_table(
        f"{name}: {len(result.mentions)} fetched, {len(items)} would be stored",
        ["published", "brands", "sentiment", "title / text", "url"],
        [
            [
                _ts(i.raw.published_at),
                ", ".join(b.brand for b in i.brands),
                f"{i.score.label} {i.score.compound:+.2f}" if i.score else "",
                excerpt(i.raw.title or i.raw.text, 100),
                i.raw.url,
            ]
            for i in items[:limit]
        ],
    )
    dropped = ", ".join(f"{k}: {v}" for k, v in sorted(rejected.items())) or "none"
    typer.echo(f"rejected: {dropped}")
    for problem in result.problems[:5]:
        typer.echo(f"problem: {problem}")


@sources_app.command("enable")
def enable(ctx: typer.Context, name: str = typer.Argument(..., help="source name")) -> None:
    """Re-enable a source the runner disabled (e.g. after HTTP 410); it is polled next pass."""
    from earful.store.db import run_in_transaction

    st = state(ctx)
    found = run_in_transaction(st.engine(), lambda s: repository.enable_source(s, name=name))
    if not found:
        typer.echo(f"earful: no stored state for source {name!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{name}: enabled")


def register(app: typer.Typer) -> None:
    from earful.cli import backfill_cmd

    backfill_cmd.register(sources_app)
    app.add_typer(sources_app, name="sources")
