"""CLI: ``earful escalations list|show|ack|resolve|dismiss|deliver|precision``."""

from __future__ import annotations

import getpass
from typing import Any

import typer
from sqlalchemy import inspect
from sqlmodel import Session, col, select

from earful.cli.common import CliState, print_json_lines, print_table, sqlite_file, state
from earful.clock import SystemClock
from earful.errors import StorageError
from earful.escalation.lifecycle import load_reasons, why_text

esc_app = typer.Typer(help="escalations: list, inspect and act on them", no_args_is_help=True)


def _check_schema(st: CliState) -> None:
    file = sqlite_file(st.db_url)
    if file is not None and not file.exists():  # checking must not create the database
        raise StorageError(f"no database at {file}: run `earful db upgrade` first", reason="schema")
    if not inspect(st.engine()).has_table("escalation"):
        raise StorageError("no escalation table: run `earful db upgrade` first", reason="schema")


def _actor(actor: str | None) -> str:
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "cli"


@esc_app.command("list")
def list_cmd(
    ctx: typer.Context,
    status: str = typer.Option(
        "active",
        "--status",
        help="active (open+acknowledged), open, acknowledged, resolved, dismissed or all",
    ),
    brand: str = typer.Option(None, "--brand", help="only this brand"),
    limit: int = typer.Option(50, "--limit", min=1),
    as_json: bool = typer.Option(False, "--json", help="JSON Lines instead of a table"),
) -> None:
    """Escalations, newest first."""
    from earful.escalation.lifecycle import ACTIVE, escalation_to_dict
    from earful.store.escalations import Escalation

    st = state(ctx)
    _check_schema(st)
    with Session(st.engine()) as session:
        query = select(Escalation).order_by(col(Escalation.opened_at).desc()).limit(limit)
        if status == "active":
            query = query.where(col(Escalation.status).in_(ACTIVE))
        elif status != "all":
            query = query.where(Escalation.status == status)
        if brand:
            query = query.where(Escalation.brand == brand)
        escalations = session.exec(query).all()
        rows = [escalation_to_dict(e) for e in escalations]
        why = [why_text(load_reasons(e)) for e in escalations]
    if as_json:
        print_json_lines(rows)
        return
    print_table(
        "escalations",
        ["id", "brand", "level", "risk", "status", "opened", "ack min", "source", "why"],
        [
            [
                r["id"],
                r["brand"],
                r["level"],
                r["risk"],
                r["status"],
                r["opened_at"],
                r["ack_min"],
                f"{r['source']}:{r['external_id']}",
                reason,
            ]
            for r, reason in zip(rows, why, strict=True)
        ],
    )


