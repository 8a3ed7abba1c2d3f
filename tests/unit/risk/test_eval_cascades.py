"""eval-risk's machinery: AUC on hand cases, the generator's kernel, the SEISMIC parser, and
Earful's forecast and risk beating count-only on a fixed seed."""

from __future__ import annotations

import random

import pytest

from earful.risk.eval_cascades import (
    SYNTHETIC_SETS,
    TARGET_MARGIN,
    _kernel_delay,
    auc,
    evaluate_synthetic,
    parse_seismic,
    simulate,
    top_quartile,
)
from earful.risk.forecast import memory_cdf


def test_auc_hand_cases() -> None:
    # The classic example: 3 of the 4 positive/negative pairs are ordered right.
    assert auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == pytest.approx(0.75)
    assert auc([1, 2, 3], [False, True, True]) == 1.0
    assert auc([3, 2, 1], [False, True, True]) == 0.0
    # A tie between a positive and a negative counts half.
    assert auc([1, 1], [True, False]) == 0.5
    assert auc([0, 5, 5, 9], [False, True, False, True]) == pytest.approx(0.875)
    with pytest.raises(ValueError, match="positive and one negative"):
        auc([1, 2], [True, True])


def test_top_quartile_includes_ties_at_the_threshold() -> None:
    assert top_quartile([1, 2, 3, 4, 5, 6, 7, 8]) == [False] * 6 + [True, True]
    assert top_quartile([5, 1, 5, 1, 5, 1, 1, 1]) == [True, False, True, False, True] + [False] * 3


def test_generator_delays_follow_the_memory_kernel() -> None:
    rng = random.Random(3)
    theta, s0 = 0.5, 0.25
    delays = [_kernel_delay(rng, theta, s0) for _ in range(20_000)]
    for age in (0.1, 0.25, 1.0, 10.0):
        share = sum(1 for d in delays if d <= age) / len(delays)
        assert share == pytest.approx(memory_cdf(age, theta, s0), abs=0.015)


def test_generator_keeps_cascades_of_the_minimum_size_in_time_order() -> None:
    spec = SYNTHETIC_SETS[0]
    cascades = simulate(spec, 30, seed=5)
    assert len(cascades) == 30
    assert cascades == simulate(spec, 30, seed=5)  # reproducible
    for c in cascades:
        assert c.final_size == len(c.shares) >= spec.min_final
        ages = [s.age_h for s in c.shares]
        assert ages == sorted(ages) and ages[0] == 0


def test_parse_seismic_format() -> None:
    index = "tweet_id,post_time_day,start_ind,end_ind\n1,0.5,1,3\n2,0.7,4,15\n"
    data = "relative_time_second,number_of_followers\n0,100\n60,5\n30,7\n"
    data += "".join(f"{i * 10},{i + 1}\n" for i in range(12))
    cascades = parse_seismic(index, data, min_shares=3)
    assert [c.final_size for c in cascades] == [3, 12]
    first = cascades[0].shares
    assert [s.followers for s in first] == [100, 7, 5]  # sorted by time
    assert first[1].age_h == pytest.approx(30 / 3600)
    assert parse_seismic(index, data)[0].final_size == 12  # under 10 shares: left out


def test_forecast_and_risk_beat_count_on_every_synthetic_set() -> None:
    results = evaluate_synthetic(seed=13, cascades=300)
    assert [r.name for r in results] == [s.name for s in SYNTHETIC_SETS]
    assert len({s.branching for s in SYNTHETIC_SETS}) == 3
    for result in results:
        assert result.cascades == 300
        assert [h.minutes for h in result.horizons] == [30, 60]
        for h in result.horizons:
            assert h.auc_risk >= h.auc_count + TARGET_MARGIN, (result.name, h)
            assert h.auc_forecast >= h.auc_count + TARGET_MARGIN, (result.name, h)
