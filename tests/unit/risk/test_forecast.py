"""Forecast of final cascade size: monotone, shrinks toward the prior at small counts, and the
risk score built on it keeps big cascades apart."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import pytest

from earful.config.risk import RiskConfig
from earful.mention import Reading
from earful.risk.forecast import (
    CascadePrior,
    Share,
    forecast_log_linear,
    forecast_self_exciting,
    memory_cdf,
    offspring_multiplier,
)
from earful.risk.scoring import RiskInput, assess, soft_top, typical_total

PRIOR = CascadePrior(infectiousness=0.01, strength=5.0, sharer_followers=50.0)
PUB = datetime(2024, 1, 1, tzinfo=UTC)


def _cascade(n: int, followers: int = 200, every_min: float = 2.0) -> list[Share]:
    return [Share(0.0, 5000)] + [Share((i + 1) * every_min / 60, followers) for i in range(n)]


def test_memory_kernel_is_a_distribution() -> None:
    ages = [0.0, 0.01, 5 / 60, 0.5, 1, 24, 24 * 365]
    values = [memory_cdf(a) for a in ages]
    assert values[0] == 0
    assert values == sorted(values)
    assert values[-1] > 0.9  # a heavy tail: some reshares come a year later
    assert memory_cdf(1e12) == pytest.approx(1, abs=1e-3)
    # Continuous where the flat head meets the power law.
    s0 = 5 / 60
    assert memory_cdf(s0 - 1e-9) == pytest.approx(memory_cdf(s0 + 1e-9), abs=1e-6)


def test_offspring_multiplier_grows_smoothly_past_critical() -> None:
    values = [offspring_multiplier(b) for b in (0.0, 0.5, 0.89, 0.9, 0.91, 1.0, 2.0)]
    assert values[0] == 1
    assert values[1] == pytest.approx(2)
    assert all(b > a for a, b in itertools.pairwise(values))
    assert math.isfinite(values[-1])


def test_self_exciting_forecast_is_monotone() -> None:
    base = forecast_self_exciting(_cascade(20), 0.75, PRIOR).final
    more_shares = forecast_self_exciting(_cascade(30), 0.75, PRIOR).final
    more_followers = forecast_self_exciting(_cascade(20, followers=2000), 0.75, PRIOR).final
    assert more_shares > base
    assert more_followers > base
    assert base >= 21  # never below what has been seen


def test_self_exciting_forecast_ignores_the_future() -> None:
    shares = _cascade(20)
    later = [*shares, Share(5.0, 1_000_000)]
    assert forecast_self_exciting(later, 0.75, PRIOR) == forecast_self_exciting(shares, 0.75, PRIOR)


def test_few_shares_shrink_toward_the_prior() -> None:
    # Two quick reshares of a post whose followers have barely had time to react: the raw
    # rate R/X is huge; the posterior stays near the source's typical infectiousness.
    shares = [Share(0.0, 100), Share(0.01, 50), Share(0.02, 50)]
    fc = forecast_self_exciting(shares, 0.03, PRIOR)
    acted = sum(s.followers * memory_cdf(0.03 - s.age_h) for s in shares)
    raw_rate = 2 / acted
    assert fc.infectiousness is not None
    assert abs(math.log(fc.infectiousness / PRIOR.infectiousness)) < abs(
        math.log(raw_rate / PRIOR.infectiousness)
    )
    assert fc.weight < 0.5
    # Many shares: the cascade's own rate dominates.
    big = forecast_self_exciting(_cascade(400, every_min=0.1), 0.75, PRIOR)
    assert big.weight > 0.95


def _typical(t: float) -> float:
    return typical_total(RiskConfig(), "twitter", t)


def test_log_linear_nine_likes_do_not_extrapolate_to_thousands() -> None:
    # 9 likes, growing fast over two snapshots (exponent ~2): the old extrapolation said
    # 9 · (48 / 1.5)^2.1 ≈ 13k. Shrunk, the forecast stays near a typical post's growth.
    curve = [(0.75, 2.0), (1.5, 9.0)]
    fc = forecast_log_linear(curve, 48, _typical, evidence=25)
    naive = 9 * (48 / 1.5) ** 2.1
    typical_growth = 9 * _typical(48) / _typical(1.5)
    assert fc.final < naive / 20
    assert typical_growth <= fc.final < 4 * typical_growth
    assert fc.weight < 0.3


def test_log_linear_is_monotone_and_large_curves_keep_their_growth() -> None:
    shape = [(0.5, 1.0), (1.0, 3.0), (2.0, 9.0)]
    finals = [
        forecast_log_linear([(a, c * k) for a, c in shape], 48, _typical, evidence=25).final
        for k in (1, 3, 10, 100, 1000)
    ]
    assert all(b > a for a, b in itertools.pairwise(finals))
    big = forecast_log_linear([(a, c * 1000) for a, c in shape], 48, _typical, evidence=25)
    assert big.weight > 0.99
    assert big.exponent is not None and big.exponent > 1.2


def _huge(scale: int) -> RiskInput:
    snaps = [
        Reading(at=PUB + timedelta(hours=h), views=scale * 10**h, likes=scale * 10 ** (h - 1))
        for h in range(1, 5)
    ]
    return RiskInput(
        source="youtube",
        text="unsafe, injured, racist, scam, lawsuit",
        compound=-0.9,
        published_at=PUB,
        snapshots=snaps,
        author_followers=5_000_000,
        spread_sources=["news", "twitter", "blog", "reddit"],
        spread_mentions=80,
    )


def test_risk_keeps_its_order_at_the_top() -> None:
    now = PUB + timedelta(hours=4)
    big, bigger = assess(_huge(1), now, RiskConfig()), assess(_huge(30), now, RiskConfig())
    assert 85 < big.risk < bigger.risk <= 100
    for result in (big, bigger):
        assert abs(sum(r.contribution for r in result.reasons) - result.risk) < 0.6


def test_soft_top_is_continuous_and_below_100() -> None:
    assert soft_top(50) == 50
    assert soft_top(90) == 90
    assert soft_top(90.001) == pytest.approx(90.001, abs=1e-4)
    assert soft_top(120) < soft_top(140) < 100
