"""`earful run --once`, twice, as a subprocess against a real HTTP server on localhost.

The server serves feeds with ETag / If-None-Match and counts the bodies it sends: the second
run must be answered 304 for every good feed (zero bodies). Failing sources (500, 404, 410,
garbage, a hostile item) are recorded in source health while the good sources are stored.
Runs on SQLite and on PostgreSQL (127.0.0.1).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from earful.demo.main import FeedServer, Route
from earful.store.db import make_engine
from tests.conftest import run_earful

pytestmark = pytest.mark.e2e

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Rocket news</title><link>https://rockets.example/</link>
<item><title>Acme Rockets launch delayed again</title><guid>n-1</guid>
<link>https://rockets.example/a/1?utm_source=rss</link>
<pubDate>Mon, 03 Mar 2025 10:00:00 GMT</pubDate>
<description>Acme Rockets postponed the launch for the third time. Customers are furious and
angry about the terrible communication.</description></item>
<item><title>Acme Rockets crew wins award</title><guid>n-2</guid>
<link>https://rockets.example/a/2</link><pubDate>Sun, 02 Mar 2025 10:00:00 GMT</pubDate>
<description>A wonderful, amazing achievement for the Acme Rockets team.</description></item>
<item><title>Weather today</title><guid>n-3</guid><link>https://rockets.example/a/3</link>
<description>Sunny with light wind.</description></item>
<item><title>Globex Corp opens a new plant</title><guid>n-4</guid>
<link>https://rockets.example/a/4</link><description>Globex Corp hires 200 people.</description>
</item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Forum</title><id>urn:forum</id>
<updated>2025-03-03T00:00:00Z</updated>
<entry><title>My Acme Rockets order never arrived</title><id>urn:forum:1</id>
<link href="https://forum.example/t/1"/><updated>2025-03-03T09:00:00Z</updated>
<content type="text">Worst service ever from Acme Rockets. Still no refund.</content></entry>
<entry><title>Re: Acme Rockets launch delayed</title><id>urn:forum:2</id>
<link href="https://ROCKETS.example/a/1/#comments"/><updated>2025-03-03T11:00:00Z</updated>
<content type="text">Saw the Acme Rockets news. Sad.</content></entry>
</feed>"""

JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Reviews",
        "items": [
            {
                "id": "r-1",
                "url": "https://reviews.example/r/1",
                "content_text": "Acme Rockets support was great, thank you!",
                "date_published": "2025-03-01T08:00:00Z",
            }
        ],
    }
)

HOSTILE_BODY = "Acme Rockets " + ("spam " * 210_000)
HOSTILE = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Hostile</title><link>https://evil.example/</link>
<item><title>&lt;script&gt;alert(1)&lt;/script&gt; Acme Rockets [bold red]pwned[/]</title>
<guid>h-1</guid><link>https://evil.example/h/1</link>
<description><![CDATA[<script>alert("x")</script><img src=x onerror=alert(2)>{HOSTILE_BODY}]]>
</description></item>
<item><title>Acme Rockets is fine</title><guid>h-2</guid><link>https://evil.example/h/2</link>
<description>Acme Rockets, fine.</description></item>
</channel></rss>"""

BRANDS = """brands:
  - name: Acme Rockets
    queries: ['"acme rockets" OR @acmerockets']
    aliases: [Acme]
    competitors: [Globex]
  - name: Globex
    queries: ['"globex corp"']
    track: false
