"""Runs the benchmarks and gathers one JSON object of figures (DESIGN.md "Bench JSON").

Each benchmark is a function returning some of the keys; one that fails or cannot run here
leaves its keys ``null`` and says why under ``notes`` — a figure is never invented.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

KEYS = [
    "machine",
    "ingest_per_s",
    "vader_alone_per_s",
    "ingest_ratio",
    "match_posts_per_s",
    "firehose_posts_per_s",
    "firehose_max_lag_s",
    "worst_text_ms",
    "repoll_body_bytes",
    "notify_latency_p50_ms",
    "notify_latency_p99_ms",
    "digest_1m_sqlite_s",
    "digest_1m_postgres_s",
    "peak_rss_100k_mb",
    "celery_embedded_per_s",
    "celery_1_worker_per_s",
    "celery_2_workers_per_s",
    "ubg_lead_hours",
    "risk_events_per_s",
    "risk_window_mentions",
    "risk_rebuild_s",
    "wave_10k_s",
]


@dataclass(frozen=True)
class Bench:
    name: str
    keys: tuple[str, ...]
    run: Callable[[bool], dict[str, Any]]  # quick -> figures


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = None
    with contextlib.suppress(ValueError, OSError):
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def run_benchmarks(
    benches: list[Bench],
    *,
    quick: bool,
    only: set[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every key of ``KEYS`` in the result; unmeasured figures are ``None``."""
    result: dict[str, Any] = dict.fromkeys(KEYS)
    result["machine"] = machine_info()
    notes: dict[str, str] = {}
    seconds: dict[str, float] = {}
    for bench in benches:
        if only and bench.name not in only:
            continue
        if progress:
            progress(bench.name)
        started = time.perf_counter()
        try:
            figures = bench.run(quick)
        except Exception as exc:  # a failing benchmark must not hide the others' figures
            logger.warning("benchmark %s failed: %s", bench.name, exc, exc_info=True)
            notes[bench.name] = f"{type(exc).__name__}: {exc}"
            continue
        finally:
            seconds[bench.name] = round(time.perf_counter() - started, 2)
        for key, value in figures.items():
            if key == "note":
                notes[bench.name] = str(value)
            else:
                result[key] = value
    result["quick"] = quick
    result["notes"] = notes
    result["bench_seconds"] = seconds
    return result
