"""Explainable viral risk: a 0–100 score per mention (or incident), every factor's share kept.

Contract: :func:`assess` is pure — a :class:`RiskInput` (the mention's text, sentiment, reach and
its engagement snapshots), ``now`` and a :class:`RiskConfig` in, a :class:`RiskAssessment` out.
No clock, no DB.

How the score is built (all numbers configurable in ``risk:``):

* **negativity** — Earful's adjusted compound; a severity term lifts it when VADER is fooled
  ("United Breaks Guitars" is +0.42 for stock VADER).
* **velocity** — engagement points per hour over the latest window, against a typical post of
  the same source *at the same age* (a typical post's rate halves every ``baseline_half_life_h``).
* **acceleration** — latest rate against the previous one (>1 = still speeding up).
* **reach** — the author's followers, on a log scale.
* **forecast** — a log-linear early-popularity predictor (Szabo & Huberman 2010): the curve's
  power-law growth exponent, fitted on the snapshots, extrapolated to ``forecast_horizon_h``;
  "supercritical" when every window grew faster than the one before (a branching ratio above 1,
  as in a self-exciting Hawkes process: each wave of sharing begets a bigger one).
* **severity** — documented lexicon of terms (safety, injury, discrimination, fraud, legal,
  boycott, defect).
* **spread** — distinct sources and posts in the mention's incident.

The factors add up to a raw score; **negativity gates it**: the raw score is multiplied by a gate
between 0 (not negative) and 1 (clearly negative), so a viral compliment scores 0 however fast it
spreads. Contributions are scaled with the gate (and the cap at 100) so they always add up to the
score shown.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from earful.config.risk import RiskConfig
from earful.mention import Reading

logger = logging.getLogger(__name__)

METRICS = ("views", "likes", "shares", "comments", "posts")


@dataclass(frozen=True, slots=True)
class RiskInput:
    source: str
    text: str
    compound: float
    published_at: datetime
    title: str | None = None
    author_followers: int | None = None
    snapshots: Sequence[Reading] = ()
    spread_sources: Sequence[str] = ()
    spread_mentions: int = 1
    # Which baseline velocity is judged against (default: ``source``); incidents use "incident".
    baseline_key: str | None = None


@dataclass(frozen=True, slots=True)
class Reason:
    factor: str
    contribution: float
    detail: str

    def to_dict(self) -> dict[str, object]:
        return {"factor": self.factor, "contribution": self.contribution, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    risk: float
    reasons: list[Reason]
    negativity: float
    gate: float
    velocity_ratio: float = 0.0
    forecast: float = 0.0
    supercritical: bool = False
    severity_terms: list[str] = field(default_factory=list)


# -- helpers -----------------------------------------------------------------------------------


def human_count(n: float) -> str:
    """1234 -> '1.2k', 1_300_000 -> '1.3M'."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M".replace(".0M", "M")
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    if n >= 1000:
        return f"{n / 1000:.1f}k".replace(".0k", "k")
    return f"{n:.0f}"


def human_hours(h: float) -> str:
    if h < 1:
        return f"{max(1, round(h * 60))} min"
    if h <= 72:
        return f"{h:.0f} h" if h >= 10 else f"{h:.1f} h".replace(".0 h", " h")
    return f"{h / 24:.1f} d"


def _clamp01(x: float) -> float:
    return 0.0 if x <= 0 else 1.0 if x >= 1 else x


def _term_regex(term: str) -> str:
    wild = term.endswith("*")
    core = re.escape(term.rstrip("*")).replace(r"\ ", r"\s+")
    return r"\b" + core + (r"\w*" if wild else r"\b")


@lru_cache(maxsize=64)
def _compile_lexicon(
    items: tuple[tuple[str, float, tuple[str, ...]], ...],
) -> list[tuple[str, float, re.Pattern[str]]]:
    out = []
    for name, weight, terms in items:
        pattern = "|".join(_term_regex(t) for t in sorted(terms, key=len, reverse=True))
        out.append((name, weight, re.compile(pattern, re.IGNORECASE)))
    return out


