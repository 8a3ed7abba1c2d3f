"""Help renders on/off flags as flags (``--json``), never as ``--json <bool>``."""

from __future__ import annotations

import pytest

from tests.conftest import run_earful


@pytest.mark.parametrize("command", [(), ("mentions",), ("sources", "list")])
def test_flags_show_no_type(command: tuple[str, ...]) -> None:
    result = run_earful(*command, "--help", env={"COLUMNS": "100", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "--help" in result.stdout
    assert "<bool>" not in result.stdout
    if command:
        assert "--json" in result.stdout
    else:
        assert "default: ./config, or EARFUL_CONFIG" in result.stdout
