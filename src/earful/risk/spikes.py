"""Brand-level negative spikes: is this hour's negative volume unusual for this hour of the week?

Contract: pure functions over (time, source, text) records of a brand's *negative* mentions.

* Baseline: the mean count in the same hour of the week over the past ``weeks`` weeks, shrunk
  towards the overall hourly mean (``prior_weight`` pseudo-weeks) so a young history does not
  call every first busy Monday a spike; never below ``min_rate``.
* Test: the Poisson upper tail ``P(X >= count | baseline)`` below ``alpha``, and at least
  ``min_count`` posts (three complaints against an expected 0.1 are not a crisis).
* Persistence: the test must hold for ``persistence_hours`` consecutive hours.
* Cooldown: no new spike within ``cooldown_hours`` of the previous one.

A spike is reported with its top terms (words over-represented against the baseline period),
sources and example texts.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from earful.config.risk import SpikeConfig
from earful.risk.incidents import STOP, tokens

logger = logging.getLogger(__name__)

HOURS_PER_WEEK = 168


@dataclass(frozen=True, slots=True)
class Post:
    at: datetime
    source: str
    text: str


@dataclass(slots=True)
class Spike:
    hour: datetime
    count: int
    expected: float
    p_value: float
    sources: dict[str, int] = field(default_factory=dict)
    top_terms: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)

    def detail(self) -> str:
        return (
            f"{self.count} negative posts in the hour from {self.hour:%Y-%m-%d %H:00} UTC "
            f"(expected {self.expected:.1f}); top terms: {', '.join(self.top_terms[:5])}"
        )


def hour_start(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def hour_of_week(t: datetime) -> int:
    return t.weekday() * 24 + t.hour


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), computed stably in log space."""
    if k <= 0:
        return 1.0
    total = 0.0
    log_term = -lam  # log P(X = 0)
    for i in range(k):
        if i > 0:
            log_term += math.log(lam) - math.log(i)
        total += math.exp(log_term)
    return max(0.0, 1.0 - total)


def expected_count(posts: Sequence[Post], hour: datetime, config: SpikeConfig) -> float:
    """The baseline for ``hour``: same hour of week over the previous weeks, shrunk."""
    hour = hour_start(hour)
    start = hour - timedelta(weeks=config.weeks)
    past = [p for p in posts if start <= p.at < hour]
    if not past:
        return config.min_rate
    overall = len(past) / (config.weeks * HOURS_PER_WEEK)
    how = hour_of_week(hour)
    same = sum(1 for p in past if hour_of_week(p.at) == how)
    lam = (same + config.prior_weight * overall) / (config.weeks + config.prior_weight)
    return max(lam, config.min_rate)


def _hour_test(
    posts: Sequence[Post], hour: datetime, config: SpikeConfig
) -> tuple[int, float, float]:
    count = sum(1 for p in posts if hour_start(p.at) == hour)
    lam = expected_count(posts, hour, config)
    return count, lam, poisson_sf(count, lam)


def top_terms(
    current: Iterable[str], background: Iterable[str], *, names: Iterable[str] = (), n: int = 8
) -> list[str]:
    """Words over-represented in ``current`` against ``background`` (smoothed ratio × count)."""
    skip = STOP | {t for name in names for t in tokens(name)}
    cur = Counter(w for text in current for w in set(tokens(text)) if w not in skip and len(w) > 2)
    bg = Counter(w for text in background for w in set(tokens(text)) if w not in skip)
    bg_total = sum(bg.values()) or 1
    cur_total = sum(cur.values()) or 1

    def score(word: str) -> float:
        ratio = (cur[word] / cur_total) / ((bg[word] + 1) / (bg_total + len(bg) + 1))
        return math.log1p(ratio) * cur[word]

    return [w for w in sorted(cur, key=lambda w: (-score(w), w)) if cur[w] >= 2][:n]


def detect_spike(
    posts: Sequence[Post],
    *,
    now: datetime,
    config: SpikeConfig,
    last_spike_at: datetime | None = None,
    names: Iterable[str] = (),
) -> Spike | None:
    """The spike of the hour containing ``now`` (judged on the hours up to it), or None."""
    current = hour_start(now)
    if last_spike_at is not None and now - last_spike_at < timedelta(hours=config.cooldown_hours):
        return None
    results = []
    for back in range(config.persistence_hours):
        hour = current - timedelta(hours=back)
        count, lam, p = _hour_test(posts, hour, config)
        if count < config.min_count or p >= config.alpha:
            return None
        results.append((count, lam, p))
    count, lam, p = results[0]
    in_hour = [x for x in posts if hour_start(x.at) == current]
    before = [x for x in posts if current - timedelta(weeks=config.weeks) <= x.at < current]
    spike = Spike(
        hour=current,
        count=count,
        expected=round(lam, 2),
        p_value=p,
        sources=dict(Counter(x.source for x in in_hour).most_common()),
        top_terms=top_terms((x.text for x in in_hour), (x.text for x in before), names=names),
        examples=[x.text[:280] for x in in_hour[:3]],
    )
    logger.info("negative spike: %s", spike.detail())
    return spike


def scan_spikes(
    posts: Sequence[Post], *, start: datetime, end: datetime, config: SpikeConfig
) -> list[Spike]:
    """Every spike between ``start`` and ``end``, hour by hour, with the cooldown applied."""
    spikes: list[Spike] = []
    hour = hour_start(start)
    last: datetime | None = None
    while hour <= end:
        found = detect_spike(
            posts, now=hour + timedelta(minutes=59), config=config, last_spike_at=last
        )
        if found is not None:
            spikes.append(found)
            last = found.hour + timedelta(minutes=59)
        hour += timedelta(hours=1)
    return spikes
