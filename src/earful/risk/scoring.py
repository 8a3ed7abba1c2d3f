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
* **forecast** — the cascade's final size forecast from its early curve
  (:mod:`earful.risk.forecast`): self-exciting (SEISMIC) when the shares and their sharers'
  followers are known, else log-linear early popularity (Szabo & Huberman 2010) from the
  snapshots, to ``forecast_horizon_h``; both shrink toward the source's typical curve at small
  counts. "Supercritical" when every window grew faster than the one before, or the estimated
  branching ratio is above 1 (each wave of sharing begets a bigger one). With the shares known,
  velocity is the pace still to come (forecast shares per hour to the horizon) and reach the
  followers of all sharers yet to react: the author's followers are inside the forecast.
* **severity** — documented lexicon of terms (safety, injury, discrimination, fraud, legal,
  boycott, defect).
* **spread** — distinct sources and posts in the mention's incident.

No factor saturates: velocity, acceleration, reach, forecast and the spread in posts grow
linearly in their log-ratio up to the weight's nominal point (``*_full`` settings), then keep
growing as ``1 + ln`` of it — compressed, never capped — so the order of big cascades is kept.

The factors add up to a raw score; **negativity gates it**: the raw score is multiplied by a gate
between 0 (not negative) and 1 (clearly negative), so a viral compliment scores 0 however fast it
spreads. Above ``SOFT_TOP_KNEE`` (past every default level threshold) the total is compressed
smoothly toward 100 instead of cut at it. Contributions are scaled with the gate (and the
compression) so they always add up to the score shown.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import ahocorasick

from earful.config.risk import RiskConfig
from earful.mention import Reading
from earful.risk.forecast import (
    DEFAULT_PRIOR,
    CascadePrior,
    Forecast,
    Share,
    forecast_log_linear,
    forecast_self_exciting,
)

logger = logging.getLogger(__name__)

METRICS = ("views", "likes", "shares", "comments", "posts")

# Totals up to here are the score as they are (every default level threshold is below it);
# above, they approach 100 smoothly, so two very risky stories still rank.
SOFT_TOP_KNEE = 90.0


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
    # The shares with their sharers' followers, when known (the original post first): the
    # forecast is then self-exciting, against ``prior`` (default: ``forecast.DEFAULT_PRIOR``).
    shares: Sequence[Share] = ()
    prior: CascadePrior | None = None


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


def _soft(x: float) -> float:
    """0 below 0, ``x`` up to 1, then ``1 + ln x``: smooth at 1, increasing, unbounded."""
    return 0.0 if x <= 0 else x if x <= 1 else 1.0 + math.log(x)


def soft_top(total: float, knee: float = SOFT_TOP_KNEE) -> float:
    """``total`` up to ``knee``, then ``100 - (100 - knee)·exp(-(total - knee)/(100 - knee))``:
    continuous with slope 1 at the knee, increasing, below 100."""
    if total <= knee:
        return total
    room = 100.0 - knee
    return 100.0 - room * math.exp(-(total - knee) / room)


def _term_regex(term: str) -> str:
    wild = term.endswith("*")
    core = re.escape(term.rstrip("*")).replace(r"\ ", r"\s+")
    return r"\b" + core + (r"\w*" if wild else r"\b")


@dataclass(frozen=True, eq=False)  # hashed by identity: compiled once per lexicon
class _Lexicon:
    """Severity categories compiled: one regex per category, and an Aho–Corasick automaton of
    each term's first word (case-folded) that says which categories a text can match at all —
    most texts match none, and one automaton pass costs far less than a regex per category."""

    categories: tuple[tuple[str, float, re.Pattern[str]], ...]
    automaton: Any

    def __iter__(self) -> Iterator[tuple[str, float, re.Pattern[str]]]:
        return iter(self.categories)

    def candidates(self, text: str) -> set[int]:
        return {i for _, ids in self.automaton.iter(text.casefold()) for i in ids}


@lru_cache(maxsize=64)
def _compile_lexicon(items: tuple[tuple[str, float, tuple[str, ...]], ...]) -> _Lexicon:
    categories = []
    needles: dict[str, set[int]] = {}
    for i, (name, weight, terms) in enumerate(items):
        pattern = "|".join(_term_regex(t) for t in sorted(terms, key=len, reverse=True))
        categories.append((name, weight, re.compile(pattern, re.IGNORECASE)))
        for term in terms:
            words = term.rstrip("*").casefold().split()
            if words:
                needles.setdefault(words[0], set()).add(i)
    automaton = ahocorasick.Automaton()
    for needle, ids in needles.items():
        automaton.add_word(needle, tuple(sorted(ids)))
    if needles:
        automaton.make_automaton()
    return _Lexicon(tuple(categories), automaton if needles else None)


# id(config.severity) -> (that object, its compiled lexicon): building the lexicon's key costs
# more than scanning a text, and every assessment asks. The object is kept, so its id stays
# its own while cached; a changed config (``model_copy``) brings a new object.
_LEXICONS: dict[int, tuple[object, _Lexicon]] = {}


