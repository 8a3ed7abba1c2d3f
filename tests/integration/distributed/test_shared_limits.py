"""Two real Celery workers share one YouTube quota and one politeness gap through the real Redis.

The YouTube API is a local HTTP server answering with the recorded YouTube bodies of
../shared/fixtures/real; it records every request (worker, endpoint, arrival time). Two sources
use one API key, so they spend one budget: what the server saw cost exactly the quota in all,
although each worker alone would have been allowed the whole of it; and no two requests to the
host arrived closer than the configured gap (a behaviour of the pair, observed at the server).
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from earful.demo.local_server import LocalServer, send_body
from earful.run import distributed
from earful.run.celery_config import create_app
from earful.settings import Settings
from earful.sources import youtube
from tests.conftest import REDIS_URL, fixture_bytes
from tests.integration.distributed.conftest import Workers, wait_until, worker_env

pytestmark = pytest.mark.integration

GAP_S = 1.0
TOLERANCE_S = 0.2  # a loaded machine may delay one send after its slot was reserved
POLL_COST = youtube.SEARCH_COST + youtube.LIST_COST  # search.list + one videos.list (25 ids)
POLLS = 4
QUOTA = POLLS * POLL_COST
COSTS = {"search": youtube.SEARCH_COST}


class YouTubeServer(LocalServer):
    """The YouTube Data API's list endpoints under /youtube/v3, from recorded bodies."""

    def __init__(self) -> None:
        bodies = {
            "search": fixture_bytes("youtube", "python-youtube_search_search_by_keywords_p1.json"),
            "videos": fixture_bytes("youtube", "python-youtube_videos_videos_info_multi.json"),
        }
        self.seen: list[tuple[float, str, str]] = []  # (arrival, user agent, endpoint)
        lock = threading.Lock()
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                arrived = time.monotonic()
                endpoint = self.path.split("?", 1)[0].rsplit("/", 1)[-1]
                with lock:
                    srv.seen.append((arrived, self.headers.get("User-Agent", ""), endpoint))
                body = bodies.get(endpoint)
                if body is None:
                    send_body(self, 404, b"{}", "application/json")
                else:
                    send_body(self, 200, body, "application/json; charset=UTF-8")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._serve(Handler)

    def units_by_worker(self) -> Counter[str]:
        spent: Counter[str] = Counter()
        for _, agent, endpoint in self.seen:
            spent[agent] += COSTS.get(endpoint, youtube.LIST_COST)
        return spent

    def smallest_gap(self) -> float:
        times = sorted(t for t, _, _ in self.seen)
        return min(b - a for a, b in itertools.pairwise(times))


def write_youtube_config(directory: Path, api: str, key: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "brands.yaml").write_text("brands:\n  - name: Acme\n    queries: ['surfing']\n")
    sources = "sources:\n" + "".join(
        f"  - name: {name}\n    kind: youtube\n    interval: 1s\n"
        f"    params: {{q: surfing, key: '{key}', api_url: '{api}', daily_quota: {QUOTA}, "
        "comment_videos: 0, followers: false}\n"
        for name in ("yt-a", "yt-b")
    )
    (directory / "sources.yaml").write_text(sources)
    return directory


def reasons(engine: Engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, last_error_reason FROM source_state"))
        return {name: reason for name, reason in rows}


@pytest.mark.timeout(240)
def test_two_workers_share_one_youtube_quota_and_one_politeness_gap(
    tmp_path: Path, pg_url: str, pg_engine: Engine, broker_url: str, workers: Workers
) -> None:
    key = f"test-{uuid.uuid4().hex}"  # a key of its own: its quota count starts at zero
    with YouTubeServer() as server:
        config_dir = write_youtube_config(tmp_path / "config", f"{server.base_url}/youtube/v3", key)
        for name in ("alpha", "beta"):
            env = worker_env(
                config_dir,
                pg_url,
                broker_url,
                EARFUL_HOST_MIN_INTERVAL_S=str(GAP_S),
                EARFUL_LIMITS_URL=REDIS_URL,
                EARFUL_USER_AGENT=f"earful-test/{name}",
            )
            workers.start(env, name)
        wait_until(
            lambda: workers.logs().count(" ready.") >= 2, 90, "two workers ready", workers.logs
        )
        settings = Settings(  # type: ignore[call-arg]
            config=config_dir, db_url=pg_url, broker_url=broker_url, limits_url=REDIS_URL
        )
        rt = distributed.create_runtime(settings)
        app = create_app(settings, main="earful-limits-test")
        try:

            def send(claim: distributed.Claim) -> None:
                app.send_task("earful.poll_source", args=(claim.source, claim.token))

            def refused_everywhere() -> bool:
                distributed.tick(rt, send)  # what beat does every few seconds
                return set(reasons(pg_engine).values()) == {"quota"}

            wait_until(refused_everywhere, 180, "both sources refused by the quota", workers.logs)
        finally:
            app.close()
            rt.close()
        spent = server.units_by_worker()
        gap = server.smallest_gap()
    by_worker = {agent.rsplit("/", 1)[-1]: units for agent, units in spent.items()}
    print(f"units spent by worker: {by_worker} (shared quota {QUOTA}); smallest gap {gap:.3f}s")
    assert sum(spent.values()) == QUOTA, by_worker  # one budget, not one per worker
    assert set(by_worker) == {"alpha", "beta"}, by_worker  # both workers polled
    assert all(units < QUOTA for units in by_worker.values())
    assert len(server.seen) == 2 * POLLS
    assert gap >= GAP_S - TOLERANCE_S, gap
