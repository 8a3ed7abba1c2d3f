"""`earful status --json` against a real Redis broker with a real worker attached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from earful.cli import app
from earful.run import distributed
from tests.integration.distributed.conftest import (
    Workers,
    make_bodies,
    wait_until,
    worker_env,
    write_config,
)

pytestmark = pytest.mark.integration


def test_status_shows_queues_workers_and_sources(
    tmp_path: Path, pg_url: str, pg_engine: Engine, broker_url: str, workers: Workers
) -> None:
    config_dir = write_config(tmp_path / "config", "http://127.0.0.1:9", list(make_bodies(2)))
    client = redis.Redis.from_url(broker_url)
    try:
        # Depths count plain and priority lists (kombu's "<queue>\x06\x16<n>").
        client.lpush("digest", "a", "b", "c")
        client.lpush("poll\x06\x163", "d")
        depths = distributed.queue_depths(broker_url)
        assert (depths["digest"], depths["poll"], depths["notify"]) == (3, 1, 0)
        client.delete("digest", "poll\x06\x163")
        workers.start(worker_env(config_dir, pg_url, broker_url), "watched")
        args = ["--config", str(config_dir), "--db", pg_url, "status", "--json", "--timeout", "2"]
        env = {"EARFUL_BROKER_URL": broker_url}

        def status() -> dict[str, object]:
            result = CliRunner().invoke(app, args, env=env)
            assert result.exit_code == 0, result.output
            data: dict[str, object] = json.loads(result.output)
            return data

        wait_until(lambda: bool(status()["broker"]["workers"]), 60, "a worker", workers.logs)  # type: ignore[index]
        data = status()
        broker = data["broker"]
        assert isinstance(broker, dict)
        assert broker["ok"] is True
        assert [w["ok"] for w in broker["workers"]] == [True]
        assert set(broker["queues"]) >= {"poll", "process", "notify", "digest", "unacked"}
        sources = data["sources"]
        assert isinstance(sources, list)
        assert [s["status"] for s in sources] == ["never polled", "never polled"]
    finally:
        client.close()
