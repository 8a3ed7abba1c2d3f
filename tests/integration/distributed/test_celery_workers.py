"""Real Celery workers (subprocesses) on real Redis and PostgreSQL, fed by a local HTTP server.

(a) the rows a worker stores equal those of the embedded runner for the same feeds;
(b) chaos: a worker SIGKILLed mid-poll loses and duplicates nothing once the message is
    redelivered; a Redis restart mid-run is survived by reconnecting;
(c) two workers and racing ticks never poll a source twice in one interval.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from earful.clock import SystemClock
from earful.config.loader import load_config
from earful.run import distributed
from earful.run.celery_config import create_app
from earful.run.runner import run_once
from earful.settings import Settings
from earful.store.db import init_db, make_engine
from tests.integration.distributed.conftest import (
    FeedServer,
    PrivateRedis,
    Workers,
    make_bodies,
    wait_until,
    worker_env,
    write_config,
)

pytestmark = pytest.mark.integration

Row = tuple[str, str, str, tuple[str, ...]]


def stored_rows(engine: Engine) -> list[Row]:
    """(source, external_id, sentiment_label, brands) of every stored mention, sorted."""
    sql = text(
        "SELECT m.source, m.external_id, m.sentiment_label, b.brand FROM mention m "
        "LEFT JOIN mention_brand b ON b.mention_id = m.id"
    )
    found: dict[tuple[str, str, str], list[str]] = {}
    with engine.connect() as conn:
        for source, ext, label, brand in conn.execute(sql):
            found.setdefault((source, ext, label), [])
            if brand is not None:
                found[(source, ext, label)].append(brand)
    return sorted((*key, tuple(sorted(brands))) for key, brands in found.items())


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def polled(engine: Engine) -> int:
    return count(engine, "SELECT count(*) FROM source_state WHERE last_ok_at IS NOT NULL")


def embedded_rows(tmp_path: Path, config_dir: Path) -> list[Row]:
    """What ``earful run --once`` stores for the same config, in SQLite."""
    engine = make_engine(f"sqlite:///{tmp_path / 'embedded.db'}")
    init_db(engine)
    try:
        settings = Settings(config=config_dir, host_min_interval_s=0)  # type: ignore[call-arg]
        report = run_once(engine, load_config(config_dir), settings, SystemClock())
        assert report.failed == 0
        return stored_rows(engine)
    finally:
        engine.dispose()


@contextmanager
def dispatcher(
    config_dir: Path, db_url: str, broker_url: str
) -> Iterator[tuple[distributed.Runtime, Callable[[], list[distributed.Claim]]]]:
    """What beat's tick does, from the test process: claim due sources, send polls."""
    settings = Settings(  # type: ignore[call-arg]
        config=config_dir, db_url=db_url, broker_url=broker_url, host_min_interval_s=0
    )
    rt = distributed.create_runtime(settings)
    app = create_app(settings, main="earful-test")

    def send(claim: distributed.Claim) -> None:
        app.send_task("earful.poll_source", args=(claim.source, claim.token))

    try:
        yield rt, lambda: distributed.tick(rt, send)
    finally:
        app.close()
        rt.close()


def test_worker_stores_what_the_embedded_runner_stores(
    tmp_path: Path, pg_url: str, pg_engine: Engine, broker_url: str, workers: Workers
) -> None:
    bodies = make_bodies(6)
    with FeedServer(bodies) as server:
        config_dir = write_config(tmp_path / "config", server.base_url, list(bodies))
        workers.start(worker_env(config_dir, pg_url, broker_url), "parity")
        with dispatcher(config_dir, pg_url, broker_url) as (_, tick):
            claims = tick()
            assert sorted(c.source for c in claims) == sorted(f"feed{i}" for i in range(6))
            wait_until(lambda: polled(pg_engine) == 6, 120, "6 polls", workers.logs)
            assert tick() == []  # nothing is due again within the interval
        expected = embedded_rows(tmp_path, config_dir)
        assert all(server.requests[p] == 2 for p in bodies)  # one worker poll + one embedded
    got = stored_rows(pg_engine)
    assert len(got) > 50
    assert got == expected
    assert count(pg_engine, "SELECT count(*) FROM source_state WHERE lock_owner IS NOT NULL") == 0


