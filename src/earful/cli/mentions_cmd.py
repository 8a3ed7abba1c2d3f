"""CLI: ``earful mentions [list]`` — stored mentions with filters, as a table or JSON Lines."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import typer
from sqlalchemy import inspect
from sqlmodel import Session

from earful.cli.common import (
    WIDE,
    Col,
    choose_brand,
    configured_brands,
    print_json_lines,
    print_table,
    state,
    stored_brands,
)
from earful.clock import SystemClock, isoformat_z, parse_iso
from earful.config.durations import parse_duration
from earful.store import repository
from earful.text import excerpt

mentions_app = typer.Typer(help="stored mentions", invoke_without_command=True)

SENTIMENTS = ("positive", "neutral", "negative")


def parse_since(value: str | None, now: datetime) -> datetime | None:
    """``2h``, ``7d`` (that long ago) or an ISO date/time (UTC when no offset)."""
    if not value:
        return None
    if re.fullmatch(r"\s*\d+(\.\d+)?\s*[smhd]\s*", value):
        return now - parse_duration(value)
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r}: expected a duration like 24h or a date like 2025-01-31",
            param_hint="--since",
        ) from exc


def mention_json(row: repository.MentionRow) -> dict[str, Any]:
    m = row.mention
    return {
        "id": m.id,
        "source": m.source,
        "source_name": m.source_name,
        "external_id": m.external_id,
        "url": m.url,
        "title": m.title,
        "text": m.text,
        "author": m.author,
        "author_followers": m.author_followers,
        "published_at": isoformat_z(m.published_at) if m.published_at else None,
        "fetched_at": isoformat_z(m.fetched_at),
        "language": m.language,
        "rating": m.rating,
        "engagement": {
            "likes": m.likes,
            "shares": m.shares,
            "comments": m.comments,
            "views": m.views,
        },
        "brands": row.brands,
        "sentiment": {
            "neg": m.sentiment_neg,
            "neu": m.sentiment_neu,
            "pos": m.sentiment_pos,
            "compound": m.sentiment_compound,
            "label": m.sentiment_label,
            "raw_compound": m.raw_compound,
        },
        "story_id": m.story_id,
    }


def show_mentions(
    ctx: typer.Context,
    *,
    brand: str | None,
    sentiment: str | None,
    source: str | None,
    since: str | None,
    search: str | None,
    limit: int,
    as_json: bool,
    wide: bool = False,
) -> None:
    if sentiment and sentiment.lower() not in SENTIMENTS:
        raise typer.BadParameter(f"one of {', '.join(SENTIMENTS)}", param_hint="--sentiment")
    since_at = parse_since(since, SystemClock().now())  # bad input fails even on an empty DB
    st = state(ctx)
    engine = st.existing_engine()
    if brand:
        stored = stored_brands(engine) if engine is not None else []
        brand = choose_brand(brand, configured_brands(st), stored)
    rows: list[repository.MentionRow] = []
    if engine is not None and inspect(engine).has_table("mention"):
        with Session(engine) as session:
            rows = repository.list_mentions(
                session,
                brand=brand,
                sentiment=sentiment,
                source=source,
                since=since_at,
                search=search,
                limit=limit,
            )
    if as_json:
        print_json_lines(mention_json(r) for r in rows)
        return
    print_table(
        f"{len(rows)} mention(s)",
        [
            Col("id"),
            Col("published"),
            Col("source", max_width=12),
            Col("brands", optional=True),
            Col("sentiment"),
            Col("author", optional=True),
            Col("title / text", flex=True),
            Col("url", optional=True),
        ],
        [
            [
                r.mention.id,
                _when(r.mention.published_at or r.mention.fetched_at, wide=wide),
                r.mention.source_name or r.mention.source,
                ", ".join(r.brands),
                f"{r.mention.sentiment_label[:3]} {r.mention.sentiment_compound:+.2f}",
                r.mention.author,
                excerpt(
                    f"{r.mention.title}: {r.mention.text}" if r.mention.title else r.mention.text,
                    300 if wide else 140,
                ),
                r.mention.url,
            ]
            for r in rows
        ],
        wide=wide,
    )


def _when(at: datetime, *, wide: bool) -> str:
    """Full ISO time with --wide; to the minute (UTC) in the narrow table."""
    return isoformat_z(at) if wide else isoformat_z(at)[:16].replace("T", " ")


_BRAND = typer.Option(None, "--brand", help="only mentions of this brand")
_SENTIMENT = typer.Option(None, "--sentiment", help="positive, neutral or negative")
_SOURCE = typer.Option(None, "--source", help="source kind (rss) or configured source name")
_SINCE = typer.Option(None, "--since", help="24h, 7d, or a date/time like 2025-01-31")
_SEARCH = typer.Option(None, "--search", help="case-insensitive text in title or text")
_LIMIT = typer.Option(50, "--limit", min=1, help="most recent N")
_JSON = typer.Option(False, "--json", help="JSON Lines, one mention per line")


@mentions_app.command("list", help="Stored mentions, newest first, filtered.")
@mentions_app.callback()
def mentions(
    ctx: typer.Context,
    brand: str = _BRAND,
    sentiment: str = _SENTIMENT,
    source: str = _SOURCE,
    since: str = _SINCE,
    search: str = _SEARCH,
    limit: int = _LIMIT,
    as_json: bool = _JSON,
    wide: bool = WIDE,
) -> None:
    """Stored mentions, newest first: ``earful mentions`` and ``earful mentions list`` are the
    same command (as the group's callback it runs only when no subcommand follows)."""
    if ctx.invoked_subcommand is None:
        show_mentions(
            ctx,
            brand=brand,
            sentiment=sentiment,
            source=source,
            since=since,
            search=search,
            limit=limit,
            as_json=as_json,
            wide=wide,
        )


def register(app: typer.Typer) -> None:
    app.add_typer(mentions_app, name="mentions")