def compiled_lexicon(config: RiskConfig) -> _Lexicon:
    severity = config.severity
    known = _LEXICONS.get(id(severity))
    if known is not None and known[0] is severity:
        return known[1]
    lex = config.severity_lexicon()
    compiled = _compile_lexicon(tuple((k, w, tuple(t)) for k, (w, t) in sorted(lex.items())))
    if len(_LEXICONS) >= 64:
        _LEXICONS.clear()
    _LEXICONS[id(severity)] = (severity, compiled)
    return compiled


def find_severity(text: str, config: RiskConfig) -> list[tuple[str, float, list[str]]]:
    """Severity categories found in ``text``: (category, weight, matched words as written)."""
    return [(n, w, list(h)) for n, w, h in _find_severity(text, compiled_lexicon(config))]


@lru_cache(maxsize=4096)
def _find_severity(text: str, lexicon: _Lexicon) -> list[tuple[str, float, list[str]]]:
    # Cached: an incident's text (its first posts) is scanned again at every event.
    found = []
    possible = lexicon.candidates(text) if lexicon.automaton is not None else set()
    for i, (name, weight, pattern) in enumerate(lexicon.categories):
        if i not in possible:
            continue
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


# How many windows' worth of signal a curve needs before its own growth counts as much as the
# source's typical growth: an early curve of a few dozen likes grows ×8 in an hour as often as
# not and then stops (quiet_day's popular complaint: 25 likes at 1.4 h extrapolated to ~2k
# by 48 h, against ~100 observed), while real spread is hundreds to thousands of points.
_FORECAST_EVIDENCE = 4


def typical_rate(config: RiskConfig, source: str, age_h: float) -> float:
    """Engagement points per hour of a typical post of this source at this age."""
    decay: float = 0.5 ** (max(age_h, 0.0) / config.baseline_half_life_h)
    return config.baseline_for(source) * decay


def typical_total(config: RiskConfig, source: str, horizon_h: float) -> float:
    """A typical post's points after ``horizon_h`` (the integral of :func:`typical_rate`)."""
    k = math.log(2) / config.baseline_half_life_h
    return config.baseline_for(source) * (1 - math.exp(-k * horizon_h)) / k


def forecast_curve(
    inp: RiskInput,
    curve: list[tuple[float, float, Reading | None]],
    age_now: float,
    config: RiskConfig,
) -> Forecast | None:
    """The forecast final engagement points of the curve (see :mod:`earful.risk.forecast`), or
    None before any engagement."""
    last_age, last_points = curve[-1][0], curve[-1][1]
    if last_age <= 0 or last_points <= 0:
        return None
    base_key = inp.baseline_key or inp.source
    horizon = max(config.forecast_horizon_h, last_age)
    if inp.shares:
        fc = forecast_self_exciting(inp.shares, age_now, inp.prior or DEFAULT_PRIOR)
        seen = sum(1 for s in inp.shares if s.age_h <= age_now)
        if fc.final > 0 and seen:
            # In engagement points: the curve scaled by the forecast growth of its shares.
            scale = max(fc.final / seen, 1.0)
            return Forecast(
                final=last_points * scale,
                method=fc.method,
                weight=fc.weight,
                infectiousness=fc.infectiousness,
                branching=fc.branching,
                audience_to_come=fc.audience_to_come,
            )
    return forecast_log_linear(
        [(a, p) for a, p, _ in curve],
        horizon,
        lambda t: typical_total(config, base_key, t),
        evidence=config.min_signal_points * _FORECAST_EVIDENCE,
    )


