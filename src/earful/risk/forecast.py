"""Forecast of a cascade's final size from its early curve: the virality term of the risk score.

Contract: pure functions, no I/O, no clock. Two estimators, and a prior both shrink toward:

* :func:`forecast_self_exciting` — when the shares are known with their sharers' follower
  counts, a SEISMIC-style estimate (Zhao et al., KDD 2015): a share by someone with ``n``
  followers exposes ``n`` people, who reshare after a delay drawn from a power-law memory kernel
  (:func:`memory_cdf`). The infectiousness ``p`` (shares per follower exposed so far) is
  estimated from the shares seen against the exposures that have had time to act; the final
  size adds the exposures still to act, times ``p``, times the offspring they will have in
  turn (a branching ratio ``p · n*`` below 1 sums to ``1 / (1 - p · n*)``).
* :func:`forecast_log_linear` — engagement counts only: the log-linear early-popularity model
  (Szabo & Huberman 2010): ``log final = log count(t) + β(t)``, with ``β`` the source's typical
  growth from age ``t`` to the horizon, corrected by how much faster than typical the curve
  grows now.

**Small counts shrink toward the prior** instead of extrapolating a handful of likes: ``p`` is
a Gamma–Poisson posterior mean (``strength`` pseudo-shares of the source's typical
infectiousness), and the log-linear growth correction is weighted by ``count / (count + k)``.

Every transform is monotone and none saturates: a bigger curve (more shares, more followers,
faster growth) never forecasts less, and two large cascades never tie because of a cap.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# SEISMIC's memory kernel fitted on Twitter (Zhao et al. 2015, the seismic R package defaults):
# constant for the first 5 minutes, then a power law with exponent -(1 + theta).
KERNEL_THETA = 0.2314843
KERNEL_S0_H = 300 / 3600

# A branching ratio this close to 1 is where 1/(1 - x) stops being a useful number: beyond it
# the multiplier keeps growing linearly (same slope) instead of exploding, so supercritical
# cascades still rank by how far over they are.
_CRITICAL_KNEE = 0.9

# Log-linear: the growth correction is an exponent difference; squashed (never cut) to this.
_MAX_EXCESS_UP = 2.0
_MAX_EXCESS_DOWN = 0.5
# ... and extrapolated over at most this many e-folds of age (a post seconds old is not
# extrapolated to 48 h at its first-second rate).
_MAX_LOG_SPAN = math.log(1000)


@dataclass(frozen=True, slots=True)
class Share:
    """One share of the cascade (the original post is the first): its age in hours after the
    original, and the sharer's follower count."""

    age_h: float
    followers: int


@dataclass(frozen=True, slots=True)
class CascadePrior:
    """What a typical cascade of this source looks like, fitted on past cascades (never on the
    one being forecast): the shares per follower exposed, how many pseudo-shares of evidence
    that belief is worth, and a future sharer's typical follower count. The defaults are an
    order of magnitude for a public microblog (branching ratio 0.3), not fitted on any data:
    ``earful eval-risk`` fits its own on a separate seed."""

    infectiousness: float = 0.002
    strength: float = 5.0
    sharer_followers: float = 150.0
    kernel_theta: float = KERNEL_THETA
    kernel_s0_h: float = KERNEL_S0_H


DEFAULT_PRIOR = CascadePrior()


@dataclass(frozen=True, slots=True)
class Forecast:
    """A forecast final size (in the unit of the count it was given), how it was made, and how
    much of it is the cascade's own evidence (``weight`` 0: all prior, 1: all evidence)."""

    final: float
    method: str  # "self-exciting" or "log-linear"
    weight: float
    exponent: float | None = None
    infectiousness: float | None = None
    branching: float | None = None
    # Self-exciting: followers of the sharers so far who have yet to react (kernel-weighted).
    audience_to_come: float | None = None

    @property
    def supercritical(self) -> bool:
        return self.branching is not None and self.branching >= 1.0


def memory_cdf(age_h: float, theta: float = KERNEL_THETA, s0_h: float = KERNEL_S0_H) -> float:
    """Share of a share's eventual reshares that happen within ``age_h`` hours of it: the
    integral of SEISMIC's kernel (constant up to ``s0_h``, then power law ``t^-(1+theta)``)."""
    if age_h <= 0:
        return 0.0
    head = theta / (1 + theta)  # mass of the constant part
    if age_h <= s0_h:
        return head * age_h / s0_h
    return 1.0 - math.pow(age_h / s0_h, -theta) / (1 + theta)


