"""``earful digest`` on the command line, and the digest routes for ``earful web``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from earful.cli import app
from earful.clock import SimulatedClock
from earful.web.digests import make_digest_router
from tests.unit.digest.digest_factories import NOW, digest_config, seed_month

BRANDS_YAML = """\
brands:
  - name: Acme
    queries: ['acme']
    competitors: [Globex]
  - name: Globex
    queries: ['globex']
    track: false
"""
SOURCES_YAML = """\
sources:
  - name: acme-rss
    kind: rss
    url: https://example.com/feed
"""


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    cfg = tmp_path / "config"
    cfg.mkdir()
    (cfg / "brands.yaml").write_text(BRANDS_YAML)
    (cfg / "sources.yaml").write_text(SOURCES_YAML)
    return cfg


def run(config_dir: Path, db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--config", str(config_dir), "--db", db_url, *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--date", "21/11/2026"],
        ["--since", "yesterday"],
        ["--date", "2026-11-21", "--since", "2026-11-01"],
    ],
)
def test_bad_dates_exit_2_with_a_reason(
    config_dir: Path, sqlite_url: str, sqlite_engine: Engine, args: list[str]
) -> None:
    code, _out, err = run(config_dir, sqlite_url, "digest", "--brand", "Acme", *args)
    assert code == 2
    assert "YYYY-MM-DD" in err or "not both" in err


def test_json_and_html_out(
    config_dir: Path, sqlite_url: str, sqlite_engine: Engine, tmp_path: Path
) -> None:
    seed_month(sqlite_engine)
    out = tmp_path / "d.html"
    code, stdout, _err = run(
        config_dir, sqlite_url, "digest", "--brand", "Acme", "--date", "2026-11-21",
        "--json", "--out", str(out),
    )  # fmt: skip
    assert code == 0
    data = json.loads(stdout)
    assert data["volume"] == 9 and data["share_of_voice"] == {"Acme": 0.75, "Globex": 0.25}
    html = out.read_text()
    assert html.count('src="data:image/png;base64,') == 4
    assert "&lt;script&gt;" in html


def test_unknown_brand_is_bad_usage(
    config_dir: Path, sqlite_url: str, sqlite_engine: Engine
) -> None:
    """Neither configured nor stored: exit 2 naming the configured brands (issue 18), not
    an empty digest that looks like a quiet day."""
    code, stdout, err = run(config_dir, sqlite_url, "digest", "--brand", "Nobody", "--json")
    assert code == 2
    assert stdout == ""
    assert "no brand named 'Nobody' (configured: " in err


def test_a_fresh_database_gives_an_empty_digest(config_dir: Path, tmp_path: Path) -> None:
    code, stdout, err = run(
        config_dir, f"sqlite:///{tmp_path / 'fresh.db'}", "digest", "--brand", "Acme", "--json"
    )
    assert code == 0, err
    assert json.loads(stdout)["volume"] == 0


def test_unwritable_out_is_bad_usage(config_dir: Path, sqlite_url: str, tmp_path: Path) -> None:
    out = tmp_path / "missing" / "d.html"
    code, _out, err = run(config_dir, sqlite_url, "digest", "--brand", "Acme", "--out", str(out))
    assert code == 2 and err.startswith("earful: cannot write --out")


def test_send_without_recipients_is_bad_usage(
    config_dir: Path, sqlite_url: str, sqlite_engine: Engine
) -> None:
    code, _out, err = run(config_dir, sqlite_url, "digest", "--brand", "Acme", "--send")
    assert code == 2 and "recipients" in err


def test_web_archive_and_page(sqlite_engine: Engine) -> None:
    seed_month(sqlite_engine)
    web = FastAPI()
    web.include_router(
        make_digest_router(
            get_engine=lambda: sqlite_engine,
            get_config=digest_config,
            clock=SimulatedClock(NOW),
        )
    )

    async def fetch_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [
                await client.get(path)
                for path in (
                    "/digests",
                    "/digests/Acme/2026-11-21",
                    "/digests/Acme/2026-11-21?format=json",
                    "/digests/Acme/not-a-date",
                )
            ]

    archive, page, as_json, bad = asyncio.run(fetch_all())
    assert archive.status_code == 200
    assert 'href="/digests/Acme/2026-11-21"' in archive.text
    assert page.status_code == 200
    assert "script-src" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "&lt;script&gt;" in page.text and "CHRONIC" in page.text
    assert as_json.json()["volume"] == 9
    assert bad.status_code == 400
