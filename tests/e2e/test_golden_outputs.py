"""The refactoring guard: replay, digest and parse outputs are byte-identical to the recorded
ones (see ``tests/e2e/golden.py`` for what is recorded and how to re-record on purpose)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import shared_path
from tests.e2e import golden

pytestmark = pytest.mark.e2e


def _recorded() -> dict[str, str]:
    recorded: dict[str, str] = json.loads(golden.GOLDEN.read_text("utf-8"))
    return recorded


def test_replay_and_digest_outputs_are_unchanged() -> None:
    recorded = _recorded()
    now = {name: golden._sha(body) for name, body in golden.replay_outputs()}
    changed = sorted(name for name, sha in now.items() if recorded.get(name) != sha)
    assert not changed, f"outputs changed: {changed} (re-record on purpose: see golden.py)"


def test_parse_outputs_of_every_real_body_are_unchanged() -> None:
    real = shared_path("fixtures", "real")
    recorded = _recorded()
    now = {name: golden._sha(body) for name, body in golden.parse_outputs(real)}
    assert len(now) >= 60
    expected = {name: sha for name, sha in recorded.items() if name.startswith("parse ")}
    assert set(now) == set(expected)
    changed = sorted(name for name, sha in now.items() if expected[name] != sha)
    assert not changed, f"parse outputs changed: {changed}"
