"""`earful mentions [list]` filters, JSON output, and text printed literally (never markup)."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from earful.clock import SimulatedClock
from earful.config.models import AppConfig, BrandConfig
from earful.mention import RawMention
from earful.pipeline import build_context, process_batch
from earful.store.db import init_db, make_engine
from tests.conftest import run_earful

NOW = datetime.now(UTC)


def earful(*args: str) -> subprocess.CompletedProcess[str]:
    return run_earful(*args, env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"})


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("mentions") / "m.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    init_db(engine)
    config = AppConfig(
        brands=[
            BrandConfig(name="Acme", queries=['"acme"']),
            BrandConfig(name="Globex", queries=['"globex"'], track=False),
        ]
    )
    ctx = build_context(config, SimulatedClock(NOW))
    raws = [
        RawMention(
            "rss",
            "1",
            "https://a.example/1",
            "Acme is terrible, awful, the worst!",
            published_at=NOW - timedelta(days=3),
        ),
        RawMention(
            "hackernews",
            "2",
            "https://a.example/2",
            "Globex is wonderful, I love it",
            published_at=NOW - timedelta(hours=1),
        ),
        RawMention(
            "rss",
            "3",
            "https://a.example/3",
            "[bold red]Acme[/] <script>x</script> 50%",
            title="[link=https://evil.example]click[/link]",
            published_at=NOW - timedelta(hours=2),
        ),
    ]
    with Session(engine) as s, s.begin():
        process_batch(s, raws[:1] + raws[2:], ctx, source_name="feed")
        process_batch(s, raws[1:2], ctx, source_name="hn")
    engine.dispose()
    return url


def ids(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line)["external_id"] for line in result.stdout.splitlines()]


def test_filters(db: str) -> None:
    assert ids(earful("--db", db, "mentions", "--json")) == ["2", "3", "1"]
    assert ids(earful("--db", db, "mentions", "list", "--brand", "globex", "--json")) == ["2"]
    assert ids(earful("--db", db, "mentions", "--sentiment", "negative", "--json")) == ["1"]
    assert ids(earful("--db", db, "mentions", "--source", "hn", "--json")) == ["2"]
    assert ids(earful("--db", db, "mentions", "--source", "rss", "--json")) == ["3", "1"]
    assert ids(earful("--db", db, "mentions", "--since", "1d", "--json")) == ["2", "3"]
    assert ids(earful("--db", db, "mentions", "--search", "50%", "--json")) == ["3"]
    assert ids(earful("--db", db, "mentions", "--limit", "1", "--json")) == ["2"]


def test_json_shape(db: str) -> None:
    result = earful("--db", db, "mentions", "--brand", "acme", "--sentiment", "negative", "--json")
    [row] = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["brands"] == ["Acme"] and row["source_name"] == "feed"
    assert row["sentiment"]["label"] == "negative" and row["sentiment"]["compound"] < 0
    assert row["published_at"].endswith("Z")


def test_table_prints_markup_literally(db: str) -> None:
    result = earful("--db", db, "mentions", "--search", "script")
    assert result.returncode == 0, result.stderr
    assert "[bold red]Acme[/]" in result.stdout
    assert "[link=https://evil.example]click[/link]" in result.stdout


def test_bad_sentiment_and_since_are_usage_errors(db: str) -> None:
    assert earful("--db", db, "mentions", "--sentiment", "angry").returncode == 2
    assert earful("--db", db, "mentions", "--since", "yesterday").returncode == 2


def test_empty_database_lists_nothing(tmp_path: Path) -> None:
    result = earful("--db", f"sqlite:///{tmp_path / 'empty.db'}", "mentions", "--json")
    assert result.returncode == 0 and result.stdout == ""
    assert "no database at" in result.stderr
    assert not (tmp_path / "empty.db").exists()  # a read command never creates the database


def test_unknown_brand_is_a_usage_error_naming_the_close_one(db: str) -> None:
    result = earful("--db", db, "mentions", "--brand", "Acmee")
    assert result.returncode == 2
    assert "no brand named 'Acmee'" in result.stderr
    assert "did you mean 'Acme'?" in result.stderr
    assert result.stdout == ""


def test_brand_is_matched_in_any_case(db: str) -> None:
    assert ids(earful("--db", db, "mentions", "--brand", "ACME", "--json")) == ["3", "1"]


def test_bad_since_is_a_usage_error_even_on_an_empty_database(tmp_path: Path) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    assert earful("--db", empty, "mentions", "--since", "garbage").returncode == 2


def test_table_fits_80_columns_one_line_per_mention(db: str) -> None:
    result = run_earful("--db", db, "mentions", env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    body = [line for line in lines if line.startswith("│")]
    assert len(body) == 3  # no row wraps onto a second line
    assert any("…" in line for line in body)  # long text is cut, not wrapped
    assert "https://a.example" not in result.stdout  # url is a --wide column


def test_wide_table_shows_every_column(db: str) -> None:
    result = earful("--db", db, "mentions", "--wide")
    assert result.returncode == 0, result.stderr
    assert "https://a.example/1" in result.stdout and "author" in result.stdout
