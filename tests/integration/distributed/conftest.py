"""Real services for the distributed tests: a feed server on localhost, Celery worker
subprocesses, a dedicated Redis database (or a private redis-server), PostgreSQL.

Every subprocess started here is killed (its whole process group) in a ``finally``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from html import escape
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from earful.bench.workload import BRANDS, feed_bodies, generate_posts, rss_feed
from earful.demo.local_server import LocalServer
from tests.conftest import ROOT, need, port_open

REDIS_TEST_URL = os.environ.get("EARFUL_TEST_CELERY_REDIS", "redis://127.0.0.1:6379/14")
QUEUES = "poll,process,engagement,notify,digest"


class FeedServer(LocalServer):
    """Serves feed bodies by path; counts requests per path; ``delays`` make a path slow."""

    def __init__(self, bodies: dict[str, bytes], delays: dict[str, float] | None = None) -> None:
        self.bodies = bodies
        self.delays = delays or {}
        self.requests: Counter[str] = Counter()
        self.posts: Counter[str] = Counter()
        self.started: dict[str, threading.Event] = {p: threading.Event() for p in bodies}
        self._lock = threading.Lock()
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                with srv._lock:
                    srv.requests[path] += 1
                if path in srv.started:
                    srv.started[path].set()
                body = srv.bodies.get(path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                time.sleep(srv.delays.get(path, 0.0))
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the worker was killed mid-request

            def do_POST(self) -> None:
                # The escalation webhook: count deliveries per idempotency key.
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                with srv._lock:
                    srv.posts[self.headers.get("X-Earful-Idempotency-Key", "")] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._serve(Handler)


def make_bodies(
    n_feeds: int, per_feed: int = 20, seed: int = 7, *, fresh: bool = False
) -> dict[str, bytes]:
    """Generated feeds; ``fresh``: published in the last hour (recent enough to escalate)."""
    if not fresh:
        bodies = list(feed_bodies(n_feeds * per_feed, per_feed=per_feed, seed=seed))
    else:
        posts = generate_posts(n_feeds * per_feed, seed=seed)
        start = datetime.now(UTC) - timedelta(hours=1)
        bodies = [
            rss_feed(
                [(f"g{i}", p[:80], f"<p>{escape(p)}</p>") for i, p in enumerate(chunk, at)],
                start=start,
            )
            for at in range(0, len(posts), per_feed)
            for chunk in [posts[at : at + per_feed]]
        ]
    return {f"/feed{i}.xml": body for i, body in enumerate(bodies)}


def write_config(
    directory: Path, base: str, paths: list[str], interval: str = "1h", *, hook: bool = False
) -> Path:
    """A config dir: the bench brands, one rss source per path (named after the path);
    ``hook``: escalate nearly every negative mention to a webhook at ``base/hook``."""
    directory.mkdir(parents=True, exist_ok=True)
    brands = "brands:\n" + "".join(f"  - name: {b}\n    queries: ['\"{b}\"']\n" for b in BRANDS)
    sources = "sources:\n" + "".join(
        f"  - name: {p.strip('/').removesuffix('.xml')}\n    kind: rss\n"
        f"    url: {base}{p}\n    interval: {interval}\n"
        for p in paths
    )
    (directory / "brands.yaml").write_text(brands)
    (directory / "sources.yaml").write_text(sources)
    if hook:
        (directory / "risk.yaml").write_text("risk:\n  levels: {1: 1, 2: 98, 3: 99}\n")
        (directory / "routes.yaml").write_text(
            "escalation:\n  max_per_hour: 10000\n"
            f"  channels:\n    hook: {{kind: webhook, url: '{base}/hook'}}\n"
            "  routes:\n    - {brand: '*', level: 1, channel: hook, to: ops}\n"
        )
    return directory


def worker_env(config_dir: Path, db_url: str, broker_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "EARFUL_CONFIG": str(config_dir),
            "EARFUL_DB_URL": db_url,
            "EARFUL_BROKER_URL": broker_url,
            "EARFUL_HOST_MIN_INTERVAL_S": "0",
            "EARFUL_MAX_RETRIES": "0",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


class Workers:
    """Starts ``celery -A workers.app worker`` subprocesses; kills them all at the end."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(
        self, env: dict[str, str], name: str, concurrency: int = 1, queues: str = QUEUES
    ) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "workers.app", "worker",
                f"--queues={queues}", f"--concurrency={concurrency}", "--pool=prefork",
                f"--hostname={name}@%h", "--loglevel=INFO",
                "--without-gossip", "--without-mingle",
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        self.procs.append(proc)
        return proc

    def start_beat(self, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / "beat.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "workers.app", "beat", "--loglevel=INFO",
                f"--schedule={self.log_dir / 'beat-schedule'}",
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc, signal.SIGKILL)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(self.log_dir.glob("*.log"))
        )


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    logs = tmp_path / "logs"
    logs.mkdir()
    group = Workers(logs)
    try:
        yield group
    finally:
        group.stop_all()


@pytest.fixture
def broker_url(redis_url: str) -> Iterator[str]:
    """A dedicated, flushed Redis database of the shared Redis."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL)
    client.flushdb()
    try:
        yield REDIS_TEST_URL
    finally:
        client.flushdb()
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivateRedis:
    """A redis-server of our own (never the shared one) that a test may kill and restart."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_until(lambda: port_open("127.0.0.1", self.port), 10, "redis-server start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    need(shutil.which("redis-server") is not None, "redis-server is not installed")
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.kill()


def wait_until(
    cond: Callable[[], bool], timeout: float, what: str, info: Callable[[], str] = str
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{info()}")
