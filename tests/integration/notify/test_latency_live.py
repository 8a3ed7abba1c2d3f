"""The notify-latency bench really delivers every sample to its local webhook."""

from __future__ import annotations

import pytest

from earful.notify.latency import bench, measure

pytestmark = pytest.mark.integration


def test_every_sample_arrives() -> None:
    values = measure(3)
    assert len(values) == 3 and all(v > 0 for v in values)


def test_bench_keys() -> None:
    figures = bench(True)
    assert set(figures) == {"notify_latency_p50_ms", "notify_latency_p99_ms"}
    assert figures["notify_latency_p50_ms"] is not None
