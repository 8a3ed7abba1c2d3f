"""`earful replay`: the global ``--db`` keeps what the replay stored (as ``replay --db`` does);
the example config it replays with raises each level to a different person."""

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


def test_example_routes_reach_a_new_person_at_each_level() -> None:
    from earful.config.loader import load_config

    escalation = load_config(ROOT / "config", env={}).escalation
    people = [
        {route.to for route in escalation.routes_for("United Airlines", level)}
        for level in (1, 2, 3)
    ]
    assert all(len(p) == 1 for p in people), people
    assert len(set.union(*people)) == 3, people
