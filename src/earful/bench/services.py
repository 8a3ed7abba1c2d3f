"""Benchmarks that need more than one process or a database server: digest at scale,
the firehose, the replayed incident."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PG_ADMIN_URL = os.environ.get(
    "EARFUL_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """A throw-away database on the PostgreSQL server of ``EARFUL_BENCH_PG``."""
    from earful.store.db import scratch_postgres as scratch

    with scratch(PG_ADMIN_URL, prefix="earful_bench") as url:
        yield url


def _digest_seconds(url: str, n: int) -> dict[str, Any]:
    from earful.bench.digest import seed_bulk, time_digest
    from earful.store.db import init_db, make_engine

    engine = make_engine(url)
    try:
        init_db(engine)
        seed_bulk(engine, n=n)
        return time_digest(engine)
    finally:
        engine.dispose()


def digest_scale(quick: bool) -> dict[str, Any]:
    """The daily digest of a brand with 1,000,000 stored mentions, SQLite and PostgreSQL."""
    n = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        lite = _digest_seconds(f"sqlite:///{Path(tmp) / 'digest.db'}", n)
    figures: dict[str, Any] = {"digest_1m_sqlite_s": lite["full_s"]}
    notes = [f"{n} mentions; SQLite data {lite['data_s']}s, full {lite['full_s']}s"]
    try:
        with scratch_postgres() as url:
            pg = _digest_seconds(url, n)
        figures["digest_1m_postgres_s"] = pg["full_s"]
        notes.append(f"PostgreSQL data {pg['data_s']}s, full {pg['full_s']}s")
    except Exception as exc:  # no server here: the figure stays null, with the reason
        notes.append(f"PostgreSQL not measured: {type(exc).__name__}: {exc}")
    figures["note"] = "; ".join(notes)
    return figures


def firehose(quick: bool) -> dict[str, Any]:
    """The Jetstream consumer fed 2,000 posts/s from a local WebSocket server."""
    from earful.bench.figures import bench_config
    from earful.config.models import BrandConfig
    from earful.matching.matcher import MatchDoc, compile_brands
    from earful.mention import RawMention

    # The generated firehose speaks of "Acme Air" in one post of five: the matcher does real work.
    brands = [*bench_config().brands, BrandConfig(name="Acme Air", queries=['"acme air"'])]
    matcher = compile_brands(brands)

    def keep(m: RawMention) -> bool:
        return bool(matcher.match(MatchDoc.from_mention(m)))

    from earful.sources.jetstream import measure_firehose

    result = measure_firehose(rate=2000, seconds=10.0 if quick else 60.0, keep=keep)
    return {
        "firehose_posts_per_s": round(float(result["posts_per_s"]), 1),
        "firehose_max_lag_s": round(float(result["max_lag_s"]), 3),
        "note": (
            f"{result['posts']} posts offered at 2000/s, {result.get('kept')} kept by the brand "
            f"matcher, CPU share {result.get('cpu_share')}"
        ),
    }


def ubg(quick: bool) -> dict[str, Any]:
    """Hours of warning the rules give on the United Breaks Guitars timeline."""
    from importlib import resources

    from earful.run.replay import replay_lead_hours

    path = resources.files("earful.run.scenarios").joinpath("ubg.jsonl")
    with resources.as_file(path) as real_path:
        return {"ubg_lead_hours": round(replay_lead_hours(real_path), 1)}
