"""Recorded outputs that a refactoring must leave byte-identical.

``earful replay SCENARIO --trace`` for the bundled scenarios, ``earful digest --json`` over the
replayed UBG database, and ``earful parse`` over every body in ../shared/fixtures/real. Each is
kept as a SHA-256 of its exact bytes in ``tests/fixtures/golden/outputs.json``.

A change that is *meant* to change one of these outputs re-records them, and says why in its
commit::

    .venv/bin/python -m tests.e2e.golden --write
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from typer.testing import CliRunner

from earful.cli import app

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixtures" / "golden" / "outputs.json"
SCENARIOS = ("ubg", "quiet_day", "viral_compliment")
# The digest's wall-clock stamp is the one field that differs between runs.
_GENERATED_AT = re.compile(rb'\n  "generated_at": "[^"]*",')
# fixtures/real folder -> the ``earful parse`` KIND for its bodies
PARSE_KINDS = {
    "rss": "rss",
    "atom": "rss",
    "google_news": "rss",
    "google_alerts": "rss",
    "hn_algolia": "hackernews",
    "jsonld_reviews": "jsonld",
}


def _earful(*args: str) -> bytes:
    result = CliRunner().invoke(app, ["--config", str(ROOT / "config"), *args])
    if result.exit_code != 0:
        raise AssertionError(f"earful {' '.join(args)} exited {result.exit_code}: {result.output}")
    return result.stdout_bytes


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def replay_outputs() -> Iterator[tuple[str, bytes]]:
    for scenario in SCENARIOS:
        yield f"replay {scenario} --trace", _earful("replay", scenario, "--trace")
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'ubg.db'}"
        _earful("replay", "ubg", "--db", db)
        digest = _earful(
            "--db", db, "digest", "--brand", "United Airlines", "--date", "2009-07-09", "--json"
        )
        yield "digest ubg 2009-07-09 --json", _GENERATED_AT.sub(b"", digest)


def parse_outputs(real: Path) -> Iterator[tuple[str, bytes]]:
    for path in sorted(p for p in real.rglob("*") if p.is_file() and p.name != "MANIFEST.md"):
        folder = path.relative_to(real).parts[0]
        kind = PARSE_KINDS.get(folder, folder)
        yield f"parse {kind} {path.relative_to(real)}", _earful("parse", kind, str(path))


def record(real: Path | None) -> dict[str, str]:
    outputs = dict(replay_outputs())
    if real is not None:
        outputs.update(parse_outputs(real))
    return {name: _sha(body) for name, body in outputs.items()}


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.e2e.golden --write")
    real = ROOT.parent / "shared" / "fixtures" / "real"
    GOLDEN.write_text(json.dumps(record(real), indent=1, sort_keys=True) + "\n", "utf-8")
    print(f"wrote {GOLDEN}")
