"""Does risk rank cascades by their eventual size better than counting shares? (`earful eval-risk`)

Contract: pure and seeded — no I/O, no clock. :func:`evaluate` takes cascades (share times and
sharers' follower counts), scores each at 30 and 60 minutes three ways and reports the AUC of
each for telling the cascades that end in the top quartile of final size from the rest:

* **count** — shares so far (the baseline to beat);
* **forecast** — :func:`earful.risk.forecast.forecast_self_exciting`;
* **risk** — the full :func:`earful.risk.scoring.assess` of the cascade as a negative tweet with
  its share-count snapshots every 10 minutes, its author's followers and its shares.

Synthetic data (:func:`simulate`): a marked Hawkes process. A share by someone with ``n``
followers has Poisson(``p · n``) direct reshares, each after a delay drawn from a power-law
memory kernel; follower counts are heavy-tailed (Pareto). Each data set has a known branching
ratio ``p · E[n]``; each cascade's ``p`` varies around it (log-normal: some content is more
contagious than other). Cascades stop at ``max_size`` shares or ``horizon_h`` hours.

Honesty: the scorers see only share times and follower counts. The prior they shrink toward is
fitted (:func:`fit_prior`) on cascades of a *different seed* of the same generator — a source's
history — never on the generator's parameters or the cascades being ranked.

Real data: :func:`parse_seismic` reads the SEISMIC data set's format (Zhao et al. 2015:
``index.csv`` rows ``tweet_id, post_time_day, start_ind, end_ind`` into ``data.csv`` rows
``relative_time_second, number_of_followers``); the first half of its cascades trains the prior,
the second half is ranked.
"""

from __future__ import annotations

import csv
import heapq
import io
import logging
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from earful.config.risk import RiskConfig
from earful.mention import Reading
from earful.risk.forecast import (
    KERNEL_S0_H,
    KERNEL_THETA,
    CascadePrior,
    Share,
    forecast_self_exciting,
    memory_cdf,
)
from earful.risk.scoring import RiskInput, assess

logger = logging.getLogger(__name__)

HORIZONS_MIN = (30, 60)
TARGET_MARGIN = 0.02
_T0 = datetime(2024, 1, 1, tzinfo=UTC)
_SNAPSHOT_EVERY_MIN = 10
_TEXT = "United lost my bag and nobody at the desk will help. Worst airline."
_COMPOUND = -0.75


@dataclass(frozen=True, slots=True)
class Cascade:
    """One cascade: its shares (the original post first, at age 0), and its final size."""

    shares: tuple[Share, ...]
    final_size: int

    def seen(self, age_h: float) -> list[Share]:
        return [s for s in self.shares if s.age_h <= age_h]


@dataclass(frozen=True, slots=True)
class SyntheticSet:
    """A synthetic data set's generator. Its parameters are the hidden truth: nothing that
    scores a cascade reads them."""

    name: str
    branching: float  # mean direct reshares per share, p · E[followers]
    theta: float  # power-law exponent of the delay kernel (tail ~ t^-(1+theta))
    s0_h: float  # the kernel is flat for this long, then decays
    followers_tail: float = 1.6  # Pareto index of follower counts (smaller: heavier tail)
    followers_min: int = 20
    root_followers_min: int = 1000
    spread: float = 0.4  # sd of log p across cascades
    max_size: int = 5000
    horizon_h: float = 7 * 24
    # Like SEISMIC's data set (tweets with at least 50 retweets): smaller cascades are not kept.
    min_final: int = 50

    @property
    def mean_followers(self) -> float:
        a = self.followers_tail
        return a * self.followers_min / (a - 1)


SYNTHETIC_SETS: tuple[SyntheticSet, ...] = (
    SyntheticSet("hawkes-b0.5", branching=0.5, theta=KERNEL_THETA, s0_h=5 / 60),
    SyntheticSet("hawkes-b0.75-slow", branching=0.75, theta=0.5, s0_h=15 / 60, spread=0.3),
    SyntheticSet(
        "hawkes-b0.9-heavy",
        branching=0.9,
        theta=0.15,
        s0_h=2 / 60,
        followers_tail=1.3,
    ),
)


def _kernel_delay(rng: random.Random, theta: float, s0_h: float) -> float:
    """A reaction delay in hours: inverse of :func:`earful.risk.forecast.memory_cdf`."""
    u = rng.random()
    head = theta / (1 + theta)
    if u < head:
        return s0_h * u / head
    return s0_h * math.pow((1 - u) * (1 + theta), -1 / theta)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam < 30:
        # Knuth: multiply uniforms until below e^-lam.
        limit, k, prod = math.exp(-lam), 0, rng.random()
        while prod > limit:
            k += 1
            prod *= rng.random()
        return k
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def _followers(rng: random.Random, tail: float, minimum: int) -> int:
    return int(minimum * math.pow(1 - rng.random(), -1 / tail))


