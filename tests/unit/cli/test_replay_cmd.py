"""`earful replay`: the global ``--db`` keeps what the replay stored (as ``replay --db`` does)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.conftest import ROOT, run_earful


def stored_mentions(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM mention").fetchone()[0])


def test_global_db_keeps_the_replayed_mentions(tmp_path: Path) -> None:
    path = tmp_path / "kept.db"
    config = str(ROOT / "config")
    result = run_earful("--config", config, "--db", f"sqlite:///{path}", "replay", "quiet_day")
    assert result.returncode == 0, result.stderr
    assert stored_mentions(path) > 0


def test_without_db_the_replay_stores_nothing_where_it_runs(tmp_path: Path) -> None:
    config = str(ROOT / "config")
    result = run_earful("--config", config, "replay", "quiet_day", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []
