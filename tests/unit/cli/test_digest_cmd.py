"""`earful digest`: an unknown brand is a usage error that creates nothing."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_earful


def write_config(root: Path) -> Path:
    config = root / "config"
    config.mkdir()
    (config / "brands.yaml").write_text(
        "brands:\n  - name: Acme Rockets\n  - name: Globex\n    track: false\n"
    )
    (config / "sources.yaml").write_text("sources: []\n")
    return config


def test_unknown_brand_exits_2_listing_the_configured_ones(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    db = tmp_path / "d.db"
    result = run_earful(
        "--config", str(config), "--db", f"sqlite:///{db}", "digest", "--brand", "NoSuch"
    )
    assert result.returncode == 2
    assert "no brand named 'NoSuch' (configured: Acme Rockets, Globex)" in result.stderr
    assert result.stdout == ""
    assert not db.exists()


def test_brand_in_another_case_is_the_configured_one(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    db = f"sqlite:///{tmp_path / 'd.db'}"
    result = run_earful("--config", str(config), "--db", db, "digest", "--brand", "acme rockets")
    assert result.returncode == 0, result.stderr
    assert "Acme Rockets" in result.stdout
