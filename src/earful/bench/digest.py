"""Benchmark: build the digest for a brand with N stored mentions (``digest_1m_*`` figures).

``seed_bulk`` writes N synthetic mentions (about 20 % negative, varied complaint words, spread
over ``days`` days before ``now``) with bulk inserts; ``time_digest`` builds one daily digest and
returns the seconds it took (data only, then data + charts + HTML).
"""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from earful.config.models import AppConfig
from earful.digest.build import build_digest
from earful.digest.charts import render_charts
from earful.digest.queries import MB, M
from earful.digest.render import data_uri_srcs, render_html

logger = logging.getLogger(__name__)

_WORD_TEXT = (
    "refund delay luggage lost baggage claim gate agent rude hold transferred promised "
    "broken seat app crash login fee charged cancelled flight crew lounge upgrade wifi"
)
WORDS = _WORD_TEXT.split()
SOURCES = ("rss", "mastodon", "hackernews", "bluesky", "lemmy", "youtube")


def seed_bulk(
    engine: Engine,
    *,
    n: int,
    brand: str = "BenchCo",
    competitor: str = "OtherCo",
    days: int = 90,
    now: datetime | None = None,
    batch: int = 20_000,
    seed: int = 7,
    ordered: bool = True,
) -> None:
    """Insert ``n`` mentions of ``brand`` (plus 10 % for ``competitor``); deterministic.

    ``ordered``: ids grow with publication time, as when a runner ingests a live stream;
    ``False`` shuffles them (a bulk back-fill: the worst case for the mention lookups)."""
    now = now or datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    rng = random.Random(seed)
    span = days * 86400
    next_id = 1
    total = n + n // 10
    offsets = [rng.randrange(span) for _ in range(total)]
    if ordered:
        offsets.sort(reverse=True)  # oldest first: ids follow publication, as ingestion does
    while next_id <= total:
        rows_m, rows_b = [], []
        for i in range(next_id, min(next_id + batch, total + 1)):
            published = now - timedelta(seconds=offsets[i - 1])
            roll = rng.random()
            label = "negative" if roll < 0.2 else ("positive" if roll < 0.55 else "neutral")
            compound = {"negative": -0.6, "positive": 0.6, "neutral": 0.0}[label]
            words = " ".join(rng.choice(WORDS) for _ in range(12))
            rows_m.append(
                {
                    "id": i,
                    "source": rng.choice(SOURCES),
                    "external_id": f"b{i}",
                    "source_name": "bench",
                    "url": f"https://example.com/{i}",
                    "text": f"{brand} {words}",
                    "author": f"author{rng.randrange(50_000)}",
                    "author_followers": rng.randrange(10_000),
                    "sentiment_neg": 0.0,
                    "sentiment_neu": 1.0,
                    "sentiment_pos": 0.0,
                    "sentiment_compound": compound,
                    "raw_compound": compound,
                    "sentiment_label": label,
                    "risk": rng.random() if label == "negative" and rng.random() < 0.3 else None,
                    "published_at": published,
                    "fetched_at": published,
                }
            )
            rows_b.append(
                {
                    "mention_id": i,
                    "brand": competitor if i % 11 == 0 else brand,
                    "published_at": published,
                    "is_competitor": i % 11 == 0,
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(M), rows_m)
            conn.execute(insert(MB), rows_b)
        next_id += batch
        logger.info("seeded %s of %s mentions", min(next_id - 1, total), total)


def time_digest(
    engine: Engine,
    *,
    brand: str = "BenchCo",
    competitor: str = "OtherCo",
    now: datetime | None = None,
) -> dict[str, float]:
    """Seconds to compute yesterday's digest (``data_s``), and with charts and HTML (``full_s``)."""
    now = now or datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    config = AppConfig.model_validate(
        {"brands": [{"name": brand, "competitors": [competitor]}, {"name": competitor}]}
    )
    day = (now - timedelta(days=1)).date()
    start = time.perf_counter()
    data = build_digest(engine, config, brand=brand, now=now, day=day)
    data_s = time.perf_counter() - start
    render_html(data, chart_srcs=data_uri_srcs(render_charts(data)))
    full_s = time.perf_counter() - start
    logger.info(
        "digest over %s mentions that day: %.2fs data, %.2fs full", data.volume, data_s, full_s
    )
    return {"data_s": round(data_s, 3), "full_s": round(full_s, 3), "day_volume": data.volume}
