"""``earful run`` as a subprocess beside a source that trickles one byte every 2 s (real HTTP
servers on 127.0.0.1): the healthy source keeps being polled, the outbox delivers to a file
channel and an SLA raise happens while the slow poll hangs; SIGTERM ends the process.
``earful sources test`` of the trickling source ends with exit 1 (the total deadline).

Outcomes are asserted, never timings: a subprocess timeout is the failure condition. The
seconds measured are printed (``-s``) for the record."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from earful.demo.local_server import LocalServer
from tests.conftest import ROOT, run_earful

pytestmark = pytest.mark.integration


def fresh_feed() -> bytes:
    """Negative Acme posts published just now (recent enough to escalate)."""
    now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    items = "".join(
        f"<item><title>Acme broke again {i}</title><guid>acme-{i}</guid>"
        f"<link>http://news.example/{i}</link><pubDate>{now}</pubDate>"
        f"<description>Acme is terrible, awful and dangerous; Acme ruined my week {i}."
        "</description></item>"
        for i in range(3)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>news</title>'
        f"<link>http://news.example/</link>{items}</channel></rss>"
    ).encode()


class Servers(LocalServer):
    """``/good.xml``: a healthy feed; ``/slow.xml``: 200, then one byte every 2 s."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.slow_open = 0  # slow responses still being trickled
        self.body = fresh_feed()
        self._lock = threading.Lock()
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with srv._lock:
                    srv.requests[self.path] += 1
                if self.path == "/slow.xml":
                    self._trickle()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(srv.body)))
                self.end_headers()
                self.wfile.write(srv.body)

            def _trickle(self) -> None:
                with srv._lock:
                    srv.slow_open += 1
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    for _ in range(100_000):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(2)
                except OSError:
                    pass  # the client gave up
                finally:
                    with srv._lock:
                        srv.slow_open -= 1

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._serve(Handler)


@pytest.fixture
def servers() -> Iterator[Servers]:
    with Servers() as s:
        yield s


def write_config(directory: Path, base: str, alerts: Path) -> Path:
    directory.mkdir()
    (directory / "brands.yaml").write_text("brands:\n  - name: Acme\n    queries: ['\"acme\"']\n")
    (directory / "sources.yaml").write_text(
        "sources:\n"
        f"  - {{name: slow, kind: rss, url: '{base}/slow.xml', interval: 2s}}\n"
        f"  - {{name: good, kind: rss, url: '{base}/good.xml', interval: 2s}}\n"
    )
    # Nearly every negative mention escalates; level 1's SLA passes within seconds.
    (directory / "risk.yaml").write_text("risk:\n  levels: {1: 1, 2: 98, 3: 99}\n")
    (directory / "routes.yaml").write_text(
        "escalation:\n  max_per_hour: 10000\n"
        "  levels:\n    1: {name: lead, sla: 3s}\n    2: {name: manager, sla: 1h}\n"
        f"  channels:\n    log: {{kind: file, path: '{alerts}'}}\n"
        "  routes:\n"
        "    - {brand: '*', level: 1, channel: log, to: lead}\n"
        "    - {brand: '*', level: 2, channel: log, to: manager}\n"
    )
    return directory


def env_for(config_dir: Path, db: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "EARFUL_CONFIG": str(config_dir),
            "EARFUL_DB_URL": f"sqlite:///{db}",
            "EARFUL_HOST_MIN_INTERVAL_S": "0",
            "EARFUL_MAX_RETRIES": "0",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


def scalar(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # tables not created yet
        return 0
    finally:
        conn.close()


def wait_until(
    cond: Callable[[], bool], timeout: float, what: str, info: Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n{info()}")


def test_a_trickling_source_stalls_nothing_and_sigterm_ends_the_run(
    tmp_path: Path, servers: Servers
) -> None:
    alerts = tmp_path / "alerts.jsonl"
    db = tmp_path / "earful.db"
    config_dir = write_config(tmp_path / "config", servers.base_url, alerts)
    log_path = tmp_path / "run.log"
    # A deadline far beyond the test: the slow poll hangs for as long as the test looks.
    env = env_for(config_dir, db, EARFUL_HTTP_DEADLINE_S="600")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from earful.cli import main; main()", "run"],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def info() -> str:
        return (
            f"requests {dict(servers.requests)}, slow open {servers.slow_open}\n"
            + log_path.read_text(errors="replace")[-4000:]
        )

    sent = "SELECT count(*) FROM notification WHERE status = 'sent'"
    raised = "SELECT count(*) FROM escalation_event WHERE kind = 'sla_raised'"
    try:
        wait_until(lambda: servers.slow_open == 1, 60, "the slow poll to start", info)
        hang_started = servers.requests["/slow.xml"]

        def all_happened() -> bool:
            return (
                servers.requests["/good.xml"] >= 4
                and scalar(db, raised) >= 1
                and scalar(db, sent) >= 2  # level 1, then the raise to level 2
                and alerts.exists()
            )

        wait_until(all_happened, 120, "polls, deliveries and an SLA raise", info)
        # ... all of it while the first slow poll was still hanging
        assert servers.slow_open == 1 and servers.requests["/slow.xml"] == hang_started == 1
        good_polls = servers.requests["/good.xml"]
        lines = [json.loads(line) for line in alerts.read_text().splitlines() if line]
        assert len(lines) >= 2

        signalled = time.monotonic()
        os.killpg(proc.pid, signal.SIGTERM)
        code = proc.wait(timeout=30)
        took = time.monotonic() - signalled
        print(f"\nhealthy polls during the hang: {good_polls}; SIGTERM to exit: {took:.1f}s")
        assert code == 0, info()
        assert "stopped" in log_path.read_text(errors="replace")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_sources_test_of_a_trickling_source_ends_with_exit_1(
    tmp_path: Path, servers: Servers
) -> None:
    config_dir = write_config(tmp_path / "config", servers.base_url, tmp_path / "alerts.jsonl")
    started = time.monotonic()
    # The default 60 s total deadline ends it; the subprocess timeout is the failure.
    result = run_earful(
        "sources", "test", "slow", env=env_for(config_dir, tmp_path / "e.db"), timeout=90
    )
    print(f"\nsources test of the trickling source: {time.monotonic() - started:.1f}s")
    assert result.returncode == 1, result.stderr
    assert "deadline" in result.stderr and "Traceback" not in result.stderr