# The shortest stretch to the forecast horizon over which a pace still to come is read.
_MIN_PACE_SPAN_H = 1.0


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
    if gate <= 0:
        # Not negative: nothing else can lift the risk above 0, so nothing else is computed
        # (most mentions end here: they cost their sentiment and severity scan only).
        held = [Reason(r.factor, 0.0, r.detail) for r in raw]
        held.append(Reason("gate", 0.0, f"not negative ({neg_detail}): risk held at 0"))
        return RiskAssessment(
            risk=0.0,
            reasons=held,
            negativity=round(negativity, 3),
            gate=0.0,
            severity_terms=terms,
        )

    curve = _curve(inp, config)
    fc = forecast_curve(inp, curve, age_now, config)
    self_exciting = fc is not None and fc.method == "self-exciting"
    velocity_ratio = 0.0
    if len(curve) >= 2:
        (a0, p0, s0), (a1, p1, s1) = curve[-2], curve[-1]
        dt = max(a1 - a0, 1e-6)
        typical_name = f"a typical {base_key}{'' if inp.baseline_key else ' post'}"
        horizon = max(config.forecast_horizon_h, a1)
        if self_exciting and fc is not None and horizon - a1 >= _MIN_PACE_SPAN_H:
            # The shares already carry the latest rate and the audience it reached: the pace
            # that matters is the one still to come (forecast shares per hour to the horizon,
            # against a typical post's over the same hours). A curve at or past the horizon
            # has no pace to come (0 / 0): its observed rate speaks instead, below.
            span = horizon - a1
            rate = max(fc.final - p1, 0.0) / span
            typical_span = typical_total(config, base_key, horizon) - typical_total(
                config, base_key, a1
            )
            floor = typical_rate(config, base_key, horizon)
            velocity_ratio = rate / max(typical_span / span, floor, 1e-6)
            pace = (
                f"on course for ×{velocity_ratio:.0f} {typical_name}'s pace "
                f"to {human_hours(horizon)}"
            )
        else:
            rate = max(p1 - p0, 0.0) / dt
            velocity_ratio = rate / max(typical_rate(config, base_key, a1), 1e-6)
            pace = f"×{velocity_ratio:.0f} {typical_name} at {human_hours(a1)}"
        signal = _clamp01(max(p1 - p0, 0.0) / config.min_signal_points)
        frac = signal * _soft(
            math.log10(max(velocity_ratio, 1.0)) / math.log10(config.velocity_full_ratio)
        )
        detail = f"{_growth_detail(s0, s1, dt) if s1 else 'no engagement'}; {pace}"
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
            frac = signal * _soft(math.log(ratio) / math.log(config.acceleration_full))
            detail = f"rate ×{ratio:.1f} on the previous window"
            if supercritical:
                detail += " (supercritical: each window faster than the last)"
            raw.append(Reason("acceleration", w.acceleration * frac, detail))

    followers = inp.author_followers
    for s in inp.snapshots:
        if s.author_followers is not None:
            followers = max(followers or 0, s.author_followers)
    audience = fc.audience_to_come if fc is not None else None
    if audience is not None:
        # The author is the first sharer: their followers, and every sharer's, are counted
        # once, as the audience that has yet to react (the author alone would count twice).
        if audience > config.reach_min:
            frac = _soft(
                math.log10(audience / config.reach_min)
                / math.log10(config.reach_full / config.reach_min)
            )
            detail = f"{human_count(audience)} followers of its sharers yet to react"
            raw.append(Reason("reach", w.reach * frac, detail))
    elif followers and followers > config.reach_min:
        frac = _soft(
            math.log10(followers / config.reach_min)
            / math.log10(config.reach_full / config.reach_min)
        )
        raw.append(Reason("reach", w.reach * frac, f"author {human_count(followers)} followers"))

    forecast = 0.0
    if fc is not None and fc.final > 0:
        last_age, last_points = curve[-1][0], curve[-1][1]
        horizon = max(config.forecast_horizon_h, last_age)
        forecast = fc.final
        typical = max(typical_total(config, base_key, horizon), 1e-6)
        ratio = forecast / typical
        # A handful of likes says little yet (the forecast itself already leans on the prior).
        fitted = sum(1 for a, p, _ in curve if a > 0 and p > 0)
        if fc.method == "self-exciting":
            fitted = 3  # every share and its reach is evidence, not just the snapshots
        confidence = min(1.0, (fitted + 1) / 3) * _clamp01(last_points / config.min_signal_points)
        frac = confidence * _soft(
            math.log10(max(ratio, 1.0)) / math.log10(config.forecast_full_ratio)
        )
        metric = _dominant_metric(None, curve[-1][2]) if curve[-1][2] else None
        scale = forecast / last_points
        what = (
            f"~{human_count((curve[-1][2].get(metric) or 0) * scale)} {metric}"
            if metric and curve[-1][2]
            else f"~{human_count(forecast)} engagement points"
        )
        if fc.method == "self-exciting":
            detail = (
                f"on course for {what} in all (self-exciting: branching ratio "
                f"{fc.branching or 0:.2f}, from {len(inp.shares)} shares and their followers)"
            )
        else:
            detail = (
                f"on course for {what} by {human_hours(horizon)} "
                f"(growth exponent {fc.exponent or 0:.1f})"
            )
        supercritical = supercritical or fc.supercritical
        raw.append(Reason("forecast", w.forecast * frac, detail))

    sources = sorted(set(inp.spread_sources) | {inp.source})
    if len(sources) > 1 or inp.spread_mentions > 1:
        frac = _clamp01((len(sources) - 1) / (config.spread_full_sources - 1))
        frac = max(frac, _soft(math.log10(max(inp.spread_mentions, 1)) / 2) * 0.5)
        detail = f"{inp.spread_mentions} posts on {len(sources)} sources ({', '.join(sources[:5])})"
        raw.append(Reason("spread", w.spread * frac, detail))

    total = sum(r.contribution for r in raw) * gate
    shown = soft_top(total)
    scale = gate * (shown / total if total > 0 else 1.0)
    risk = round(shown, 1)
    reasons = [Reason(r.factor, round(r.contribution * scale, 1), r.detail) for r in raw]
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
