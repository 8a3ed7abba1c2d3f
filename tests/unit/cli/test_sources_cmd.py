"""`earful sources list|check|test|enable` through the real entry point."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from earful.demo.main import FeedServer, Route
from earful.errors import SourceGoneError, TransientSourceError
from earful.store import repository
from earful.store.db import init_db, make_engine
from tests.conftest import run_earful

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<link>https://n.example/</link>
<item><title>Acme Rockets exploded, awful</title><guid>1</guid><link>https://n.example/1</link>
<description>Terrible day for Acme Rockets.</description></item>
<item><title>Weather</title><guid>2</guid><link>https://n.example/2</link>
<description>Sunny.</description></item>
</channel></rss>"""


def earful(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"COLUMNS": "200", "EARFUL_HOST_MIN_INTERVAL_S": "0", "PATH": "/usr/bin:/bin"}
    return run_earful(*args, env=env)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer({"/feed.rss": Route(FEED, "application/rss+xml")}) as srv:
        yield srv


def write_config(root: Path, url: str, interval: str = "5m") -> Path:
    config = root / "config"
    config.mkdir()
    (config / "brands.yaml").write_text(
        "brands:\n  - name: Acme Rockets\n    queries: ['\"acme rockets\"']\n"
    )
    (config / "sources.yaml").write_text(
        f"sources:\n  - name: news\n    kind: rss\n    url: {url}\n    interval: {interval}\n"
        "  - name: quiet\n    kind: rss\n    url: https://q.example/f\n    enabled: false\n"
    )
    return config


def test_check_ok(tmp_path: Path) -> None:
    config = write_config(tmp_path, "https://n.example/feed")
    result = earful("--config", str(config), "sources", "check")
    assert result.returncode == 0, result.stderr
    assert "1 brand(s), 2 source(s) (1 enabled)" in result.stdout


def test_check_bad_config_exits_2_with_file_line_field(tmp_path: Path) -> None:
    config = write_config(tmp_path, "https://n.example/feed", interval="soon")
    result = earful("--config", str(config), "sources", "check")
    assert result.returncode == 2
    assert "sources.yaml:5: news.interval: expected a duration" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_check_reports_every_mistake_in_one_run(tmp_path: Path) -> None:
    config = write_config(tmp_path, "https://n.example/feed", interval="soon")
    (config / "brands.yaml").write_text(
        "brands:\n  - name: Acme Rockets\n    queries: ['\"acme rockets\"']\n"
        "    track: sometimes\n"
        "  - name: Beta\n    colour: blue\n"
    )
    result = earful("--config", str(config), "sources", "check")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == f"earful: 3 mistakes in {config}"
    located = lines[:-1]
    assert len(located) == 3
    for where in (
        "brands.yaml:4: Acme Rockets.track: expected true or false",
        "brands.yaml:6: Beta.colour: unknown key",
        "sources.yaml:5: news.interval: expected a duration",
    ):
        assert sum(where in line for line in located) == 1, (where, located)


def test_check_reports_reference_mistakes_beside_value_mistakes(tmp_path: Path) -> None:
    config = write_config(tmp_path, "https://n.example/feed", interval="soon")
    (config / "brands.yaml").write_text(
        "brands:\n  - name: Acme Rockets\n    queries: ['\"acme rockets\"']\n"
        "    competitors: [Nobody Inc, Beta]\n"
        "  - name: Beta\n    colour: blue\n"
    )
    result = earful("--config", str(config), "sources", "check")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == f"earful: 3 mistakes in {config}"
    joined = "\n".join(lines)
    assert "brands.yaml:4: Acme Rockets.competitors[0]: 'Nobody Inc' is not a configured" in joined
    assert "brands.yaml:6: Beta.colour: unknown key" in joined
    assert "sources.yaml:5: news.interval: expected a duration" in joined
    assert "'Beta' is not" not in joined  # Beta's own mistake is reported once, not twice


def test_check_yaml_syntax_error_in_plain_words(tmp_path: Path) -> None:
    config = write_config(tmp_path, "https://n.example/feed")
    (config / "brands.yaml").write_text("brands:\n  - name: Acme\n   queries: [acme]\n")
    result = earful("--config", str(config), "sources", "check")
    assert result.returncode == 2
    assert "brands.yaml:3: YAML syntax error: " in result.stderr
    assert "<block" not in result.stderr


