"""`earful mentions --format csv|xlsx|jsonl|table`: every stored mention when asked (`--limit 0`),
RFC 4180 CSV that survives commas, quotes, newlines and formula characters, XLSX with the same
cells, and a table that says how many rows it left out."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlmodel import Session

from earful.clock import SimulatedClock
from earful.config.models import AppConfig, BrandConfig
from earful.mention import Engagement, RawMention
from earful.pipeline import build_context, process_batch
from earful.store.annotations import Change, annotate
from earful.store.db import init_db, make_engine
from earful.store.export import COLUMNS
from tests.conftest import run_earful

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
STORED = 237
HOSTILE = '=HYPERLINK("https://evil.example","click"), Acme said "hi",\r\nline two; 50%'
PLUS = "+1 for Acme, really"


def earful(*args: str) -> subprocess.CompletedProcess[str]:
    return run_earful(*args, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("export") / "m.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    init_db(engine)
    config = AppConfig(brands=[BrandConfig(name="Acme", queries=["acme"])])
    ctx = build_context(config, SimulatedClock(NOW))
    raws = [
        RawMention(
            "rss",
            f"n-{i}",
            f"https://news.example/{i}",
            f"Acme item number {i}, quite good",
            author=f"author {i}",
            published_at=NOW - timedelta(minutes=i + 10),
            engagement=Engagement(likes=i),
        )
        for i in range(STORED - 2)
    ]
    raws.append(
        RawMention(
            "rss",
            "hostile",
            "https://evil.example/h",
            HOSTILE,
            author="@mallory",
            published_at=NOW,
        )
    )
    raws.append(
        RawMention(
            "rss",
            "plus",
            "https://news.example/plus",
            PLUS,
            published_at=NOW - timedelta(minutes=1),
        )
    )
    with Session(engine) as s, s.begin():
        report = process_batch(s, raws, ctx, source_name="news")
        corrected = sorted(report.new_ids)[1]  # "n-1", made negative by a person
        change = Change(sentiment="negative", status="done", tags="vip", assignee="ana")
        annotate(s, corrected, change, actor="ana", now=NOW)
    engine.dispose()
    return url


def earful_bytes(*args: str) -> bytes:
    """stdout as bytes (``run_earful`` decodes with universal newlines, turning CRLF into LF)."""
    result = subprocess.run(
        [sys.executable, "-c", "from earful.cli import main; main()", *args],
        capture_output=True,
        check=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    return result.stdout


def read_csv(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff"), "UTF-8 BOM for spreadsheets"
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def test_csv_limit_0_writes_every_mention_with_the_header(db: str) -> None:
    body = earful_bytes("--db", db, "mentions", "--format", "csv", "--limit", "0")
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    assert body.count(b"\r\n") >= STORED + 1  # RFC 4180 line ends, every record
    text = body.decode("utf-8")
    header = next(csv.reader(io.StringIO(text[1:], newline="")))
    assert header[:10] == [
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
    ]
    assert tuple(header) == COLUMNS
    rows = read_csv(text)
    assert len(rows) == STORED
    assert len({r["id"] for r in rows}) == STORED
    result = earful("--db", db, "mentions", "--format", "csv", "--limit", "0")
    assert result.returncode == 0 and result.stderr == ""  # nothing left out, nothing to say


def test_csv_round_trips_hostile_text_with_only_the_formula_guard(db: str) -> None:
    result = earful("--db", db, "mentions", "--format", "csv", "--search", "evil")
    assert [r["url"] for r in read_csv(result.stdout)] == ["https://evil.example/h"]
    body = earful_bytes("--db", db, "mentions", "--format", "csv", "--limit", "0")
    rows = read_csv(body.decode("utf-8"))
    by_url = {r["url"]: r for r in rows}
    hostile = by_url["https://evil.example/h"]
    assert hostile["text"] == "'" + HOSTILE  # everything else identical: commas, quotes, CRLF
    assert hostile["author"] == "'@mallory"
    assert hostile["brand"] == "Acme" and hostile["status"] == "new"
    assert by_url["https://news.example/plus"]["text"] == "'" + PLUS
    first = by_url["https://news.example/0"]
    assert first["text"] == "Acme item number 0, quite good"  # nothing to guard: untouched
    assert float(first["compound"]) > 0 and first["sentiment"] == "positive"
    assert first["likes"] == "0" and first["published_at"].endswith("Z")


def test_csv_to_a_file_and_xlsx(db: str, tmp_path: Path) -> None:
    out = tmp_path / "m.csv"
    result = earful("--db", db, "mentions", "--out", str(out))  # format from the suffix
    assert result.returncode == 0, result.stderr
    assert len(read_csv(out.read_bytes().decode("utf-8"))) == STORED

    sheet_path = tmp_path / "m.xlsx"
    result = earful("--db", db, "mentions", "--format", "xlsx", "--out", str(sheet_path))
    assert result.returncode == 0, result.stderr
    sheet = load_workbook(sheet_path, read_only=True)["mentions"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert tuple(rows[0]) == COLUMNS and len(rows) == STORED + 1
    text_col, url_col = COLUMNS.index("text"), COLUMNS.index("url")
    [hostile] = [r for r in rows[1:] if r[url_col] == "https://evil.example/h"]
    # a string, never a formula (XML reads a CRLF back as LF)
    assert hostile[text_col] == "'" + HOSTILE.replace("\r\n", "\n")
    assert all(isinstance(r[COLUMNS.index("compound")], int | float) for r in rows[1:])
    book = load_workbook(sheet_path)  # not read-only: cell types
    types = {c.data_type for row in book["mentions"].iter_rows(min_row=2) for c in row}
    assert "f" not in types and "s" in types


def test_xlsx_needs_out_and_table_rejects_it(db: str, tmp_path: Path) -> None:
    result = earful("--db", db, "mentions", "--format", "xlsx")
    assert result.returncode == 2 and "--out" in result.stderr
    result = earful("--db", db, "mentions", "--format", "table", "--out", str(tmp_path / "t"))
    assert result.returncode == 2
    assert earful("--db", db, "mentions", "--format", "pdf").returncode == 2


def test_table_says_how_many_more(db: str) -> None:
    result = earful("--db", db, "mentions", "--limit", "5")
    assert result.returncode == 0, result.stderr
    assert "5 of 237 mention(s)" in result.stdout
    assert "… 232 more; --limit 0 shows all" in result.stderr
    default = earful("--db", db, "mentions")
    assert "… 187 more; --limit 0 shows all" in default.stderr


def test_jsonl_limit_is_never_silent(db: str) -> None:
    result = earful("--db", db, "mentions", "--format", "jsonl", "--limit", "3")
    assert [json.loads(line)["external_id"] for line in result.stdout.splitlines()] == [
        "hostile",
        "plus",
        "n-0",
    ]
    assert "… 234 more; --limit 0 exports all" in result.stderr


def test_corrections_are_honoured_in_filter_and_cells(db: str) -> None:
    body = earful_bytes("--db", db, "mentions", "--format", "csv", "--sentiment", "negative")
    rows = read_csv(body.decode("utf-8"))
    assert all(r["sentiment"] == "negative" for r in rows)
    [row] = [r for r in rows if r["external_id"] == "n-1"]  # computed positive, corrected
    assert (row["sentiment"], row["sentiment_corrected"], row["status"]) == (
        "negative",
        "yes",
        "done",
    )
    assert (row["tags"], row["assignee"]) == ("vip", "ana")
    assert float(row["compound"]) > 0  # the computed score stays beside the correction


def test_an_out_file_that_cannot_be_written_is_a_clear_error_and_leaves_no_file(
    db: str, tmp_path: Path
) -> None:
    missing = tmp_path / "no" / "such" / "all.csv"
    result = earful("--db", db, "mentions", "--format", "csv", "--out", str(missing))
    assert result.returncode == 2
    assert "no directory" in result.stderr and "Traceback" not in result.stderr
    # The target is a directory: the rows were written to the .partial file, the rename
    # failed, and neither the .partial nor a half file is left behind.
    target = tmp_path / "taken"
    target.mkdir()
    result = earful("--db", db, "mentions", "--format", "xlsx", "--out", str(target))
    assert result.returncode == 1
    assert f"cannot write {target}" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    assert list(target.iterdir()) == []
