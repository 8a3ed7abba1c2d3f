"""The benchmarks ``earful bench`` runs, in order (cheap ones first)."""

from __future__ import annotations

from earful.bench import figures
from earful.bench.run import Bench

BENCHES: list[Bench] = [
    Bench("worst_text", ("worst_text_ms",), figures.worst_text),
    Bench("matching", ("match_posts_per_s",), figures.matching),
    Bench("ingest", ("ingest_per_s", "vader_alone_per_s", "ingest_ratio"), figures.ingest),
    Bench("repoll", ("repoll_body_bytes",), figures.repoll),
    Bench("memory", ("peak_rss_100k_mb",), figures.peak_rss),
]
