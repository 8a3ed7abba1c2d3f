"""Throughput of one workload run embedded vs on 1 and 2 Celery worker processes.

The workload: N generated RSS feeds (``workload.feed_bodies``) served on 127.0.0.1
(``figures.serve_feeds``), one source each, stored in a scratch PostgreSQL database each run.
The broker is a private ``redis-server`` on a free port (never the shared one). Figures are
mentions stored per second of wall time, from the first dispatch until every source is
recorded and the queues (risk follow-ups included) are drained;
worker start-up is excluded (workers answer a ping before the clock starts), the per-process
warm-up (matcher compile, analyzer load) is included, as it is in the embedded run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import text

from earful.bench.workload import BRANDS, feed_bodies

KEYS = ("celery_embedded_per_s", "celery_1_worker_per_s", "celery_2_workers_per_s")
PER_FEED = 50
QUEUES = "poll,process,engagement,notify,digest"
ROOT = Path(__file__).resolve().parents[3]
NO_AOF = ("--appendonly", "no")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)  # rare polls: the measuring process must not steal the workers' CPU
    raise TimeoutError(f"timed out waiting for {what}")


@contextmanager
def private_redis() -> Iterator[str]:
    """A redis-server of our own on a free port, without persistence; killed at the end."""
    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", *NO_AOF],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:

        def up() -> bool:
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
            return False

        _wait(up, 15, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.kill()
        proc.wait(timeout=10)


def write_config(directory: Path, base: str, paths: list[str]) -> None:
    brands = "brands:\n" + "".join(f"  - name: {b}\n    queries: ['\"{b}\"']\n" for b in BRANDS)
    sources = "sources:\n" + "".join(
        f"  - name: s{i}\n    kind: rss\n    url: {base}{p}\n    interval: 1h\n"
        for i, p in enumerate(paths)
    )
    (directory / "brands.yaml").write_text(brands)
    (directory / "sources.yaml").write_text(sources)


def _count(url: str, sql: str) -> int:
    from earful.store.db import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def run_embedded(db_url: str, config_dir: Path) -> tuple[int, float]:
    """``earful run --once`` in this process: (mentions stored, seconds)."""
    from earful.clock import SystemClock
    from earful.config.loader import load_config
    from earful.run.runner import run_once
    from earful.settings import Settings
    from earful.store.db import init_db, make_engine

    engine = make_engine(db_url)
    try:
        init_db(engine)
        settings = Settings(config=config_dir, db_url=db_url, host_min_interval_s=0)  # type: ignore[call-arg]
        started = time.perf_counter()
        run_once(engine, load_config(config_dir), settings, SystemClock())
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    return _count(db_url, "SELECT count(*) FROM mention"), seconds


def start_worker(env: dict[str, str], name: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "workers.app", "worker"),
                *(f"--queues={QUEUES}", "--concurrency=1", "--pool=prefork"),
                *(f"--hostname={name}@%h", "--loglevel=WARNING"),
                *("--without-gossip", "--without-mingle"),
            ],
            cwd=ROOT if (ROOT / "workers").is_dir() else None,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=20)


def run_celery(
    db_url: str, config_dir: Path, broker_url: str, n_workers: int, n_sources: int, logs: Path
) -> tuple[int, float]:
    """Tick once, let ``n_workers`` worker processes poll every source: (stored, seconds)."""
    from earful.run import distributed
    from earful.run.celery_config import create_app
    from earful.settings import Settings
    from earful.store.db import init_db, make_engine

    engine = make_engine(db_url)
    init_db(engine)
    engine.dispose()
    env = dict(os.environ)
    env.update(
        EARFUL_CONFIG=str(config_dir),
        EARFUL_DB_URL=db_url,
        EARFUL_BROKER_URL=broker_url,
        EARFUL_HOST_MIN_INTERVAL_S="0",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    settings = Settings(config=config_dir, db_url=db_url, broker_url=broker_url)  # type: ignore[call-arg]
    app = create_app(settings, main="earful-bench")
    rt = distributed.create_runtime(settings)
    procs = [start_worker(env, f"bench{i}", logs / f"w{i}.log") for i in range(n_workers)]
    try:

        def ready() -> bool:
            replies = app.control.inspect(timeout=0.5).ping() or {}
            return len(replies) >= n_workers

        _wait(ready, 120, "workers")

        def send(claim: distributed.Claim) -> None:
            app.send_task("earful.poll_source", args=(claim.source, claim.token))

        done = text("SELECT count(*) FROM source_state WHERE last_polled_at IS NOT NULL")

        def all_polled() -> bool:
            with rt.engine.connect() as conn:
                return int(conn.execute(done).scalar_one()) >= n_sources

        started = time.perf_counter()
        distributed.tick(rt, send)
        _wait(all_polled, 1800, "all polls")
        # ... and the follow-ups (risk, delivery) drained, which the embedded run does inline.
        _wait(lambda: not any(distributed.queue_depths(broker_url).values()), 600, "queues")
        seconds = time.perf_counter() - started
    finally:
        for proc in procs:
            stop_worker(proc)
        rt.close()
        app.close()
    return _count(db_url, "SELECT count(*) FROM mention"), seconds


def celery_throughput(quick: bool) -> dict[str, Any]:
    """mentions/s of the same workload: embedded ``run_once`` vs 1 and 2 Celery workers."""
    from earful.bench.figures import serve_feeds
    from earful.bench.services import scratch_postgres

    empty: dict[str, Any] = dict.fromkeys(KEYS)
    if shutil.which("redis-server") is None:
        return {**empty, "note": "redis-server is not installed"}
    n_feeds = 30 if quick else 200
    bodies = {
        f"/c{i}.xml": body
        for i, body in enumerate(feed_bodies(n_feeds * PER_FEED, per_feed=PER_FEED, seed=31))
    }
    out = dict(empty)
    stored: dict[str, int] = {}
    try:
        with (
            serve_feeds(bodies) as base,
            private_redis() as broker,
            tempfile.TemporaryDirectory() as tmp,
        ):
            config_dir = Path(tmp)
            write_config(config_dir, base, list(bodies))
            with scratch_postgres() as url:
                count, seconds = run_embedded(url, config_dir)
                out["celery_embedded_per_s"] = round(count / seconds, 1)
                stored["embedded"] = count
            for n, key in ((1, "celery_1_worker_per_s"), (2, "celery_2_workers_per_s")):
                with scratch_postgres() as url:
                    count, seconds = run_celery(url, config_dir, broker, n, n_feeds, Path(tmp))
                    out[key] = round(count / seconds, 1)
                    stored[f"{n}w"] = count
    except Exception as exc:  # a bench without its services reports null, not a crash
        return {**out, "note": f"distributed bench incomplete: {type(exc).__name__}: {exc}"}
    out["note"] = (
        f"{n_feeds} feeds x {PER_FEED} posts on PostgreSQL; stored {stored}; "
        f"{os.cpu_count()} CPU(s) on this machine"
    )
    return out
