"""Shared fixtures of the connector tests: an ``HttpClient`` that records its retry sleeps
instead of sleeping. External HTTP is mocked per test with respx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from earful.settings import Settings
from earful.sources.http import HttpClient, make_client


@pytest.fixture
def sleeps() -> list[float]:
    """The back-off sleeps the ``client`` fixture asked for, in order."""
    return []


@pytest.fixture
def max_retries() -> int:
    """Retries of the ``client`` fixture; a module overrides this fixture to change it."""
    return 2


@pytest.fixture
def client(sleeps: list[float], max_retries: int) -> Iterator[HttpClient]:
    """A real client (no per-host pacing) whose retry sleeps go to ``sleeps``."""
    with make_client(
        Settings(max_retries=max_retries), sleep=sleeps.append, host_min_interval_s=0
    ) as c:
        yield c
