"""The benchmarks ``earful bench`` runs, in order (cheap ones first)."""

from __future__ import annotations

from earful.bench import distributed, figures, latency, risk, services
from earful.bench.run import Bench

BENCHES: list[Bench] = [
    Bench("worst_text", ("worst_text_ms",), figures.worst_text),
    Bench("matching", ("match_posts_per_s",), figures.matching),
    Bench("ingest", ("ingest_per_s", "vader_alone_per_s", "ingest_ratio"), figures.ingest),
    Bench(
        "risk",
        ("risk_events_per_s", "risk_window_mentions", "risk_rebuild_s", "wave_10k_s"),
        risk.risk_throughput,
    ),
    Bench("repoll", ("repoll_body_bytes",), figures.repoll),
    Bench("memory", ("peak_rss_100k_mb",), figures.peak_rss),
    Bench("notify", ("notify_latency_p50_ms", "notify_latency_p99_ms"), latency.notify_latency),
    Bench("ubg", ("ubg_lead_hours",), services.ubg),
    Bench("firehose", ("firehose_posts_per_s", "firehose_max_lag_s"), services.firehose),
    Bench(
        "celery",
        ("celery_embedded_per_s", "celery_1_worker_per_s", "celery_2_workers_per_s"),
        distributed.celery_throughput,
    ),
    Bench("digest", ("digest_1m_sqlite_s", "digest_1m_postgres_s"), services.digest_scale),
]