def compiled_lexicon(config: RiskConfig) -> list[tuple[str, float, re.Pattern[str]]]:
    lex = config.severity_lexicon()
    return _compile_lexicon(tuple((k, w, tuple(t)) for k, (w, t) in sorted(lex.items())))


def find_severity(text: str, config: RiskConfig) -> list[tuple[str, float, list[str]]]:
    """Severity categories found in ``text``: (category, weight, matched words as written)."""
    return [(n, w, list(h)) for n, w, h in _find_severity(text, tuple(compiled_lexicon(config)))]


@lru_cache(maxsize=4096)
def _find_severity(
    text: str, lexicon: tuple[tuple[str, float, re.Pattern[str]], ...]
) -> list[tuple[str, float, list[str]]]:
    # Cached: an incident's text (its first posts) is scanned again at every event.
    found = []
    for name, weight, pattern in lexicon:
        hits = [m.group(0) for m in pattern.finditer(text)]
        if hits:
            found.append((name, weight, list(dict.fromkeys(h.lower() for h in hits))))
    return found


def severity_spans(text: str, config: RiskConfig) -> list[tuple[int, int]]:
    """Character spans of severity terms in ``text`` (for marking them in notifications)."""
    spans = [m.span() for _, _, p in compiled_lexicon(config) for m in p.finditer(text)]
    return sorted(set(spans))


def engagement_points(snap: Reading, config: RiskConfig) -> float:
    w = config.engagement_weights
    return sum(w.get(m, 0.0) * (snap.get(m) or 0) for m in METRICS)


def _dominant_metric(a: Reading | None, b: Reading) -> str | None:
    """The metric with the biggest count that grew (views usually), for the human detail."""
    best: tuple[int, str] | None = None
    for m in METRICS:
        now_v = b.get(m)
        if now_v is None:
            continue
        before = a.get(m) if a is not None else 0
        if before is not None and now_v > before and (best is None or now_v > best[0]):
            best = (now_v, m)
    return best[1] if best else None


def _growth_detail(a: Reading | None, b: Reading, hours: float) -> str:
    metric = _dominant_metric(a, b)
    if metric is None:
        return f"no growth in {human_hours(hours)}"
    now_v = b.get(metric) or 0
    before = (a.get(metric) or 0) if a is not None else 0
    if before > 0 and now_v >= 2 * before:
        return f"{metric} ×{now_v / before:.0f} in {human_hours(hours)} ({human_count(now_v)})"
    if before > 0:
        gained = human_count(now_v - before)
        return f"+{gained} {metric} in {human_hours(hours)} ({human_count(now_v)})"
    return f"{metric} 0 → {human_count(now_v)} in {human_hours(hours)}"


# -- the score ---------------------------------------------------------------------------------


def _curve(inp: RiskInput, config: RiskConfig) -> list[tuple[float, float, Reading | None]]:
    """(age in hours, engagement points, snapshot) from publication (0 points) on."""
    pub = inp.published_at
    points: list[tuple[float, float, Reading | None]] = [(0.0, 0.0, None)]
    for s in sorted(inp.snapshots, key=lambda s: s.at):
        age = (s.at - pub).total_seconds() / 3600
        if age <= points[-1][0]:
            # A snapshot at publication time (or clock skew): keep the larger count at that age.
            if age >= 0:
                points[-1] = (points[-1][0], engagement_points(s, config), s)
            continue
        points.append((age, engagement_points(s, config), s))
    return _thin(points, config.min_window_h)


def _thin(
    points: list[tuple[float, float, Reading | None]], gap: float
) -> list[tuple[float, float, Reading | None]]:
    """Keep the latest point, then walk back keeping points at least ``gap`` hours apart: a
    rate over two snapshots a minute apart is noise (incidents merge many posts' curves)."""
    kept = [points[-1]]
    for point in reversed(points[:-1]):
        if kept[-1][0] - point[0] >= gap:
            kept.append(point)
    if kept[-1][0] > 0:
        kept.append(points[0])
    return list(reversed(kept))


