"""Risk evaluation at volume: events per second over a big window, and a repost wave.

Both run the pipeline and ``risk.evaluation.evaluate_and_escalate`` on SQLite, in batches of
``BATCH`` mentions (one feed body, as the runner's after-batch hook sees them); timings cover
the evaluation (``risk_events_per_s``) or storing and evaluating (``wave_10k_s``).
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from earful.clock import SimulatedClock
from earful.config.models import AppConfig, BrandConfig
from earful.mention import Engagement, RawMention

BATCH = 100
START = datetime(2026, 1, 5, tzinfo=UTC)
BRAND = "United Airlines"
_COMPLAINTS = [
    "lost my bag in {c}",
    "flight {n} to {c} delayed again",
    "broken seat on the way to {c}",
    "rude agent at the {c} gate",
    "two hours on hold about my {c} refund",
]


def _config() -> AppConfig:
    return AppConfig(brands=[BrandConfig(name=BRAND, queries=[f'"{BRAND}"'])])


def _raw(ident: str, text: str, at: datetime, likes: int) -> RawMention:
    return RawMention(
        source="twitter",
        external_id=ident,
        url=f"https://twitter.example/{ident}",
        text=text,
        author=f"a{ident}",
        author_followers=200,
        published_at=at,
        language="en",
        engagement=Engagement(likes=likes, shares=0, comments=0),
    )


def _ordinary(rnd: random.Random, i: int, at: datetime) -> RawMention:
    what = rnd.choice(_COMPLAINTS).format(c=f"city{rnd.randrange(300)}", n=rnd.randrange(9999))
    return _raw(f"o{i}", f"{BRAND} {what} #{rnd.randrange(10**6)}", at, rnd.randrange(5))


def _store_and_evaluate(
    engine: Any, raws: list[RawMention], ctx: Any, clock: SimulatedClock, config: AppConfig
) -> float:
    """Store one batch, then evaluate it; returns the seconds the evaluation took."""
    from earful.pipeline import process_batch
    from earful.risk.evaluation import evaluate_and_escalate
    from earful.store.db import run_in_transaction

    def store(session: Any) -> list[int]:
        report = process_batch(session, raws, ctx, source_name="bench")
        return list(report.new_ids) + list(report.updated_ids)

    ids = run_in_transaction(engine, store)
    started = time.perf_counter()
    evaluate_and_escalate(engine, ids, now=clock.now(), config=config)
    return time.perf_counter() - started


def risk_throughput(quick: bool) -> dict[str, Any]:
    """``risk_events_per_s`` with a window of 10,000 (quick) or 100,000 mentions of one brand,
    ``risk_rebuild_s``: the next batch after the window state is dropped (a restart), and
    ``wave_10k_s``: 10,000 near-identical reposts within an hour, stored and evaluated."""
    from earful.pipeline import build_context
    from earful.risk.sync import forget_windows
    from earful.store.db import init_db, make_engine

    window = 10_000 if quick else 100_000
    events = 2_000
    rnd = random.Random(5)
    config = _config()
    out: dict[str, Any] = {"risk_window_mentions": window}
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'risk.db'}")
        init_db(engine)
        clock = SimulatedClock(START)
        ctx = build_context(config, clock)
        step = timedelta(hours=48) / (window + events)
        at = START
        for start in range(0, window, 1000):
            raws = []
            for i in range(start, min(window, start + 1000)):
                at += step
                raws.append(_ordinary(rnd, i, at))
            clock.set(at)
            _store_and_evaluate(engine, raws, ctx, clock, config)
        spent = 0.0
        for start in range(window, window + events, BATCH):
            raws = []
            for i in range(start, start + BATCH):
                at += step
                raws.append(_ordinary(rnd, i, at))
            clock.set(at)
            spent += _store_and_evaluate(engine, raws, ctx, clock, config)
        out["risk_events_per_s"] = round(events / spent, 1) if spent else None
        # The window state is rebuilt from the database after a restart and once per window:
        # what that costs, apart from the steady per-event figure above.
        forget_windows(engine)
        raws = [_ordinary(rnd, window + events + i, at) for i in range(BATCH)]
        rebuild_started = time.perf_counter()
        _store_and_evaluate(engine, raws, ctx, clock, config)
        out["risk_rebuild_s"] = round(time.perf_counter() - rebuild_started, 2)
        engine.dispose()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'wave.db'}")
        init_db(engine)
        clock = SimulatedClock(START)
        ctx = build_context(config, clock)
        text = f"{BRAND} left my grandmother's wheelchair on the jet bridge for three hours"
        started = time.perf_counter()
        for start in range(0, 10_000, BATCH):
            raws = []
            for i in range(start, start + BATCH):
                at = START + timedelta(seconds=0.36 * i)
                body = text if i == 0 else f"RT @granddaughter: {text} {'!' * (i % 3)}"
                raws.append(_raw(f"w{i}", body, at, rnd.randrange(4)))
            clock.set(at)
            _store_and_evaluate(engine, raws, ctx, clock, config)
        out["wave_10k_s"] = round(time.perf_counter() - started, 2)
        engine.dispose()
    out["note"] = (
        f"risk: {events} events in batches of {BATCH} over a {window}-mention window; "
        "wave: 10,000 reposts in batches of 100 within an hour (SQLite)"
    )
    return out
