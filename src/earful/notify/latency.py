"""Bench: latency from a mention's fetch to its notification arriving at a local webhook.

Each sample hands one freshly "fetched" risky mention to the real embedded path — pipeline
``process_batch`` (match, sentiment, store) in one transaction, then the after-batch hook
(risk, incident grouping, escalation, outbox) and the outbox flush over a signed webhook to a
real HTTP server on localhost — and measures wall time from the hand-over to the server having
read and verified the request. ``bench(quick)`` returns ``notify_latency_p50_ms`` and
``notify_latency_p99_ms`` for ``earful bench``.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session

from earful.clock import SystemClock
from earful.config import AppConfig
from earful.db import init_db, make_engine, run_in_transaction
from earful.mention import Engagement, RawMention
from earful.notify.outbox import deliver_due
from earful.notify.webhook import SIGNATURE_HEADER, WebhookSender, verify_signature
from earful.settings import Settings

SECRET = "bench-secret"
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def measure(samples: int = 50) -> list[float]:
    """Seconds from fetch to arrival, one per sample."""
    from earful.pipeline import build_context, process_batch
    from earful.risk_eval import make_after_batch_hook

    arrivals: dict[str, float] = {}
    arrived = threading.Condition()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ok = verify_signature(SECRET, body, self.headers.get(SIGNATURE_HEADER))
            self.send_response(200 if ok else 401)
            self.end_headers()
            if ok:
                import json

                brand = str(json.loads(body)["brand"])
                with arrived:
                    arrivals.setdefault(brand, time.perf_counter())
                    arrived.notify_all()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    brands = [f"Brand{i}{WORDS[i % len(WORDS)]}" for i in range(samples)]
    config = AppConfig.model_validate(
        {
            "brands": [{"name": b} for b in brands],
            "escalation": {
                "channels": {"hook": {"kind": "webhook", "url": "http://unused"}},
                "routes": [{"level": 1, "channel": "hook", "to": "ops"}],
                "max_per_hour": 100_000,
            },
        }
    )
    clock = SystemClock()
    settings = Settings(secret_key="bench-ack-key")  # type: ignore[arg-type]
    latencies: list[float] = []
    with tempfile.TemporaryDirectory(prefix="earful-bench-") as tmp, httpx.Client() as client:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        init_db(engine)
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        sender = WebhookSender(url, client, secret=SECRET)

        def deliver(eng: Any) -> object:
            return deliver_due(eng, {"hook": sender}, clock=clock, config=config, settings=settings)

        ctx = build_context(config, clock)
        hook = make_after_batch_hook(config, clock, deliver=deliver)
        try:
            for i, brand in enumerate(brands):
                now = clock.now()
                raw = RawMention(
                    source="youtube",
                    external_id=f"bench-{i}",
                    url=f"https://youtube.example/bench-{i}",
                    title=f"{brand} heater exploded and injured my son",
                    text=f"{brand} heater caught fire, my son was injured and in hospital. "
                    f"Dangerous, terrible, {WORDS[i % len(WORDS)]} lawsuit coming.",
                    author=f"parent{i}",
                    author_followers=2_000_000,
                    published_at=now - timedelta(hours=2),
                    engagement=Engagement(likes=5000, shares=2000, comments=900, views=200_000),
                )
                start = time.perf_counter()

                def store(session: Session, raw: RawMention = raw) -> Any:
                    return process_batch(session, [raw], ctx)

                def landed(brand: str = brand) -> bool:
                    return brand in arrivals

                hook(engine, run_in_transaction(engine, store))
                with arrived:
                    arrived.wait_for(landed, timeout=10)
                if brand in arrivals:
                    latencies.append(arrivals[brand] - start)
        finally:
            server.shutdown()
            server.server_close()
            engine.dispose()
    return latencies


def bench(quick: bool) -> dict[str, Any]:
    """``notify_latency_p50_ms`` / ``notify_latency_p99_ms`` (None when nothing arrived)."""
    values = measure(20 if quick else 200)
    if not values:
        return {"notify_latency_p50_ms": None, "notify_latency_p99_ms": None}
    return {
        "notify_latency_p50_ms": round(statistics.median(values) * 1000, 1),
        "notify_latency_p99_ms": round(_percentile(values, 0.99) * 1000, 1),
    }