def simulate_one(spec: SyntheticSet, rng: random.Random) -> Cascade:
    """One cascade of ``spec``, shares in time order (earliest first, so a size cap keeps every
    share before the time it is reached)."""
    p = spec.branching / spec.mean_followers
    p *= math.exp(rng.gauss(0, spec.spread) - spec.spread**2 / 2)
    root = Share(0.0, _followers(rng, spec.followers_tail, spec.root_followers_min))
    pending: list[tuple[float, int, Share]] = [(0.0, 0, root)]
    order = 1
    shares: list[Share] = []
    while pending and len(shares) < spec.max_size:
        _, _, share = heapq.heappop(pending)
        shares.append(share)
        for _ in range(_poisson(rng, p * share.followers)):
            at = share.age_h + _kernel_delay(rng, spec.theta, spec.s0_h)
            if at <= spec.horizon_h:
                child = Share(at, _followers(rng, spec.followers_tail, spec.followers_min))
                heapq.heappush(pending, (at, order, child))
                order += 1
    return Cascade(shares=tuple(shares), final_size=len(shares))


def simulate(spec: SyntheticSet, count: int, seed: int) -> list[Cascade]:
    """``count`` cascades of at least ``spec.min_final`` shares (fewer if 50 draws per
    cascade wanted do not yield them), reproducible from ``seed``."""
    rng = random.Random(f"{spec.name}:{seed}")
    out: list[Cascade] = []
    for _ in range(50 * count):
        cascade = simulate_one(spec, rng)
        if cascade.final_size >= spec.min_final:
            out.append(cascade)
            if len(out) == count:
                break
    return out


def auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the ROC curve: the chance a random positive outscores a random negative
    (ties count half), from the Mann–Whitney rank sum with average ranks."""
    if len(scores) != len(labels):
        raise ValueError("scores and labels differ in length")
    pos = sum(1 for y in labels if y)
    neg = len(labels) - pos
    if pos == 0 or neg == 0:
        raise ValueError("AUC needs at least one positive and one negative")
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(r for r, y in zip(ranks, labels, strict=True) if y)
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def top_quartile(sizes: Sequence[int]) -> list[bool]:
    """True for the cascades whose final size is at or above the 75th percentile (ties at the
    threshold included, so a capped size is always positive)."""
    ranked = sorted(sizes)
    threshold = ranked[min(len(ranked) - 1, (3 * len(ranked)) // 4)]
    return [s >= threshold for s in sizes]


def _fit_kernel_and_rate(
    training: Sequence[Cascade], theta: float, s0_h: float
) -> tuple[float, float]:
    """(infectiousness, mean sharer followers) over complete training cascades."""
    reshares = 0
    exposure = 0.0
    followers: list[int] = []
    for c in training:
        end = c.shares[-1].age_h
        reshares += len(c.shares) - 1
        exposure += sum(s.followers * memory_cdf(end - s.age_h, theta, s0_h) for s in c.shares)
        followers.extend(s.followers for s in c.shares[1:])
    rate = reshares / exposure if exposure > 0 else 1e-3
    mean_followers = sum(followers) / len(followers) if followers else 100.0
    return rate, mean_followers


def fit_prior(
    training: Sequence[Cascade], horizons_min: Sequence[int] = HORIZONS_MIN
) -> CascadePrior:
    """The source's typical cascade, from past (training) cascades only: the pooled
    infectiousness and sharer followers, and the prior's strength and kernel exponent that
    rank the training cascades best at the horizons (a small grid, not an optimizer)."""
    labels = top_quartile([c.final_size for c in training])
    best: tuple[float, CascadePrior] | None = None
    for theta in (0.15, KERNEL_THETA, 0.5):
        rate, mean_followers = _fit_kernel_and_rate(training, theta, KERNEL_S0_H)
        for strength in (1.0, 3.0, 10.0, 30.0):
            prior = CascadePrior(
                infectiousness=rate,
                strength=strength,
                sharer_followers=mean_followers,
                kernel_theta=theta,
                kernel_s0_h=KERNEL_S0_H,
            )
            score = 0.0
            for minutes in horizons_min:
                h = minutes / 60
                forecasts = [forecast_self_exciting(c.shares, h, prior).final for c in training]
                score += auc(forecasts, labels)
            if best is None or score > best[0]:
                best = (score, prior)
    assert best is not None
    return best[1]


def risk_input(cascade: Cascade, age_h: float, prior: CascadePrior) -> RiskInput:
    """The cascade at ``age_h`` as Earful sees a negative tweet: share-count snapshots every
    10 minutes, the author's followers, the shares so far."""
    seen = cascade.seen(age_h)
    snaps = []
    steps = round(age_h * 60 / _SNAPSHOT_EVERY_MIN)
    for step in range(1, steps + 1):
        at_h = step * _SNAPSHOT_EVERY_MIN / 60
        shared = sum(1 for s in seen if 0 < s.age_h <= at_h)
        snaps.append(Reading(at=_T0 + timedelta(hours=at_h), shares=shared))
    return RiskInput(
        source="twitter",
        text=_TEXT,
        compound=_COMPOUND,
        published_at=_T0,
        author_followers=cascade.shares[0].followers,
        snapshots=snaps,
        shares=seen,
        prior=prior,
    )


