"""Bench: escalation latency through the embedded runner — a post appears on a server, the
runner polls it, and the notification reaches a webhook.

Setup, all real and on 127.0.0.1: a Mastodon-style server (``demo_live.WorldServer``) that
publishes one new negative, high-risk post per sample; a SQLite file database; the runner's
:func:`~earful.run.runner.poll_source` with the context of ``earful run``
(``loop.build_loop_context``:
after-commit risk scoring, incident grouping, escalation, outbox flush over the configured
webhook); a :class:`~earful.demo.live.WebhookReceiver` verifying each HMAC signature.

One sample = the time from the moment the poll starts (so the HTTP fetch of the timeline is
included) to the moment the receiver has read and verified the notification. Each sample is a
different brand, so every post is its own incident (an incident escalates once). Samples run
one after another on a warm process: the figure is the per-mention processing latency, not the
polling interval (``earful run`` polls each source on its own ``interval``).
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from earful.clock import SystemClock
from earful.config.models import AppConfig
from earful.demo.live import Delivery, Post, WebhookReceiver, WorldServer

logger = logging.getLogger(__name__)

SECRET = "bench-webhook-secret"
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")
WAIT_S = 10.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty list."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def brand_name(i: int) -> str:
    return f"Brand{i}{WORDS[i % len(WORDS)]}"


def bench_config(world_url: str, hook_url: str, samples: int) -> AppConfig:
    return AppConfig.model_validate(
        {
            "brands": [{"name": brand_name(i), "timezone": "UTC"} for i in range(samples)],
            "sources": [
                {
                    "name": "bench-social",
                    "kind": "mastodon",
                    "params": {"instances": [world_url], "hashtags": ["united"], "refresh": False},
                    "interval": "1m",
                }
            ],
            "escalation": {
                "channels": {
                    "hook": {"kind": "webhook", "url": hook_url, "secret_env": "BENCH_SECRET"}
                },
                "routes": [{"brand": "*", "level": 1, "channel": "hook", "to": "ops"}],
                "max_per_hour": 100_000,
            },
            "digest": {"enabled": False},
        }
    )


def risky_post(i: int, now: Any) -> Post:
    brand = brand_name(i)
    post = Post(
        kind="mastodon",
        ident=str(10_000 + i),
        at=now,
        published=now - timedelta(hours=2),
        author=f"parent{i}",
        text=f"{brand} heater exploded and injured my son, he is in hospital. Dangerous, "
        f"defective, terrible {brand}, {WORDS[i % len(WORDS)]} lawsuit coming.",
    )
    post.curve.append(
        (now, {"likes": 5000, "shares": 2000, "comments": 900, "author_followers": 2_000_000})
    )
    return post


def measure(samples: int) -> tuple[list[float], int]:
    """Seconds from poll start to webhook receipt, per sample; and how many never arrived."""
    from earful.run.loop import build_loop_context
    from earful.run.runner import poll_source
    from earful.settings import Settings
    from earful.sources.http import make_client
    from earful.store.db import init_db, make_engine

    clock = SystemClock()
    arrived: dict[str, float] = {}
    cond = threading.Condition()

    def on_delivery(d: Delivery) -> None:
        if d.valid:
            with cond:
                arrived.setdefault(str(d.payload.get("brand")), time.perf_counter())
                cond.notify_all()

    latencies: list[float] = []
    lost = 0
    settings = Settings(host_min_interval_s=0.0, max_retries=0)  # type: ignore[call-arg]
    with (
        tempfile.TemporaryDirectory(prefix="earful-bench-latency-") as tmp,
        WorldServer(clock) as world,
        WebhookReceiver(SECRET, on_delivery=on_delivery) as receiver,
    ):
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        init_db(engine)
        config = bench_config(world.base_url, receiver.url, samples)
        source = config.sources[0]
        ctx, deliver = build_loop_context(config, settings, clock, env={"BENCH_SECRET": SECRET})
        try:
            with make_client(settings, host_min_interval_s=0.0) as http:
                # one warm-up poll: imports, first connection, matcher compiled
                poll_source(engine, http, source, ctx)
                for i in range(samples):
                    brand = brand_name(i)
                    world.posts.append(risky_post(i, clock.now()))
                    start = time.perf_counter()
                    poll_source(engine, http, source, ctx)
                    with cond:
                        cond.wait_for(lambda b=brand: b in arrived, timeout=WAIT_S)  # type: ignore[misc]
                    if brand in arrived:
                        latencies.append(arrived[brand] - start)
                    else:
                        lost += 1
        finally:
            deliver.close()
            engine.dispose()
    return latencies, lost


def notify_latency(quick: bool) -> dict[str, Any]:
    """``notify_latency_p50_ms`` / ``notify_latency_p99_ms`` over 20 (quick) or 200 samples
    (``None`` when nothing arrived), and a ``note`` on what was measured."""
    n = 20 if quick else 200
    values, lost = measure(n)
    note = (
        f"embedded runner, SQLite: poll start (HTTP fetch from a local Mastodon-style server) "
        f"-> pipeline -> risk -> escalation -> outbox -> signed webhook verified on 127.0.0.1; "
        f"{len(values)} of {n} samples arrived"
        + (f", {lost} never arrived within {WAIT_S:.0f} s" if lost else "")
    )
    if not values:
        return {"notify_latency_p50_ms": None, "notify_latency_p99_ms": None, "note": note}
    return {
        "notify_latency_p50_ms": round(statistics.median(values) * 1000, 1),
        "notify_latency_p99_ms": round(percentile(values, 0.99) * 1000, 1),
        "note": note,
    }