def test_list_table_fits_80_columns(tmp_path: Path) -> None:
    config = write_config(tmp_path, "https://n.example/feed")
    db = f"sqlite:///{tmp_path / 'e.db'}"
    engine = make_engine(db)
    init_db(engine)
    now = datetime.now(UTC)
    with Session(engine) as s, s.begin():
        repository.record_poll_failure(
            s,
            name="news",
            kind="rss",
            now=now,
            interval=timedelta(minutes=5),
            error=TransientSourceError(
                "news: HTTP 503 " + "and a very long explanation " * 5, source="news"
            ),
        )
    engine.dispose()
    env = {"COLUMNS": "80", "PATH": "/usr/bin:/bin"}
    result = run_earful("--config", str(config), "--db", db, "sources", "list", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = [line for line in lines if line.startswith("│")]
    assert len(rows) == 2  # one line per source
    news, quiet = rows
    assert "HTTP 503" in news and "…" in news and "news:" not in news
    assert "off" in quiet


def test_list_json_shows_health(tmp_path: Path) -> None:
    config = write_config(tmp_path, "https://n.example/feed")
    db = f"sqlite:///{tmp_path / 'e.db'}"
    engine = make_engine(db)
    init_db(engine)
    now = datetime.now(UTC)
    with Session(engine) as s, s.begin():
        repository.record_poll_ok(
            s,
            name="news",
            kind="rss",
            now=now - timedelta(hours=2),
            interval=timedelta(minutes=5),
            item_count=2,
        )
        repository.record_poll_failure(
            s,
            name="news",
            kind="rss",
            now=now,
            interval=timedelta(minutes=5),
            error=SourceGoneError("HTTP 410 Gone", reason="http_410", permanent=True),
        )
    engine.dispose()
    result = earful("--config", str(config), "--db", db, "sources", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows["news"]["enabled"] is False and rows["news"]["consecutive_failures"] == 1
    assert rows["news"]["last_error_reason"] == "http_410" and rows["news"]["last_ok"]
    assert rows["news"]["silent_for"] == "2h"
    assert rows["quiet"]["enabled"] is False and rows["quiet"]["last_ok"] is None
    table = earful("--config", str(config), "--db", db, "sources", "list")
    assert "news" in table.stdout and "410" in table.stdout
    enabled = earful("--config", str(config), "--db", db, "sources", "enable", "news")
    assert enabled.returncode == 0, enabled.stderr
    again = earful("--config", str(config), "--db", db, "sources", "list", "--json")
    assert json.loads(again.stdout.splitlines()[0])["enabled"] is True


def test_test_source_prints_and_stores_nothing(tmp_path: Path, server: FeedServer) -> None:
    config = write_config(tmp_path, server.url("/feed.rss"))
    db_path = tmp_path / "never.db"
    result = earful(
        "--config", str(config), "--db", f"sqlite:///{db_path}", "sources", "test", "news", "--json"
    )
    assert result.returncode == 0, result.stderr
    [item] = [json.loads(line) for line in result.stdout.splitlines()]
    assert item["brands"] == ["Acme Rockets"]
    assert item["sentiment"]["label"] == "negative"
    assert not db_path.exists()
    table = earful("--config", str(config), "sources", "test", "news")
    assert "Acme Rockets" in table.stdout and "no_brand: 1" in table.stdout
    assert server.bodies["/feed.rss"] == 2


def test_test_unknown_source_is_usage_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, "https://n.example/feed")
    result = earful("--config", str(config), "sources", "test", "nope")
    assert result.returncode == 2 and "nope" in result.stderr


def test_read_commands_never_create_the_database(tmp_path: Path) -> None:
    config = write_config(tmp_path, "https://n.example/feed")
    missing = tmp_path / "missing.db"
    db = f"sqlite:///{missing}"
    listed = earful("--config", str(config), "--db", db, "sources", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [json.loads(line)["name"] for line in listed.stdout.splitlines()] == ["news", "quiet"]
    escalations = earful("--config", str(config), "--db", db, "escalations", "list")
    assert escalations.returncode == 1
    assert "no database at" in escalations.stderr
    assert not missing.exists()
