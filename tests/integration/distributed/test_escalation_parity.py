"""Two Celery workers (concurrency 2 each) on PostgreSQL escalate and notify exactly what the
embedded runner does, over feeds whose stories repeat across sources (same links, reposts).

The escalations are compared by the story they belong to (the final incident of their post,
the same in both stores once both hold the same rows), not by ids or by which post happened
to represent them: (story, level, status) and (story, level, recipient, round) must be equal,
no story may have two active escalations and no notification may reach the webhook twice.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from earful.bench.workload import BRANDS, generate_posts
from earful.clock import SystemClock
from earful.config.loader import load_config
from earful.config.models import AppConfig
from earful.risk.evaluation import evaluate
from earful.run import distributed
from earful.run.runner import run_once
from earful.settings import Settings
from earful.store.db import init_db, make_engine
from earful.store.escalations import Escalation, Notification
from earful.store.models import Mention
from tests.integration.distributed.conftest import FeedServer, Workers, wait_until, worker_env
from tests.integration.distributed.test_celery_workers import count, dispatcher, polled

pytestmark = pytest.mark.integration

N_SOURCES = 12
VIDEO = "https://www.youtube.com/watch?v=5YGc4zOqozo"
# Two stories told again and again across the sources: the same link, reposts, new words.
GUITAR = [
    ("United Airlines broke my guitar", f"United Airlines broke my Taylor guitar {VIDEO}", VIDEO),
    (
        "RT: United broke my guitar",
        "RT @sonsofmaxwell: United Airlines baggage handlers broke my guitar and refuse to pay "
        "https://youtu.be/5YGc4zOqozo",
        None,
    ),
    (
        "Terrible",
        f"Watch what United Airlines did to this guy's guitar, awful and broken {VIDEO}",
        None,
    ),
]
WHEELCHAIR = "https://news.example.com/2026/delta-wheelchair-destroyed"
DELTA = [
    ("Delta destroyed a wheelchair", "Delta destroyed my wheelchair on the flight", WHEELCHAIR),
    (
        "RT: Delta wheelchair",
        f"RT @rollingrights: Delta destroyed my wheelchair and nobody cares {WHEELCHAIR}",
        None,
    ),
]


def story_feeds(now: datetime) -> dict[str, bytes]:
    """``N_SOURCES`` RSS bodies: each repeats the guitar story, every other one the Delta
    story, among ordinary posts; published in the past hour, so they may escalate."""
    ordinary = generate_posts(N_SOURCES * 8, seed=31)
    bodies: dict[str, bytes] = {}
    for s in range(N_SOURCES):
        items: list[tuple[str, str, str, str]] = []
        for i, (title, body, link) in enumerate(GUITAR):
            items.append((f"s{s}-guitar{i}", title, body, link or f"https://blog{s}.test/g{i}"))
        if s % 2 == 0:
            for i, (title, body, link) in enumerate(DELTA):
                items.append((f"s{s}-delta{i}", title, body, link or f"https://blog{s}.test/d{i}"))
        for i, post in enumerate(ordinary[s * 8 : (s + 1) * 8]):
            items.append((f"s{s}-o{i}", post[:80], post, f"https://blog{s}.test/o{i}"))
        start = now - timedelta(minutes=50) + timedelta(minutes=s)
        bodies[f"/news{s}.xml"] = rss(items, start=start)
    return bodies


def rss(items: list[tuple[str, str, str, str]], *, start: datetime) -> bytes:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<rss version='2.0'><channel><title>News</title><link>https://news.test/</link>",
        "<description>stories</description>",
    ]
    for i, (guid, title, body, link) in enumerate(items):
        when = format_datetime(start + timedelta(minutes=2 * i))
        out.append(
            f"<item><guid isPermaLink='false'>{escape(guid)}</guid><title>{escape(title)}</title>"
            f"<link>{escape(link)}</link><description>{escape(body)}</description>"
            f"<pubDate>{when}</pubDate></item>"
        )
    out.append("</channel></rss>")
    return "\n".join(out).encode()


def write_story_config(directory: Path, base: str, paths: list[str]) -> Path:
    """The bench brands, one rss source per path, every negative incident escalated at level
    1 to a webhook at ``base/hook``; a spreading story reaches level 2."""
    directory.mkdir(parents=True, exist_ok=True)
    brands = "brands:\n" + "".join(f"  - name: {b}\n    queries: ['\"{b}\"']\n" for b in BRANDS)
    sources = "sources:\n" + "".join(
        f"  - name: {p.strip('/').removesuffix('.xml')}\n    kind: rss\n"
        f"    url: {base}{p}\n    interval: 1h\n"
        for p in paths
    )
    (directory / "brands.yaml").write_text(brands)
    (directory / "sources.yaml").write_text(sources)
    (directory / "risk.yaml").write_text("risk:\n  levels: {1: 1, 2: 40, 3: 99}\n")
    (directory / "routes.yaml").write_text(
        "escalation:\n  max_per_hour: 10000\n"
        f"  channels:\n    hook: {{kind: webhook, url: '{base}/hook'}}\n"
        "  routes:\n    - {brand: '*', level: 1, channel: hook, to: ops}\n"
    )
    return directory


Outcome = tuple[Counter[tuple[str, int, str]], Counter[tuple[str, int, str, int]], int]


def outcome(engine: Engine, config: AppConfig) -> Outcome:
    """(story, level, status) per escalation, (story, level, recipient, round) per
    notification, and the most active escalations any story has."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        ids = [int(i) for i in session.exec(select(Mention.id)).all() if i is not None]
        story: dict[tuple[str, str], str] = {}
        for ev in evaluate(session, ids, now=now, config=config):
            source, _, ext = ev.mention.key.partition(":")
            story[(source, ext)] = ev.incident.key
        escalations = session.exec(select(Escalation).order_by(col(Escalation.id))).all()
        of: dict[int, str] = {}
        for esc in escalations:
            assert esc.id is not None
            of[esc.id] = story.get((esc.source or "", esc.external_id or ""), esc.incident_key)
        escs = Counter((of[e.id or 0], e.level, e.status) for e in escalations)
        active = Counter(of[e.id or 0] for e in escalations if e.status in ("open", "acknowledged"))
        notes = Counter(
            (of[n.escalation_id], n.level, n.recipient, n.round)
            for n in session.exec(select(Notification)).all()
        )
        session.rollback()  # evaluate() only reads; nothing of it is kept
    return escs, notes, max(active.values(), default=0)


