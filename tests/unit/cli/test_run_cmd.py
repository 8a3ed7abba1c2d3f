"""``earful run``'s per-pass config: re-read only when the files change."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from earful.cli.common import CliState
from earful.cli.run_cmd import _reloader
from earful.errors import ConfigError
from tests.conftest import run_earful

BRANDS = "brands:\n  - name: Acme\n    queries: ['acme']\n"


def test_config_is_reread_only_when_its_files_change(tmp_path: Path) -> None:
    (tmp_path / "brands.yaml").write_text(BRANDS)
    (tmp_path / "sources.yaml").write_text("sources: []\n")
    st = CliState(config_dir=tmp_path, db_url="sqlite://")
    reload = _reloader(st)
    first = reload()
    assert first is st.config() and reload() is first

    (tmp_path / "brands.yaml").write_text(BRANDS.replace("Acme", "Globex"))
    edited = reload()
    assert [b.name for b in edited.brands] == ["Globex"] and reload() is edited

    (tmp_path / "brands.yaml").write_text("brands: [")
    with pytest.raises(ConfigError):
        reload()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again on return: nothing listens there


def test_once_with_every_source_failing_exits_1_and_points_at_the_demo(tmp_path: Path) -> None:
    port = closed_port()
    config = tmp_path / "config"
    config.mkdir()
    (config / "brands.yaml").write_text(BRANDS)
    (config / "sources.yaml").write_text(
        "sources:\n"
        f"  - name: one\n    kind: rss\n    url: http://127.0.0.1:{port}/a.rss\n"
        f"  - name: two\n    kind: rss\n    url: http://127.0.0.1:{port}/b.rss\n"
    )
    db = f"sqlite:///{tmp_path / 'r.db'}"
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "200", "EARFUL_MAX_RETRIES": "0"}
    result = run_earful("--config", str(config), "--db", db, "run", "--once", env=env)
    assert result.returncode == 1, result.stderr
    assert "2 source(s) polled" in result.stdout
    assert "every polled source failed" in result.stderr
    assert "earful demo" in result.stderr