def test_sigkilled_worker_loses_and_duplicates_nothing(
    tmp_path: Path, pg_url: str, pg_engine: Engine, broker_url: str, workers: Workers
) -> None:
    bodies = make_bodies(4, seed=21, fresh=True)
    slow = "/feed0.xml"
    with FeedServer(bodies, delays={slow: 4.0}) as server:
        config_dir = write_config(tmp_path / "config", server.base_url, list(bodies), hook=True)
        env = worker_env(config_dir, pg_url, broker_url, EARFUL_VISIBILITY_TIMEOUT_S="5")
        first = workers.start(env, "doomed")
        with dispatcher(config_dir, pg_url, broker_url) as (_, tick):
            # Only the slow source is due first, so the kill lands in the middle of its poll.
            write_config(config_dir, server.base_url, [slow], hook=True)
            assert [c.source for c in tick()] == ["feed0"]
            assert server.started[slow].wait(60), workers.logs()
            workers.kill(first)
            assert polled(pg_engine) == 0
            write_config(config_dir, server.base_url, list(bodies), hook=True)
            tick()
            workers.start(env, "survivor")
            wait_until(lambda: polled(pg_engine) == 4, 120, "4 polls after the kill", workers.logs)
            settled = (
                "SELECT count(*) FROM notification WHERE status NOT IN ('sent', 'dead', 'unknown')"
            )

            def quiet() -> bool:
                # Every follow-up task done (acks are late: running ones count as unacked),
                # every notification delivered.
                return (
                    not any(distributed.queue_depths(broker_url).values())
                    and count(pg_engine, "SELECT count(*) FROM notification") > 0
                    and count(pg_engine, settled) == 0
                )

            wait_until(quiet, 90, "escalations delivered", workers.logs)
        posts = dict(server.posts)
        expected = embedded_rows(tmp_path, config_dir)
    assert server.requests[slow] >= 3  # killed, redelivered, embedded
    got = stored_rows(pg_engine)
    assert got == expected
    assert len(got) == len(set(got))
    dupes = (
        "SELECT count(*) FROM (SELECT source, external_id FROM mention "
        "GROUP BY 1, 2 HAVING count(*) > 1) d"
    )
    assert count(pg_engine, dupes) == 0
    # Every notification reached the webhook exactly once.
    sent = count(pg_engine, "SELECT count(*) FROM notification WHERE status = 'sent'")
    assert sent > 0
    assert len(posts) == sent
    assert set(posts.values()) == {1}, posts


def test_workers_reconnect_after_redis_restarts(
    tmp_path: Path, pg_url: str, pg_engine: Engine, private_redis: PrivateRedis, workers: Workers
) -> None:
    bodies = make_bodies(4, seed=5)
    paths = list(bodies)
    with FeedServer(bodies) as server:
        config_dir = write_config(tmp_path / "config", server.base_url, paths[:2])
        workers.start(worker_env(config_dir, pg_url, private_redis.url), "phoenix")
        with dispatcher(config_dir, pg_url, private_redis.url) as (_, tick):
            assert len(tick()) == 2
            wait_until(lambda: polled(pg_engine) == 2, 90, "2 polls", workers.logs)
            private_redis.kill()
            private_redis.start()
            # A source added to the config while running: due at once, no restart.
            write_config(config_dir, server.base_url, paths)
            assert len(tick()) == 2
            wait_until(lambda: polled(pg_engine) == 4, 120, "2 more polls", workers.logs)
    assert all(server.requests[p] == 1 for p in paths)
    assert count(pg_engine, "SELECT count(*) FROM mention") > 0


def test_racing_ticks_and_workers_poll_each_source_once(
    tmp_path: Path, pg_url: str, pg_engine: Engine, broker_url: str, workers: Workers
) -> None:
    bodies = make_bodies(12, per_feed=10, seed=9)
    with FeedServer(bodies, delays={p: 0.2 for p in bodies}) as server:
        config_dir = write_config(tmp_path / "config", server.base_url, list(bodies))
        env = worker_env(config_dir, pg_url, broker_url)
        workers.start(env, "alpha", concurrency=2)
        workers.start(env, "beta", concurrency=2)
        with dispatcher(config_dir, pg_url, broker_url) as (_, tick):
            app = create_app(Settings(broker_url=broker_url), main="earful-race")  # type: ignore[call-arg]
            try:
                for _ in range(3):  # ticks run by the workers, as from two beats
                    app.send_task("earful.tick")
                results: list[int] = []
                threads = [
                    threading.Thread(target=lambda: results.append(len(tick()))) for _ in range(3)
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                wait_until(lambda: polled(pg_engine) == 12, 120, "12 polls", workers.logs)
                for _ in range(2):
                    app.send_task("earful.tick")
                assert tick() == []
            finally:
                app.close()
    assert sum(results) <= 12
    assert sorted(server.requests.values()) == [1] * 12, dict(server.requests)


def test_beat_drives_the_ticks(
    tmp_path: Path, pg_url: str, pg_engine: Engine, broker_url: str, workers: Workers
) -> None:
    bodies = make_bodies(2, seed=13)
    with FeedServer(bodies) as server:
        config_dir = write_config(tmp_path / "config", server.base_url, list(bodies))
        env = worker_env(config_dir, pg_url, broker_url)
        workers.start(env, "ticked")
        workers.start_beat(env)
        wait_until(lambda: polled(pg_engine) == 2, 90, "polls sent by beat", workers.logs)
    assert sorted(server.requests.values()) == [1, 1]
    assert "Sending due task tick (earful.tick)" in workers.logs()
