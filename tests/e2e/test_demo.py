"""`earful demo --keep DIR` as a subprocess: escalations printed, a signed webhook received, the
digest written with the chronic theme and the hostile text escaped, and the kept database
giving the same page through the command the demo prints."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_earful

pytestmark = pytest.mark.e2e

XSS_MARK = "earful-demo-xss"


def earful(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARFUL_")}
    env["COLUMNS"] = "200"
    return run_earful(*args, env=env, cwd=cwd, timeout=300)


def same_page(a: str, b: str) -> bool:
    def strip(page: str) -> str:
        return re.sub(r"[Gg]enerated[^<]*", "", page)

    return strip(a) == strip(b)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("demo")
    result = earful("demo", "--keep", str(root / "keep"), "--out", str(root / "out"), cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root, result.stdout


def test_escalations_are_printed_with_levels_and_reasons(demo_run: tuple[Path, str]) -> None:
    _root, out = demo_run
    assert "LEVEL 1 (service lead)" in out
    # nobody acknowledges in the demo: the SLA raises it
    assert "LEVEL 2 (manager)" in out
    first = out.index("LEVEL 1 (service lead)")
    block = out[first : first + 1500]
    assert "United Breaks Guitars" in block
    # the quiet background played alongside never escalates: one incident, raised twice
    assert out.count("LEVEL 1 (") == 1
    assert re.search(r"· (forecast|velocity|negativity|severity) \+\d", block)
    # the console channel's own notification text arrived too
    assert "[Earful L1] United Airlines" in out


def test_webhook_received_signed_notifications(demo_run: tuple[Path, str]) -> None:
    _root, out = demo_run
    assert "webhook signature valid" in out and "signature INVALID" not in out
    found = re.search(r"(\d+) signed notification\(s\) received \((\d+) refused\)", out)
    assert found is not None
    assert int(found.group(1)) >= 1 and int(found.group(2)) == 0


def test_digest_flags_the_chronic_theme_and_escapes_hostile_text(
    demo_run: tuple[Path, str],
) -> None:
    root, out = demo_run
    html_path = root / "out" / "digest.html"
    assert f"digest written: {html_path.resolve()}" in out.replace("\n", "")
    page = html_path.read_text(encoding="utf-8")
    data = json.loads((root / "out" / "digest.json").read_text(encoding="utf-8"))
    chronic = [t for t in data["themes"] if t["chronic"]]
    assert any("o'hare baggage" in t["terms"] or "baggage claim" in t["terms"] for t in chronic)
    assert all(t["weeks_seen"] >= 3 for t in chronic)
    # the one-day outage spike is a theme but not a chronic one
    outage = [
        t
        for t in data["themes"]
        if any("reservation" in term or "outage" in term for term in t["terms"])
    ]
    assert outage and not any(t["chronic"] for t in outage)
    assert 'class="chronic"' in page and "baggage claim" in page
    assert any(
        h["source"] == "ohare-blog" and h["status"] == "failing" for h in data["source_health"]
    )
    # the hostile mention is in the page, as text only
    assert XSS_MARK in page
    assert "<script" not in page.lower()
    assert f"<script>alert('{XSS_MARK}')" not in page


def test_kept_database_reproduces_the_digest(demo_run: tuple[Path, str]) -> None:
    root, out = demo_run
    line = next(ln.strip() for ln in out.splitlines() if ln.strip().startswith("earful --"))
    args = shlex.split(line)[1:]
    assert args[args.index("--date") + 1] == "2009-07-09"
    args[args.index("--out") + 1] = str(root / "again.html")
    result = earful(*args, cwd=root)
    assert result.returncode == 0, result.stderr[-2000:]
    again = (root / "again.html").read_text(encoding="utf-8")
    first = (root / "out" / "digest.html").read_text(encoding="utf-8")
    # only a "generated at" stamp, if the page ever shows one, may differ
    assert same_page(again, first)
    assert "baggage claim" in again
    assert (root / "keep" / "earful.db").is_file()