@esc_app.command("show")
def show_cmd(
    ctx: typer.Context,
    escalation_id: int = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """One escalation with its timeline and notifications."""
    from earful.clock import isoformat_z
    from earful.escalation.lifecycle import escalation_to_dict, get_escalation, load_reasons
    from earful.store.escalations import EscalationEvent, Notification

    st = state(ctx)
    _check_schema(st)
    with Session(st.engine()) as session:
        esc = get_escalation(session, escalation_id)
        data = escalation_to_dict(esc)
        timeline: list[dict[str, Any]] = [
            {
                "at": isoformat_z(e.at),
                "kind": e.kind,
                "level": e.level,
                "actor": e.actor,
                "detail": e.detail,
            }
            for e in session.exec(
                select(EscalationEvent)
                .where(EscalationEvent.escalation_id == escalation_id)
                .order_by(col(EscalationEvent.at), col(EscalationEvent.id))
            )
        ]
        notifications: list[dict[str, Any]] = [
            {
                "level": n.level,
                "recipient": n.recipient,
                "status": n.status,
                "attempts": n.attempts,
                "sent_at": isoformat_z(n.sent_at) if n.sent_at else None,
                "last_error": n.last_error,
            }
            for n in session.exec(
                select(Notification).where(Notification.escalation_id == escalation_id)
            )
        ]
        data["timeline"] = timeline
        data["notifications"] = notifications
    if as_json:
        print_json_lines([data])
        return
    for key in (
        "id",
        "brand",
        "status",
        "level",
        "risk",
        "rule",
        "source",
        "external_id",
        "opened_at",
        "notified_at",
        "acknowledged_at",
        "acknowledged_by",
        "resolved_at",
        "notify_min",
        "ack_min",
        "resolve_min",
    ):
        typer.echo(f"{key:>16}: {data[key]}")
    print_table(
        "why",
        ["factor", "points", "detail"],
        [[r["factor"], r["contribution"], r["detail"]] for r in load_reasons(esc)],
    )
    print_table(
        "timeline",
        ["at", "kind", "level", "actor", "detail"],
        [[e["at"], e["kind"], e["level"], e["actor"], e["detail"]] for e in timeline],
    )
    print_table(
        "notifications",
        ["level", "recipient", "status", "attempts", "sent", "error"],
        [
            [n["level"], n["recipient"], n["status"], n["attempts"], n["sent_at"], n["last_error"]]
            for n in notifications
        ],
    )


def _act(
    ctx: typer.Context, action: str, escalation_id: int, actor: str | None, note: str | None
) -> None:
    from earful.escalation import lifecycle as esc_mod
    from earful.store.db import run_in_transaction

    st = state(ctx)
    _check_schema(st)
    now = SystemClock().now()
    who = _actor(actor)

    def work(session: Session) -> dict[str, Any]:
        if action == "ack":
            esc = esc_mod.acknowledge(session, escalation_id, now=now, actor=who)
        elif action == "resolve":
            esc = esc_mod.resolve(session, escalation_id, now=now, actor=who, note=note)
        else:
            esc = esc_mod.dismiss(session, escalation_id, now=now, actor=who, note=note)
        return esc_mod.escalation_to_dict(esc)

    data = run_in_transaction(st.engine(), work)
    typer.echo(f"escalation {data['id']}: {data['status']}")


@esc_app.command("ack")
def ack_cmd(
    ctx: typer.Context,
    escalation_id: int = typer.Argument(...),
    actor: str = typer.Option(None, "--as", help="who acknowledges (default: you)"),
) -> None:
    """Acknowledge: stops the SLA clock."""
    _act(ctx, "ack", escalation_id, actor, None)


@esc_app.command("resolve")
def resolve_cmd(
    ctx: typer.Context,
    escalation_id: int = typer.Argument(...),
    actor: str = typer.Option(None, "--as"),
    note: str = typer.Option(None, "--note", help="what was done"),
) -> None:
    """Resolve: the problem was handled."""
    _act(ctx, "resolve", escalation_id, actor, note)


@esc_app.command("dismiss")
def dismiss_cmd(
    ctx: typer.Context,
    escalation_id: int = typer.Argument(...),
    actor: str = typer.Option(None, "--as"),
    note: str = typer.Option(None, "--note", help="why it was a false alarm"),
) -> None:
    """Dismiss as a false alarm (counted against the rule's precision)."""
    _act(ctx, "dismiss", escalation_id, actor, note)


@esc_app.command("precision")
def precision_cmd(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Per rule: escalations, closed, dismissed as false alarms, precision."""
    from earful.escalation.lifecycle import rule_precision

    st = state(ctx)
    _check_schema(st)
    with Session(st.engine()) as session:
        stats = rule_precision(session)
    rows = [{"rule": k, **v} for k, v in sorted(stats.items())]
    if as_json:
        print_json_lines(rows)
        return
    print_table(
        "rule precision",
        ["rule", "total", "closed", "dismissed", "precision"],
        [[r["rule"], r["total"], r["closed"], r["dismissed"], r["precision"]] for r in rows],
    )


@esc_app.command("deliver")
def deliver_cmd(ctx: typer.Context) -> None:
    """Deliver due notifications once (the runner does this on its own), then list failures."""
    import httpx

    from earful.notify.outbox import deliver_due, failures, senders_from_config

    st = state(ctx)
    _check_schema(st)
    config, settings = st.config(), st.settings()
    with httpx.Client(timeout=settings.http_timeout_s) as client:
        senders = senders_from_config(config, settings, client)
        report = deliver_due(
            st.engine(), senders, clock=SystemClock(), config=config, settings=settings
        )
    typer.echo(
        f"sent {report.sent}, retrying {report.retried}, failed {report.dead}, "
        f"unknown {report.unknown}"
    )
    with Session(st.engine()) as session:
        failed = failures(session)
    if failed:
        print_table(
            "failed notifications",
            ["escalation", "level", "recipient", "status", "error"],
            [[n.escalation_id, n.level, n.recipient, n.status, n.last_error] for n in failed],
        )


def register(app: typer.Typer) -> None:
    """Adds this module's commands to app."""
    app.add_typer(esc_app, name="escalations")
