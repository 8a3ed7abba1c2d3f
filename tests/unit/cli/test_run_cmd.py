"""``earful run``'s per-pass config: re-read only when the files change."""

from __future__ import annotations

from pathlib import Path

import pytest

from earful.cli.common import CliState
from earful.cli.run_cmd import _reloader
from earful.errors import ConfigError

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