def offspring_multiplier(branching: float) -> float:
    """Expected size of all generations per direct reshare, ``1 / (1 - b)`` for ``b`` below
    the knee, then continued on its tangent: smooth, increasing, never infinite."""
    b = max(branching, 0.0)
    if b <= _CRITICAL_KNEE:
        return 1.0 / (1.0 - b)
    slope = 1.0 / (1.0 - _CRITICAL_KNEE) ** 2
    return 1.0 / (1.0 - _CRITICAL_KNEE) + slope * (b - _CRITICAL_KNEE)


def forecast_self_exciting(
    shares: Sequence[Share], now_h: float, prior: CascadePrior = DEFAULT_PRIOR
) -> Forecast:
    """Final number of shares (the original included) of a cascade seen up to ``now_h``.

    ``shares`` after ``now_h`` are ignored. ``p = (R + a) / (X + a / p0)``: ``R`` reshares seen,
    ``X`` follower exposures weighted by how much of their reaction time has passed, ``a`` the
    prior's strength and ``p0`` its infectiousness — with few exposures ``p`` stays near the
    source's typical value. Final = seen + ``p`` × exposures still to act × the offspring
    multiplier of branching ``p · n*``.
    """
    seen = [s for s in shares if s.age_h <= now_h]
    if not seen:
        return Forecast(final=0.0, method="self-exciting", weight=0.0)
    theta, s0 = prior.kernel_theta, prior.kernel_s0_h
    reshares = len(seen) - 1  # the original post is nobody's reshare
    acted = 0.0
    pending = 0.0
    for s in seen:
        n = max(s.followers, 0)
        done = memory_cdf(now_h - s.age_h, theta, s0)
        acted += n * done
        pending += n * (1.0 - done)
    a = prior.strength
    p = (reshares + a) / (acted + a / max(prior.infectiousness, 1e-12))
    branching = p * prior.sharer_followers
    final = len(seen) + p * pending * offspring_multiplier(branching)
    weight = reshares / (reshares + a)
    logger.debug("self-exciting: %d shares, p=%.5f, branching %.2f", len(seen), p, branching)
    return Forecast(
        final=final,
        method="self-exciting",
        weight=weight,
        infectiousness=p,
        branching=branching,
        audience_to_come=pending,
    )


def _squash(x: float, up: float, down: float) -> float:
    """Smooth, strictly increasing, bounded by ``-down`` and ``up`` (tanh on each side)."""
    return up * math.tanh(x / up) if x >= 0 else down * math.tanh(x / down)


def fit_exponent(curve: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(count) on log(age) over the points with a positive count."""
    xs = [(math.log(a), math.log(c)) for a, c in curve if a > 0 and c > 0]
    if len(xs) < 2:
        return None
    mx = sum(x for x, _ in xs) / len(xs)
    my = sum(y for _, y in xs) / len(xs)
    sxx = sum((x - mx) ** 2 for x, _ in xs)
    if sxx <= 1e-9:
        return None
    return sum((x - mx) * (y - my) for x, y in xs) / sxx


def forecast_log_linear(
    curve: Sequence[tuple[float, float]],
    horizon_h: float,
    typical_total: Callable[[float], float],
    *,
    evidence: float,
) -> Forecast:
    """Count at ``horizon_h`` of a curve of (age in hours, cumulative count) points.

    ``typical_total(age)`` is the source's typical cumulative count at an age (the prior's
    curve). The typical post's growth from now to the horizon, ``β = log T(H) - log T(t)``, is
    applied to the latest count; the curve's own power-law growth exponent (fitted on its
    points, extrapolated as Szabo–Huberman do) moves it only as far as its size allows: by
    ``count / (count + evidence)`` of its difference from the typical growth's exponent
    ``β / log(H/t)``. Nine likes therefore forecast about what a typical post with nine likes
    reaches; a large curve keeps most of its own growth.
    """
    points = [(a, c) for a, c in curve if a > 0]
    if not points or points[-1][1] <= 0:
        return Forecast(final=0.0, method="log-linear", weight=0.0)
    age, count = points[-1]
    horizon = max(horizon_h, age)
    t_now = max(typical_total(age), 1e-12)
    t_end = max(typical_total(horizon), t_now)
    typical_growth = math.log(t_end / t_now)
    span = math.log(horizon / age)
    typical_exponent = typical_growth / span if span > 1e-9 else 0.0
    fitted = fit_exponent(points)
    weight = count / (count + max(evidence, 1e-9))
    log_final = math.log(count) + typical_growth
    if fitted is not None and span > 1e-9:
        excess = _squash(fitted - typical_exponent, _MAX_EXCESS_UP, _MAX_EXCESS_DOWN)
        log_final += weight * excess * min(span, _MAX_LOG_SPAN)
    # The exponent the forecast amounts to from now to the horizon (for the reason's words).
    exponent = (log_final - math.log(count)) / span if span > 1e-9 else typical_exponent
    return Forecast(
        final=math.exp(log_final), method="log-linear", weight=weight, exponent=exponent
    )
