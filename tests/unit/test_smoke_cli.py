"""The CLI starts, lists its commands and maps usage errors to exit code 2."""

from __future__ import annotations

import subprocess

from tests.conftest import run_earful


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_earful(*args)


def test_unknown_command_is_usage_error() -> None:
    result = run_cli("no-such-command")
    assert result.returncode == 2
    assert "No such command" in result.stderr


def test_db_upgrade_creates_schema(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = run_cli("--db", url, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    import sqlite3

    tables = {
        r[0]
        for r in sqlite3.connect(tmp_path / "x.db").execute(
            "select name from sqlite_master where type='table'"
        )
    }
    assert {"mention", "source_state", "story", "engagement_snapshot"} <= tables


def test_unreachable_database_is_one_line_exit_1() -> None:
    url = "postgresql+psycopg://u:hunter2@127.0.0.1:1/x"
    result = run_cli("--db", url, "digest", "--brand", "Acme")
    assert result.returncode == 1
    assert result.stderr.startswith("earful: database error:")
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr


def test_malformed_database_url_is_bad_usage() -> None:
    result = run_cli("--db", "nonsense://x", "mentions")
    assert result.returncode == 2
    assert result.stderr.startswith("earful: database error:")


def test_bench_out_in_a_missing_directory_is_refused_before_measuring(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("bench", "--only", "ubg", "--out", str(tmp_path / "missing" / "b.json"))
    assert result.returncode == 2
    assert "--out" in result.stderr and "bench: running" not in result.stderr


def test_demo_keep_that_is_a_file_is_bad_usage(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "f").write_text("")
    result = run_cli("demo", "--keep", str(tmp_path / "f"))
    assert result.returncode == 2 and "--keep" in result.stderr
    result = run_cli("demo", "--out", str(tmp_path / "f"))
    assert result.returncode == 2 and "--out" in result.stderr


def test_status_names_a_missing_schema_in_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import os

    env = {**os.environ, "EARFUL_BROKER_URL": "redis://127.0.0.1:1/0"}
    db = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = run_earful("--db", db, "status", "--json", env=env)
    assert result.returncode == 0, result.stderr
    error = json.loads(result.stdout)["db_error"]
    assert error == "store unreachable: no such table: source_state"
