"""Durable work on a real Celery worker, a Redis of our own and PostgreSQL: a Redis restart
mid-run drops the queued risk evaluations of stored mentions; the sweep
(``earful.sweep_unscored``, sent as beat sends it) finds them in the store and re-enqueues
them, so no stored mention stays unscored once Redis is back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from earful.run import distributed
from earful.run.celery_config import create_app
from earful.settings import Settings
from tests.integration.distributed.conftest import (
    FeedServer,
    PrivateRedis,
    Workers,
    make_bodies,
    wait_until,
    worker_env,
    write_config,
)
from tests.integration.distributed.test_celery_workers import dispatcher, polled

pytestmark = pytest.mark.integration

UNSCORED = "SELECT count(*) FROM mention WHERE risk IS NULL"
SWEPT = re.compile(r"Task earful\.sweep_unscored\[[^\]]+\] succeeded in [^:]+: (\d+)")


def sweeps(log: Path) -> list[int]:
    """What each sweep the worker ran returned (mentions re-enqueued)."""
    found = SWEPT.findall(log.read_text(errors="replace")) if log.exists() else []
    return [int(n) for n in found]


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_a_redis_restart_leaves_no_stored_mention_unscored(
    tmp_path: Path, pg_url: str, pg_engine: Engine, private_redis: PrivateRedis, workers: Workers
) -> None:
    bodies = make_bodies(4, seed=31, fresh=True)  # published in the last hour: all scoreable
    broker = private_redis.url
    with FeedServer(bodies) as server:
        config_dir = write_config(tmp_path / "config", server.base_url, list(bodies))
        env = worker_env(config_dir, pg_url, broker, EARFUL_SWEEP_GRACE_S="0")
        # A worker that polls and stores but does not take the process queue yet, so the
        # risk evaluations of the stored batches are waiting in Redis when it restarts.
        workers.start(env, "poller", queues="poll")
        with dispatcher(config_dir, pg_url, broker) as (_, tick):
            assert len(tick()) == 4
            wait_until(lambda: polled(pg_engine) == 4, 120, "4 polls", workers.logs)
            wait_until(
                lambda: distributed.queue_depths(broker)["process"] >= 4,
                60,
                "the risk evaluations queued",
                workers.logs,
            )
            stored = count(pg_engine, "SELECT count(*) FROM mention")
            before = count(pg_engine, UNSCORED)
            assert stored > 0 and before == stored  # nothing scored yet

            private_redis.kill()
            private_redis.start()  # no persistence: the queued evaluations are gone
            assert distributed.queue_depths(broker)["process"] == 0

            workers.start(env, "scorer", queues="process,notify")
            scorer_log = workers.log_dir / "scorer.log"
            app = create_app(Settings(broker_url=broker), main="earful-sweep")  # type: ignore[call-arg]
            try:
                # What beat sends every couple of minutes.
                app.send_task("earful.sweep_unscored")
                wait_until(
                    lambda: count(pg_engine, UNSCORED) == 0,
                    180,
                    "every stored mention scored",
                    workers.logs,
                )
                # Sweeping again finds nothing and sends nothing.
                app.send_task("earful.sweep_unscored")
                wait_until(
                    lambda: len(sweeps(scorer_log)) == 2, 60, "the second sweep", workers.logs
                )
            finally:
                app.close()
    after = count(pg_engine, UNSCORED)
    print(f"\nstored {stored}; unscored after the Redis restart {before}, after the sweep {after}")
    assert after == 0
    assert count(pg_engine, "SELECT count(*) FROM mention") == stored
    assert sweeps(scorer_log) == [before, 0]