@dataclass(frozen=True, slots=True)
class HorizonResult:
    minutes: int
    auc_count: float
    auc_forecast: float
    auc_risk: float

    @property
    def passed(self) -> bool:
        best = min(self.auc_forecast, self.auc_risk)
        return best >= self.auc_count + TARGET_MARGIN


@dataclass(frozen=True, slots=True)
class DatasetResult:
    name: str
    kind: str  # "synthetic" or "real"
    cascades: int
    positives: int
    median_size: int
    branching: float | None
    horizons: list[HorizonResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "cascades": self.cascades,
            "positives": self.positives,
            "median_final_size": self.median_size,
            "branching_ratio": self.branching,
            "horizons": [
                {
                    "minutes": h.minutes,
                    "auc_count": round(h.auc_count, 4),
                    "auc_forecast": round(h.auc_forecast, 4),
                    "auc_risk": round(h.auc_risk, 4),
                    "risk_minus_count": round(h.auc_risk - h.auc_count, 4),
                    "passed": h.passed,
                }
                for h in self.horizons
            ],
        }


def evaluate(
    name: str,
    kind: str,
    cascades: Sequence[Cascade],
    prior: CascadePrior,
    *,
    branching: float | None = None,
    config: RiskConfig | None = None,
    horizons_min: Sequence[int] = HORIZONS_MIN,
) -> DatasetResult:
    """AUC of count, forecast and risk at each horizon for the top quartile of final size."""
    cfg = config or RiskConfig()
    sizes = [c.final_size for c in cascades]
    labels = top_quartile(sizes)
    results = []
    for minutes in horizons_min:
        h = minutes / 60
        count = [float(len(c.seen(h)) - 1) for c in cascades]
        forecast = [forecast_self_exciting(c.shares, h, prior).final for c in cascades]
        now = _T0 + timedelta(hours=h)
        risk = [assess(risk_input(c, h, prior), now, cfg).risk for c in cascades]
        results.append(
            HorizonResult(minutes, auc(count, labels), auc(forecast, labels), auc(risk, labels))
        )
    return DatasetResult(
        name=name,
        kind=kind,
        cascades=len(cascades),
        positives=sum(labels),
        median_size=sorted(sizes)[len(sizes) // 2],
        branching=branching,
        horizons=results,
    )


def evaluate_synthetic(
    *,
    seed: int = 13,
    cascades: int = 1000,
    sets: Sequence[SyntheticSet] = SYNTHETIC_SETS,
    progress: Callable[[str], None] | None = None,
) -> list[DatasetResult]:
    """Every synthetic set: a prior fitted on seed ``seed + 1``, ranked on seed ``seed``."""
    out = []
    for spec in sets:
        if progress:
            progress(spec.name)
        prior = fit_prior(simulate(spec, cascades // 2, seed + 1))
        test = simulate(spec, cascades, seed)
        out.append(evaluate(spec.name, "synthetic", test, prior, branching=spec.branching))
    return out


def parse_seismic(index_csv: str, data_csv: str, *, min_shares: int = 10) -> list[Cascade]:
    """Cascades of the SEISMIC data set's two CSV files (text already read): each index row
    ``tweet_id, post_time_day, start_ind, end_ind`` (1-based, inclusive) points at rows
    ``relative_time_second, number_of_followers`` of data.csv, the original tweet first.
    Cascades with fewer than ``min_shares`` shares are left out (as in the paper)."""
    rows = list(csv.reader(io.StringIO(data_csv)))
    if rows and not _is_number(rows[0][0]):
        rows = rows[1:]
    data = [(float(r[0]) / 3600, int(float(r[1]))) for r in rows if len(r) >= 2]
    index = list(csv.reader(io.StringIO(index_csv)))
    if index and not _is_number(index[0][-1]):
        index = index[1:]
    out = []
    for row in index:
        if len(row) < 4:
            continue
        start, end = int(row[2]) - 1, int(row[3])
        part = sorted(data[start:end])
        if len(part) < min_shares:
            continue
        shares = tuple(Share(age, followers) for age, followers in part)
        out.append(Cascade(shares=shares, final_size=len(shares)))
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def evaluate_real(name: str, cascades: Sequence[Cascade]) -> DatasetResult:
    """A real data set: the prior fitted on its first half, the second half ranked."""
    half = len(cascades) // 2
    prior = fit_prior(cascades[:half])
    return evaluate(name, "real", cascades[half:], prior)
