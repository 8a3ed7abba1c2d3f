"""`earful mentions rematch`: usage errors and an empty store (the HTTP round trip is in
tests/integration/run/test_rematch_http.py)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_earful


def write_config(directory: Path) -> Path:
    directory.mkdir()
    (directory / "brands.yaml").write_text("brands:\n  - name: Acme\n    queries: [acme]\n")
    (directory / "sources.yaml").write_text("sources: []\n")
    return directory


def test_unknown_brand_is_a_usage_error(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config")
    db = f"sqlite:///{tmp_path / 'e.db'}"
    result = run_earful(
        "--config", str(config), "--db", db, "mentions", "rematch", "--brand", "Acmee"
    )
    assert result.returncode == 2
    assert "no configured brand named 'Acmee'" in result.stderr


def test_empty_store_reports_nothing_and_creates_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config")
    db = f"sqlite:///{tmp_path / 'e.db'}"
    result = run_earful("--config", str(config), "--db", db, "mentions", "rematch", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["scanned"] == 0
    assert not (tmp_path / "e.db").exists()
