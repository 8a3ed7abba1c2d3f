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
