"""The individual benchmarks. Each returns a dict of figures (keys of ``run.KEYS``).

Workloads come from ``workload`` (fixed seeds) so runs are comparable; ``quick`` shrinks
them so the whole of ``earful bench --quick`` stays under two minutes.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from earful.bench.workload import (
    BRANDS,
    adversarial_texts,
    feed_bodies,
    generate_posts,
    generate_queries,
)
from earful.clock import SimulatedClock
from earful.config.models import AppConfig, BrandConfig


def bench_config() -> AppConfig:
    brands = [BrandConfig(name=b, queries=[f'"{b}"']) for b in BRANDS]
    return AppConfig(brands=brands)


def _store(engine: Any, raws: list[Any], ctx: Any, *, count_updates: bool) -> int:
    """One transaction per feed body, as the runner does."""
    from earful.pipeline import process_batch
    from earful.store.db import run_in_transaction

    def work(session: Any) -> int:
        report = process_batch(session, raws, ctx, source_name="bench")
        return len(report.new_ids) + (len(report.updated_ids) if count_updates else 0)

    return run_in_transaction(engine, work)


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def ingest(quick: bool) -> dict[str, Any]:
    """parse -> match -> score -> store into SQLite -> after-batch risk evaluation, as
    ``earful run`` runs it, against stock VADER alone on the same texts."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from earful.bench.stages import run_ingest
    from earful.sources.feed.connector import parse

    n = 5_000 if quick else 50_000
    bodies = list(feed_bodies(n))
    parsed = [m for body in bodies for m in parse(body, url="https://bench.example.com/").mentions]
    texts = [m.text for m in parsed]

    vader = SentimentIntensityAnalyzer()
    started = time.perf_counter()
    for text in texts:
        vader.polarity_scores(text)
    vader_s = time.perf_counter() - started

    run = run_ingest(bench_config(), bodies)
    ingest_rate = _rate(len(texts), run.seconds)
    vader_rate = _rate(len(texts), vader_s)
    without_risk = _rate(len(texts), run.seconds - run.stage_s["risk"])
    return {
        "ingest_per_s": ingest_rate,
        "vader_alone_per_s": vader_rate,
        "ingest_ratio": round(ingest_rate / vader_rate, 3) if vader_rate else None,
        "ingest_stage_us": run.us_per_mention(),
        "note": (
            f"{len(texts)} mentions parsed from {len(bodies)} feeds, {run.stored} stored, "
            f"after-batch risk evaluation on; without it {without_risk}/s "
            f"(ratio {round(without_risk / vader_rate, 3) if vader_rate else None})"
        ),
    }


def matching(quick: bool) -> dict[str, Any]:
    """1,000 brand queries against 200,000 posts on one core."""
    from earful.matching.matcher import MatchDoc, compile_brands

    n_posts = 20_000 if quick else 200_000
    queries = generate_queries(1_000)
    brands = [BrandConfig(name=f"q{i}", queries=[q]) for i, q in enumerate(queries)]
    matcher = compile_brands(brands)
    posts = generate_posts(n_posts, seed=19)
    started = time.perf_counter()
    hits = 0
    for text in posts:
        if matcher.match(MatchDoc(text=text)):
            hits += 1
    seconds = time.perf_counter() - started
    return {
        "match_posts_per_s": _rate(n_posts, seconds),
        "note": f"{n_posts} posts x 1000 queries, {hits} posts matched",
    }


def worst_text(quick: bool) -> dict[str, Any]:
    """The slowest single text to score among adversarial inputs up to 100 KB."""
    from earful.sentiment.analyzer import get_analyzer

    analyzer = get_analyzer()
    worst = 0.0
    for text in adversarial_texts():
        started = time.perf_counter()
        analyzer.score(text)
        worst = max(worst, time.perf_counter() - started)
    return {"worst_text_ms": round(worst * 1000, 2)}


@contextmanager
def serve_feeds(bodies: dict[str, bytes]) -> Iterator[str]:
    """A local HTTP server on 127.0.0.1 serving ``bodies`` by path, with ETag/304 (the demo's)."""
    from earful.demo.main import FeedServer, Route

    routes = {path: Route(body, "application/rss+xml") for path, body in bodies.items()}
    with FeedServer(routes) as server:
        yield server.base_url


def repoll(quick: bool) -> dict[str, Any]:
    """Body bytes transferred on the second poll of 100 unchanged feeds (target: 0)."""
    from earful.config.models import SourceConfig
    from earful.settings import get_settings
    from earful.sources.base import PollState
    from earful.sources.feed.connector import fetch
    from earful.sources.http import make_client

    bodies = {f"/f{i}.xml": body for i, body in enumerate(feed_bodies(100 * 20, per_feed=20))}
    with serve_feeds(bodies) as base:
        client = make_client(get_settings(), host_min_interval_s=0.0)
        states: dict[str, PollState] = {}
        for path in bodies:
            src = SourceConfig(name=path, kind="rss", url=base + path)
            res = fetch(client, src, PollState())
            states[path] = PollState(etag=res.etag, last_modified=res.last_modified)
        first = client.bytes_received
        unchanged = 0
        for path in bodies:
            src = SourceConfig(name=path, kind="rss", url=base + path)
            res = fetch(client, src, states[path])
            unchanged += int(res.not_modified)
        second = client.bytes_received - first
        client.close()
    return {
        "repoll_body_bytes": second,
        "note": f"first poll {first} body bytes; second poll {unchanged}/100 answered 304",
    }


def peak_rss(quick: bool) -> dict[str, Any]:
    """Peak RSS of a fresh process ingesting 100,000 mentions into SQLite."""
    n = 20_000 if quick else 100_000
    code = (
        "import json,sys; from earful.bench.figures import ingest_child; "
        f"print(json.dumps(ingest_child({n})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=1800
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "peak_rss_100k_mb": data["peak_rss_mb"],
        "note": f"{data['stored']} mentions ingested in the measured process",
    }


def ingest_child(n: int) -> dict[str, Any]:
    """Runs in a child process so its peak RSS is the ingest's alone: ingests generated feeds,
    chunk by chunk (as a runner meets them), until ``n`` new mentions are stored."""
    from earful.pipeline import build_context
    from earful.sources.feed.connector import parse
    from earful.store.db import init_db, make_engine

    stored = 0
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'rss.db'}")
        init_db(engine)
        ctx = build_context(bench_config(), SimulatedClock(datetime(2026, 1, 2, tzinfo=UTC)))
        chunk = 0
        while stored < n:
            for body in feed_bodies(10_000, per_feed=200, seed=23 + chunk, id_prefix=f"c{chunk}-"):
                raws = parse(body, url="https://bench.example.com/").mentions
                stored += _store(engine, raws, ctx, count_updates=False)
            chunk += 1
        engine.dispose()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"peak_rss_mb": round(peak_kb / 1024, 1), "stored": stored}
