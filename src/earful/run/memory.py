"""Garbage-collector settings for Earful's long-running processes (``earful`` commands and the
Celery workers).

A worker keeps each brand's window — tens of thousands of members, their postings and
buckets — alive for days. With CPython's default thresholds (a young collection every 700
allocations) the collector walks those containers over and over: measured on the risk bench,
it cost about 60% of adding a member to a 10,000-member window (349 → 139 µs per add). Young
collections every 10,000 allocations and older generations ten-fold rarer keep cycles
collected while the window's long-lived objects are left alone. Called once by the entry
points; a library importing Earful keeps its own settings.
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 20, 20)


def tune_gc() -> None:
    gc.set_threshold(*THRESHOLDS)