def test_two_workers_escalate_and_notify_what_the_embedded_runner_does(
    tmp_path: Path, pg_url: str, pg_engine: Engine, broker_url: str, workers: Workers
) -> None:
    bodies = story_feeds(datetime.now(UTC))
    with FeedServer(bodies) as server:
        config_dir = write_story_config(tmp_path / "config", server.base_url, list(bodies))
        config = load_config(config_dir)
        env = worker_env(config_dir, pg_url, broker_url)
        workers.start(env, "alpha", concurrency=2)
        workers.start(env, "beta", concurrency=2)
        with dispatcher(config_dir, pg_url, broker_url) as (_, tick):
            assert len(tick()) == N_SOURCES
            wait_until(lambda: polled(pg_engine) == N_SOURCES, 120, "polls", workers.logs)
            unsent = "SELECT count(*) FROM notification WHERE status NOT IN ('sent', 'dead')"

            def quiet() -> bool:
                return (
                    not any(distributed.queue_depths(broker_url).values())
                    and count(pg_engine, "SELECT count(*) FROM notification") > 0
                    and count(pg_engine, unsent) == 0
                )

            wait_until(quiet, 120, "escalations delivered", workers.logs)
        posts = dict(server.posts)
        server.posts.clear()
        got = outcome(pg_engine, config)

        embedded = make_engine(f"sqlite:///{tmp_path / 'embedded.db'}")
        init_db(embedded)
        try:
            # One poll at a time: the reference order the workers must not be able to change.
            settings = Settings(config=config_dir, host_min_interval_s=0, poll_threads=1)  # type: ignore[call-arg]
            assert run_once(embedded, config, settings, SystemClock()).failed == 0
            expected = outcome(embedded, config)
        finally:
            embedded.dispose()
        embedded_posts = dict(server.posts)

    escs, notes, most_active = got
    raised = sorted(k[0] for k in escs if k[1] == 2)
    assert raised == ["incident:rss:s0-delta0", "incident:rss:s0-guitar0"], escs
    # Each story repeated on many sources: one escalation, raised as it spread.
    assert sum(n for k, n in escs.items() if "guitar" in k[0]) == 1, escs
    assert most_active == 1 and expected[2] == 1
    assert escs == expected[0]
    assert notes == expected[1]
    assert set(posts.values()) == {1}, posts  # nothing delivered twice
    assert len(posts) == sum(notes.values())
    assert len(embedded_posts) == sum(expected[1].values())
    with pg_engine.connect() as conn:
        keys = conn.execute(text("SELECT count(DISTINCT idempotency_key) FROM notification"))
        assert keys.scalar_one() == sum(notes.values())
