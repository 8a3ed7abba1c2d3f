"""Mentions as spreadsheet rows: CSV (RFC 4180) and XLSX, shared by ``earful mentions --format``
and the inbox's ``/mentions/export.csv|xlsx``.

Columns: :data:`COLUMNS` — the contract's ten first (``id, published_at, source, brand,
author, sentiment, compound, status, url, text``), extras after them, so a sheet built on the
first ten keeps working when columns are added. ``sentiment`` and ``status`` are the
effective ones (a person's correction wins); ``brand`` is every linked brand, ``; ``-joined.

Formula injection (OWASP "CSV injection"): a text cell that begins with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return gets a leading ``'``, so a spreadsheet shows it as text
instead of evaluating it. Numbers are written as numbers (``-0.62`` is a compound, not a
formula) and are never prefixed. XLSX cells are typed as strings besides, never formulas.

CSV is UTF-8 with a byte-order mark (Excel reads UTF-8 only with it), CRLF line ends and
quoting as the ``csv`` module does it (RFC 4180). Everything streams: rows in, text out.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from earful.clock import isoformat_z
from earful.store.inbox import InboxRow

logger = logging.getLogger(__name__)

COLUMNS: tuple[str, ...] = (
    "id",
    "published_at",
    "source",
    "brand",
    "author",
    "sentiment",
    "compound",
    "status",
    "url",
    "text",
    # extras: add at the end only
    "title",
    "source_name",
    "external_id",
    "language",
    "tags",
    "assignee",
    "sentiment_corrected",
    "raw_compound",
    "followers",
    "likes",
    "shares",
    "comments",
    "views",
    "rating",
    "fetched_at",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
# Excel keeps at most this many characters in a cell; a longer text is cut with an ellipsis.
XLSX_MAX_CELL = 32_767
FORMATS = ("table", "jsonl", "csv", "xlsx")

Cell = str | int | float | None


def guard_cell(value: Cell) -> Cell:
    """``value`` safe for a spreadsheet: text starting with a formula character gets ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _when(at: datetime | None) -> str | None:
    return isoformat_z(at) if at is not None else None


def export_row(row: InboxRow) -> list[Cell]:
    """One mention as the cells of :data:`COLUMNS`, unguarded (writers guard them)."""
    m = row.mention
    return [
        m.id,
        _when(m.published_at),
        m.source,
        "; ".join(row.brands),
        m.author,
        row.label,
        m.sentiment_compound,
        row.status,
        m.url,
        m.text,
        m.title,
        m.source_name,
        m.external_id,
        m.language,
        ", ".join(row.tags),
        row.assignee,
        "yes" if row.corrected else "no",
        m.raw_compound,
        m.author_followers,
        m.likes,
        m.shares,
        m.comments,
        m.views,
        m.rating,
        _when(m.fetched_at),
    ]


def csv_cells(row: InboxRow) -> list[Cell]:
    """The guarded cells of one CSV row (None becomes an empty cell)."""
    return [guard_cell(c) for c in export_row(row)]


def iter_csv(rows: Iterable[InboxRow], *, bom: bool = True) -> Iterator[str]:
    """The CSV text, header first, one chunk per row (for a streaming HTTP response)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield (BOM if bom else "") + _take(buf)
    for row in rows:
        writer.writerow(csv_cells(row))
        yield _take(buf)


def _take(buf: io.StringIO) -> str:
    text = buf.getvalue()
    buf.seek(0)
    buf.truncate()
    return text


def write_csv(rows: Iterable[InboxRow], out: IO[str], *, bom: bool = True) -> int:
    """Write the CSV to ``out`` (opened with ``newline=""``); returns the number of rows."""
    count = -1  # the header is not a row
    for chunk in iter_csv(rows, bom=bom):
        out.write(chunk)
        count += 1
    return count


def xlsx_value(value: Cell) -> Cell:
    """A guarded cell that Excel and openpyxl accept: no control characters, at most
    :data:`XLSX_MAX_CELL` characters."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]

    value = guard_cell(value)
    if not isinstance(value, str):
        return value
    text: str = ILLEGAL_CHARACTERS_RE.sub("", value)
    if len(text) > XLSX_MAX_CELL:
        text = text[: XLSX_MAX_CELL - 1] + "…"
    return text


def write_xlsx(rows: Iterable[InboxRow], target: Path | IO[bytes]) -> int:
    """Write an XLSX workbook (one sheet, header row frozen) to ``target``; returns the number
    of rows. openpyxl's write-only mode streams rows to a temporary file, so memory stays flat."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]

    book = Workbook(write_only=True)
    sheet: Any = book.create_sheet("mentions")
    sheet.freeze_panes = "A2"
    sheet.append(list(COLUMNS))
    count = 0
    for row in rows:
        cells = []
        for value in export_row(row):
            cell = WriteOnlyCell(sheet, value=xlsx_value(value))
            if isinstance(value, str):
                cell.data_type = "s"  # text, even if it looks like a formula
            cells.append(cell)
        sheet.append(cells)
        count += 1
    book.save(target)
    return count
