"""Shared test plumbing: where ../shared is, and the real services.

Tests that need ../shared or a service skip with a clear reason on a laptop without them,
and fail — never skip — when ``CI`` is set.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EARFUL_SHARED", ROOT.parent / "shared"))
IN_CI = bool(os.environ.get("CI"))
PG_ADMIN_URL = os.environ.get("EARFUL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("EARFUL_TEST_REDIS", "redis://127.0.0.1:6379/15")


def need(condition: bool, reason: str) -> None:
    """Skip when ``condition`` is false — or fail, under CI, where everything must be there.

    Safe at module level too (a parametrize list built from ../shared): there it skips, or
    under CI fails, the whole module at collection instead of erroring the run."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def shared_path(*parts: str) -> Path:
    """A file under ../shared (fixtures, data), or skip/fail when ../shared is absent."""
    path = SHARED.joinpath(*parts)
    need(path.exists(), f"{path} is absent (../shared is not beside the checkout)")
    return path


def fixture_bytes(*parts: str) -> bytes:
    return shared_path("fixtures", "real", *parts).read_bytes()


def run_earful(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``earful ARGS`` through the real entry point in a fresh interpreter; output captured
    as text, the exit code left to the caller (``env``: the whole environment, or inherit)."""
    return subprocess.run(
        [sys.executable, "-c", "from earful.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env=env,
        cwd=cwd,
    )


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'earful.db'}"


@contextmanager
def ready_engine(url: str) -> Iterator[Engine]:
    """An engine on ``url`` with Earful's tables created, disposed on exit."""
    from earful.store.db import init_db, make_engine

    engine = make_engine(url)
    init_db(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    with ready_engine(sqlite_url) as engine:
        yield engine


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on 127.0.0.1, dropped afterwards."""
    need(port_open("127.0.0.1", 5432), "PostgreSQL is not running on 127.0.0.1:5432")
    from earful.store.db import scratch_postgres

    with scratch_postgres(PG_ADMIN_URL, prefix="earful_test") as url:
        yield url


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    with ready_engine(pg_url) as engine:
        yield engine


@pytest.fixture
def redis_url() -> str:
    need(port_open("127.0.0.1", 6379), "Redis is not running on 127.0.0.1:6379")
    return REDIS_URL