"""

GOOD = {
    "news": "/news.rss",
    "forum": "/forum.atom",
    "reviews": "/reviews.json",
    "hostile": "/hostile.rss",
}
BAD = {"broken": "/broken", "missing": "/missing", "gone": "/gone", "garbage": "/garbage"}


def routes() -> dict[str, Route]:
    return {
        "/news.rss": Route(RSS.encode(), "application/rss+xml"),
        "/forum.atom": Route(ATOM.encode(), "application/atom+xml"),
        "/reviews.json": Route(JSON_FEED.encode(), "application/feed+json"),
        "/hostile.rss": Route(HOSTILE.encode(), "application/rss+xml"),
        "/broken": Route(status=500),
        "/gone": Route(status=410),
        "/garbage": Route(b"\x00\xff<<<this is not a feed>>>" * 100, "application/rss+xml"),
        # /missing is not routed: 404
    }


def write_config(directory: Path, server: FeedServer) -> None:
    directory.mkdir()
    (directory / "brands.yaml").write_text(BRANDS)
    lines = ["sources:"]
    for name, path in {**GOOD, **BAD}.items():
        lines += [
            f"  - name: {name}",
            "    kind: rss",
            f"    url: {server.url(path)}",
            "    interval: 1s",
        ]
    (directory / "sources.yaml").write_text("\n".join(lines) + "\n")


def run_cli(config: Path, db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "EARFUL_HOST_MIN_INTERVAL_S": "0",
        "EARFUL_MAX_RETRIES": "0",
        "COLUMNS": "200",
    }
    return run_earful("--config", str(config), "--db", db_url, *args, env=env, timeout=240)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer(routes()) as srv:
        yield srv


def scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def run_twice_and_check(tmp_path: Path, server: FeedServer, db_url: str) -> dict[str, int]:
    config = tmp_path / "config"
    write_config(config, server)

    first = run_cli(config, db_url, "run", "--once")
    assert first.returncode == 0, first.stderr
    assert "news" in first.stdout and "failed" in first.stdout
    engine = make_engine(db_url)
    try:
        mentions = scalar(engine, "select count(*) from mention")
        # news: 2 Acme + 1 Globex; forum 2; reviews 1; hostile 2 (weather item rejected)
        assert mentions == 8
        assert (
            scalar(engine, "select count(distinct source || ':' || external_id) from mention") == 8
        )
        # every stored mention is brand-matched; scored: some negative, some positive
        assert (
            scalar(
                engine,
                "select count(*) from mention m where not exists "
                "(select 1 from mention_brand b where b.mention_id = m.id)",
            )
            == 0
        )
        assert scalar(engine, "select count(*) from mention where sentiment_label='negative'") >= 2
        assert scalar(engine, "select count(*) from mention where sentiment_label='positive'") >= 2
        assert (
            scalar(
                engine, "select count(*) from mention_brand where brand='Globex' and is_competitor"
            )
            == 1
        )
        # the news article and the forum reply share one canonical URL: one story, two mentions
        assert (
            scalar(
                engine,
                "select max(n) from (select count(*) as n from mention "
                "where story_id is not null group by story_id) t",
            )
            == 2
        )
        # the hostile 1 MB item is stored as text (the feed parser caps a text at 100k chars)
        assert scalar(engine, "select max(length(text)) from mention") >= 100_000

        bodies_first = {name: server.bodies[path] for name, path in GOOD.items()}
        assert all(n == 1 for n in bodies_first.values()), bodies_first

        time.sleep(1.2)  # interval 1s: every source is due again
        second = run_cli(config, db_url, "run", "--once")
        assert second.returncode == 0, second.stderr
        assert scalar(engine, "select count(*) from mention") == mentions
        for name, path in GOOD.items():
            assert server.requests[path] == 2, (name, server.requests)
            assert server.bodies[path] == 1, (name, "second poll transferred a body")

        with engine.connect() as conn:
            health = {
                row.name: row
                for row in conn.execute(
                    text(
                        "select name, enabled, consecutive_failures, last_error_reason, "
                        "last_ok_at, disabled_reason from source_state"
                    )
                )
            }
        for name in GOOD:
            assert health[name].consecutive_failures == 0 and health[name].last_ok_at
        assert health["broken"].last_error_reason == "http_500"
        assert health["broken"].consecutive_failures == 2
        assert health["missing"].last_error_reason == "http_404"
        assert health["garbage"].consecutive_failures == 2
        assert not health["gone"].enabled and "410" in health["gone"].disabled_reason
        # a disabled source is not polled again
        assert server.requests["/gone"] == 1
    finally:
        engine.dispose()

    listed = run_cli(config, db_url, "sources", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in map(json.loads, listed.stdout.splitlines())}
    assert rows["gone"]["enabled"] is False and rows["news"]["last_ok"]

    found = run_cli(config, db_url, "mentions", "--search", "pwned", "--json")
    assert found.returncode == 0, found.stderr
    [hostile] = [json.loads(line) for line in found.stdout.splitlines()]
    assert "[bold red]pwned[/]" in hostile["title"]
    table = run_cli(config, db_url, "mentions", "--search", "pwned")
    assert "[bold red]pwned[/]" in table.stdout  # printed literally, never read as markup
    return {"mentions": mentions, "bodies_second_run": 0}


def test_run_once_twice_sqlite(tmp_path: Path, server: FeedServer) -> None:
    run_twice_and_check(tmp_path, server, f"sqlite:///{tmp_path / 'earful.db'}")


@pytest.mark.integration
def test_run_once_twice_postgres(tmp_path: Path, server: FeedServer, pg_url: str) -> None:
    run_twice_and_check(tmp_path, server, pg_url)