def typical_rate(config: RiskConfig, source: str, age_h: float) -> float:
    """Engagement points per hour of a typical post of this source at this age."""
    decay: float = 0.5 ** (max(age_h, 0.0) / config.baseline_half_life_h)
    return config.baseline_for(source) * decay


def typical_total(config: RiskConfig, source: str, horizon_h: float) -> float:
    """A typical post's points after ``horizon_h`` (the integral of :func:`typical_rate`)."""
    k = math.log(2) / config.baseline_half_life_h
    return config.baseline_for(source) * (1 - math.exp(-k * horizon_h)) / k


def _fit_exponent(curve: list[tuple[float, float, Reading | None]]) -> float | None:
    """Least-squares slope of log(points) on log(age) over the snapshots with engagement."""
    xs = [(math.log(a), math.log(p)) for a, p, _ in curve if a > 0 and p > 0]
    if len(xs) < 2:
        return None
    mx = sum(x for x, _ in xs) / len(xs)
    my = sum(y for _, y in xs) / len(xs)
    sxx = sum((x - mx) ** 2 for x, _ in xs)
    if sxx <= 1e-9:
        return None
    return sum((x - mx) * (y - my) for x, y in xs) / sxx


def assess(inp: RiskInput, now: datetime, config: RiskConfig) -> RiskAssessment:
    """Score one mention (or one incident's aggregate) at ``now``; see the module docstring."""
    w = config.weights
    raw: list[Reason] = []
    age_now = max((now - inp.published_at).total_seconds() / 3600, 0.0)

    # Severity first: it can lift the negativity of texts VADER misreads.
    base_key = inp.baseline_key or inp.source
    full_text = f"{inp.title or ''}\n{inp.text}"
    sev = find_severity(full_text, config)
    terms = [t for _, _, ts in sev for t in ts]
    if sev:
        weights = sorted((wt for _, wt, _ in sev), reverse=True)
        # The worst category counts fully, each further one adds half its weight.
        sev_points = min(w.severity_cap, w.severity * (weights[0] + 0.5 * sum(weights[1:])))
        cats = ", ".join(f"{name}: " + "/".join(f"'{t}'" for t in ts[:3]) for name, _, ts in sev)
        raw.append(Reason("severity", sev_points, cats))

    negativity = max(0.0, -inp.compound)
    neg_detail = f"sentiment {inp.compound:+.2f}"
    lift = sev and inp.compound < config.severity_positive_ceiling
    if lift and negativity < config.severity_negativity_floor:
        negativity = config.severity_negativity_floor
        neg_detail = f"complaint terms despite sentiment {inp.compound:+.2f}"
    raw.append(Reason("negativity", w.negativity * negativity, neg_detail))
    span = max(config.negativity_full - config.negativity_gate, 1e-9)
    gate = _clamp01((negativity - config.negativity_gate) / span)

    curve = _curve(inp, config)
    velocity_ratio = 0.0
    if len(curve) >= 2:
        (a0, p0, s0), (a1, p1, s1) = curve[-2], curve[-1]
        dt = max(a1 - a0, 1e-6)
        rate = max(p1 - p0, 0.0) / dt
        typical = max(typical_rate(config, base_key, a1), 1e-6)
        velocity_ratio = rate / typical
        signal = _clamp01(max(p1 - p0, 0.0) / config.min_signal_points)
        frac = signal * _clamp01(
            math.log10(max(velocity_ratio, 1.0)) / math.log10(config.velocity_full_ratio)
        )
        detail = (
            f"{_growth_detail(s0, s1, dt) if s1 else 'no engagement'}; "
            f"×{velocity_ratio:.0f} a typical {base_key} {'' if inp.baseline_key else 'post '}"
            f"at {human_hours(a1)}"
        )
        raw.append(Reason("velocity", w.velocity * frac, detail))

    supercritical = False
    if len(curve) >= 3:
        rates = [
            max(curve[i][1] - curve[i - 1][1], 0.0) / max(curve[i][0] - curve[i - 1][0], 1e-6)
            for i in range(1, len(curve))
        ]
        prev, last = rates[-2], rates[-1]
        if prev > 0 and last > prev:
            ratio = last / prev
            supercritical = len(rates) >= 3 and rates[-3] < prev < last
            gained = curve[-1][1] - curve[-2][1]
            signal = _clamp01(gained / config.min_signal_points)
            frac = signal * _clamp01(math.log(ratio) / math.log(config.acceleration_full))
            detail = f"rate ×{ratio:.1f} on the previous window"
            if supercritical:
                detail += " (supercritical: each window faster than the last)"
            raw.append(Reason("acceleration", w.acceleration * frac, detail))

    followers = inp.author_followers
    for s in inp.snapshots:
        if s.author_followers is not None:
            followers = max(followers or 0, s.author_followers)
    if followers and followers > config.reach_min:
        frac = _clamp01(
            math.log10(followers / config.reach_min)
            / math.log10(config.reach_full / config.reach_min)
        )
        raw.append(Reason("reach", w.reach * frac, f"author {human_count(followers)} followers"))

    forecast = 0.0
    alpha = _fit_exponent(curve)
    last_age, last_points = curve[-1][0], curve[-1][1]
    if alpha is not None and last_age > 0 and last_points > 0:
        alpha = min(max(alpha, 0.0), 3.0)
        horizon = max(config.forecast_horizon_h, last_age)
        forecast = last_points * (horizon / last_age) ** alpha
        typical = max(typical_total(config, base_key, horizon), 1e-6)
        ratio = forecast / typical
        # Confidence: a curve of two points and a handful of likes says little yet.
        fitted = sum(1 for a, p, _ in curve if a > 0 and p > 0)
        confidence = min(1.0, fitted / 3) * _clamp01(last_points / config.min_signal_points)
        frac = confidence * _clamp01(
            math.log10(max(ratio, 1.0)) / math.log10(config.forecast_full_ratio)
        )
        metric = _dominant_metric(None, curve[-1][2]) if curve[-1][2] else None
        scale = forecast / last_points
        what = (
            f"~{human_count((curve[-1][2].get(metric) or 0) * scale)} {metric}"
            if metric and curve[-1][2]
            else f"~{human_count(forecast)} engagement points"
        )
        detail = f"on course for {what} by {human_hours(horizon)} (growth exponent {alpha:.1f})"
        raw.append(Reason("forecast", w.forecast * frac, detail))

    sources = sorted(set(inp.spread_sources) | {inp.source})
    if len(sources) > 1 or inp.spread_mentions > 1:
        frac = _clamp01((len(sources) - 1) / (config.spread_full_sources - 1))
        frac = max(frac, _clamp01(math.log10(max(inp.spread_mentions, 1)) / 2) * 0.5)
        detail = f"{inp.spread_mentions} posts on {len(sources)} sources ({', '.join(sources[:5])})"
        raw.append(Reason("spread", w.spread * frac, detail))

    total = sum(r.contribution for r in raw) * gate
    scale = gate * (100.0 / total if total > 100 else 1.0)
    risk = round(min(total, 100.0), 1)
    reasons = [Reason(r.factor, round(r.contribution * scale, 1), r.detail) for r in raw]
    if gate <= 0:
        reasons.append(Reason("gate", 0.0, f"not negative ({neg_detail}): risk held at 0"))
    logger.debug("risk %.1f for %s post (age %.1f h)", risk, inp.source, age_now)
    return RiskAssessment(
        risk=risk,
        reasons=reasons,
        negativity=round(negativity, 3),
        gate=round(gate, 3),
        velocity_ratio=round(velocity_ratio, 1),
        forecast=round(forecast, 1),
        supercritical=supercritical,
        severity_terms=terms,
    )
