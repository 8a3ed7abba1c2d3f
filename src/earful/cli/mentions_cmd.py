"""CLI: ``earful mentions [list]`` — stored mentions with filters, as a table, JSON Lines, CSV
or XLSX (``--format``, ``--out``; the cells come from :mod:`earful.store.export`); ``earful mentions
rematch`` lives in :mod:`earful.cli.rematch_cmd`."""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import typer
from sqlalchemy import inspect
from sqlmodel import Session

from earful.cli.common import (
    WIDE,
    Col,
    choose_brand,
    configured_brands,
    err_console,
    print_table,
    state,
    stored_brands,
)
from earful.clock import SystemClock, isoformat_z, parse_iso
from earful.config.durations import parse_duration
from earful.errors import StorageError
from earful.store import repository
from earful.store.export import FORMATS, write_csv, write_xlsx
from earful.store.inbox import InboxRow, MentionFilter, count_rows, iter_rows
from earful.text import excerpt

mentions_app = typer.Typer(help="stored mentions", invoke_without_command=True)

SENTIMENTS = ("positive", "neutral", "negative")
DEFAULT_LIMIT = 50


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


def mention_json(row: repository.MentionRow | InboxRow) -> dict[str, Any]:
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
    limit: int | None,
    fmt: str,
    out: Path | None = None,
    wide: bool = False,
) -> None:
    """Print (or write to ``out``) the filtered mentions, newest first, in format ``fmt``.

    ``limit``: None is the format's default (:data:`DEFAULT_LIMIT` for the table and JSON
    Lines, every row for CSV and XLSX), 0 is every row. Whenever rows are left out, stderr says
    how many (never a silent cut)."""
    if sentiment and sentiment.lower() not in SENTIMENTS:
        raise typer.BadParameter(f"one of {', '.join(SENTIMENTS)}", param_hint="--sentiment")
    if fmt == "xlsx" and out is None:
        raise typer.BadParameter("xlsx is a binary file: give --out FILE.xlsx", param_hint="--out")
    if fmt == "table" and out is not None:
        raise typer.BadParameter(
            "the table is for the terminal: use --format csv, jsonl or xlsx", param_hint="--out"
        )
    if out is not None and not out.parent.is_dir():
        # before any row is read: an export of every mention must not end in a traceback
        raise typer.BadParameter(f"no directory {out.parent} to write into", param_hint="--out")
    since_at = parse_since(since, SystemClock().now())  # bad input fails even on an empty DB
    st = state(ctx)
    engine = st.existing_engine()
    if brand:
        stored = stored_brands(engine) if engine is not None else []
        brand = choose_brand(brand, configured_brands(st), stored)
    if limit is None:
        limit = DEFAULT_LIMIT if fmt in ("table", "jsonl") else 0
    # sentiment through the inbox filter: the effective label, a person's correction winning
    flt = MentionFilter(sentiment=sentiment.lower() if sentiment else None)
    where = repository.list_conditions(brand=brand, source=source, since=since_at, search=search)
    with ExitStack() as stack:
        rows: Iterator[InboxRow] = iter(())
        total = 0
        if engine is not None and inspect(engine).has_table("mention"):
            session = stack.enter_context(Session(engine))
            total = count_rows(session, flt, where=where)
            rows = iter_rows(
                session,
                flt,
                where=where,
                order=repository.list_order(),
                limit=limit or None,
            )
        shown = min(total, limit) if limit else total
        if fmt == "table":
            _print_table(rows, shown=shown, total=total, wide=wide)
        else:
            _write(rows, fmt, out)
    if shown < total:
        verb = "shows" if fmt == "table" else "exports"
        err_console.print(
            f"… {total - shown:,} more; --limit 0 {verb} all", markup=False, highlight=False
        )


def _write(rows: Iterator[InboxRow], fmt: str, out: Path | None) -> None:
    """Write the rows to ``out`` (through a ``.partial`` file renamed at the end, so a failed
    export never leaves a file that looks complete) or to stdout."""
    if out is None:
        with ExitStack() as stack:
            _write_text(rows, fmt, _stdout(stack))
        return
    partial = out.with_name(out.name + ".partial")
    try:
        if fmt == "xlsx":
            write_xlsx(rows, partial)
        else:
            # utf-8 without BOM: write_csv writes its own BOM; JSON Lines never has one
            with partial.open("w", encoding="utf-8", newline="") as target:
                _write_text(rows, fmt, target)
        partial.replace(out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StorageError(f"cannot write {out}: {exc.strerror or exc}") from exc


def _write_text(rows: Iterator[InboxRow], fmt: str, target: IO[str]) -> None:
    if fmt == "csv":
        write_csv(rows, target)
        return
    for row in rows:
        target.write(json.dumps(mention_json(row), ensure_ascii=False, default=str))
        target.write("\n")


def _stdout(stack: ExitStack) -> IO[str]:
    """stdout as UTF-8 text that leaves line ends alone (CSV's CRLF stays CRLF)."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        return sys.stdout
    wrapper = io.TextIOWrapper(buffer, encoding="utf-8", newline="", write_through=True)
    stack.callback(wrapper.detach)  # leave sys.stdout's buffer open
    stack.callback(wrapper.flush)
    return wrapper


def _print_table(rows: Iterator[InboxRow], *, shown: int, total: int, wide: bool) -> None:
    title = f"{shown} mention(s)" if shown == total else f"{shown:,} of {total:,} mention(s)"
    print_table(
        title,
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
                f"{r.label[:3]} {r.mention.sentiment_compound:+.2f}",
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
_LIMIT = typer.Option(
    None,
    "--limit",
    min=0,
    help=f"most recent N; 0: all (default {DEFAULT_LIMIT} for table and jsonl, all for csv/xlsx)",
)
_JSON = typer.Option(False, "--json", help="JSON Lines, one mention per line (--format jsonl)")
_FORMAT = typer.Option(
    None,
    "--format",
    help="table, jsonl, csv or xlsx (default: from --out's suffix, else table)",
)
_OUT = typer.Option(
    None, "--out", help="write to this file (csv and jsonl default to stdout; xlsx needs it)"
)


@mentions_app.command("list", help="Stored mentions, newest first, filtered.")
@mentions_app.callback()
def mentions(
    ctx: typer.Context,
    brand: str = _BRAND,
    sentiment: str = _SENTIMENT,
    source: str = _SOURCE,
    since: str = _SINCE,
    search: str = _SEARCH,
    limit: int | None = _LIMIT,
    as_json: bool = _JSON,
    fmt: str | None = _FORMAT,
    out: Path | None = _OUT,
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
            fmt=choose_format(fmt, as_json=as_json, out=out),
            out=out,
            wide=wide,
        )


def choose_format(fmt: str | None, *, as_json: bool, out: Path | None) -> str:
    """``--format``, else ``jsonl`` for ``--json``, else the suffix of ``--out``, else table."""
    if fmt is not None:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise typer.BadParameter(f"one of {', '.join(FORMATS)}", param_hint="--format")
        if as_json and fmt != "jsonl":
            raise typer.BadParameter(f"--json is --format jsonl, not {fmt}", param_hint="--json")
        return fmt
    if as_json:
        return "jsonl"
    suffix = out.suffix.lower().lstrip(".") if out is not None else ""
    return {"csv": "csv", "xlsx": "xlsx", "jsonl": "jsonl", "json": "jsonl"}.get(suffix, "table")


def register(app: typer.Typer) -> None:
    from earful.cli.rematch_cmd import register_rematch

    register_rematch(mentions_app)
    app.add_typer(mentions_app, name="mentions")
