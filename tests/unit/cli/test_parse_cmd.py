"""``earful parse KIND FILE [--url URL]`` run as a real subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import shared_path

CONTRACT_KEYS = [
    "source",
    "external_id",
    "url",
    "title",
    "text",
    "author",
    "author_followers",
    "published_at",
    "language",
    "rating",
    "engagement",
    "parent_id",
]


def run_parse(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", "from earful.cli import main; main()", "parse", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def json_lines(out: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.decode("utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("folder", "name", "count"),
    [
        ("rss", "netnewswire_kc0011.rss", 20),
        ("rss", "rss-parser_uolNoticias.rss", 15),
        ("atom", "netnewswire_DaringFireball.atom", 48),
        ("google_news", "google_news_search_ko_KR_bandoche_TRIMMED.xml", 3),
    ],
)
def test_parse_prints_one_contract_object_per_item(folder: str, name: str, count: int) -> None:
    path = shared_path("fixtures", "real", folder, name)
    proc = run_parse("rss", str(path))
    assert proc.returncode == 0, proc.stderr
    rows = json_lines(proc.stdout)
    assert len(rows) == count
    for row in rows:
        assert list(row) == CONTRACT_KEYS
        assert row["source"] == "rss"
        assert isinstance(row["url"], str) and row["url"].startswith(("http://", "https://"))
        assert isinstance(row["text"], str) and not re.search(r"<[A-Za-z]", row["text"])
        assert isinstance(row["published_at"], str) and row["published_at"].endswith("Z")
        assert row["engagement"] == {"likes": None, "shares": None, "comments": None, "views": None}


def test_url_option_resolves_relative_links() -> None:
    path = shared_path("fixtures", "real", "atom", "netnewswire_qemu.atom")
    without = run_parse("rss", str(path))
    assert without.returncode == 0
    assert all(row["url"] is None for row in json_lines(without.stdout))
    assert b"warning:" in without.stderr and b"relative links" in without.stderr
    with_url = run_parse("rss", str(path), "--url", "https://www.qemu.org/feed.xml")
    rows = json_lines(with_url.stdout)
    assert len(rows) == 10
    assert all(str(row["url"]).startswith("https://www.qemu.org/20") for row in rows)


def test_problems_go_to_stderr_as_warnings() -> None:
    path = shared_path(
        "fixtures", "real", "rss", "rss-parser_XML_File_Daily_SCI-Tech_News_physorg.xml"
    )
    proc = run_parse("rss", str(path))
    assert proc.returncode == 0
    assert len(json_lines(proc.stdout)) == 30
    assert b"warning:" in proc.stderr and b"not well-formed" in proc.stderr


def test_stdin_is_read_with_dash() -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title><item><title>Caf\xc3\xa9</title>'
        b"<link>https://e.example/1</link></item></channel></rss>"
    )
    proc = run_parse("rss", "-", stdin=body)
    assert proc.returncode == 0, proc.stderr
    assert json_lines(proc.stdout)[0]["title"] == "Café"


def test_unknown_kind_exits_2_with_the_kinds(tmp_path: Path) -> None:
    feed = tmp_path / "f.xml"
    feed.write_text("<rss/>")
    proc = run_parse("gopher", str(feed))
    assert proc.returncode == 2
    assert b"unknown kind 'gopher'" in proc.stderr and b"rss" in proc.stderr
    assert proc.stdout == b""


def test_unreadable_file_exits_2(tmp_path: Path) -> None:
    proc = run_parse("rss", str(tmp_path / "missing.xml"))
    assert proc.returncode == 2
    assert b"cannot read" in proc.stderr
    assert run_parse("rss", str(tmp_path)).returncode == 2


def test_not_a_feed_exits_1_with_the_reason(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<!doctype html><html><body><h1>Welcome</h1></body></html>")
    proc = run_parse("rss", str(page))
    assert proc.returncode == 1
    assert b"HTML page" in proc.stderr and proc.stdout == b""
