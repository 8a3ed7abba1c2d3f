"""``risk:`` section (config/risk.yaml): weights, baselines, level thresholds, severity lexicon.

Every default is documented with its rationale in config/risk.yaml and the README; a brand can
override the level thresholds (``brands: {Acme: {levels: {1: 40}}}``).

Example::

    risk:
      levels: {1: 50, 2: 70, 3: 85}
      baselines: {youtube: 30, mastodon: 1.5}     # engagement points per hour of a typical post
      severity:
        defect: {weight: 10, terms: ["breaks", "broke", "damaged"]}   # extends the built-in list
        recall: {weight: 18, terms: ["recall*"]}                      # a new category
      brands:
        Acme: {levels: {1: 40}}
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Built-in severity lexicon: category -> (weight in points, terms). '*' at the end of a term
# matches any ending. Weights rank what a company cannot afford to hear late: harm to people
# and discrimination first, then fraud and legal threats, then calls to boycott and defects.
DEFAULT_SEVERITY: dict[str, tuple[float, list[str]]] = {
    "safety": (
        20.0,
        [
            "unsafe",
            "dangerous",
            "danger",
            "fire",
            "caught fire",
            "explod*",
            "smoke",
            "toxic",
            "emergency landing",
            "near miss",
            "crash*",
        ],
    ),
    "injury": (
        20.0,
        [
            "injur*",
            "hospital*",
            "hurt",
            "bleeding",
            "burned",
            "broke my arm",
            "broke my leg",
            "food poisoning",
            "died",
            "death",
        ],
    ),
    "discrimination": (
        20.0,
        [
            "racist",
            "racism",
            "discriminat*",
            "sexist",
            "sexism",
            "homophob*",
            "transphob*",
            "profiled",
            "profiling",
            "harass*",
        ],
    ),
    "fraud": (
        15.0,
        [
            "scam*",
            "fraud*",
            "stole",
            "stolen",
            "theft",
            "rip-off",
            "ripoff",
            "charged twice",
            "double charged",
            "never refunded",
        ],
    ),
    "legal": (
        15.0,
        [
            "lawsuit",
            "sue",
            "suing",
            "sued",
            "lawyer",
            "attorney",
            "class action",
            "legal action",
            "small claims",
        ],
    ),
    "boycott": (
        12.0,
        [
            "boycott*",
            "never fly",
            "never flying",
            "never again",
            "cancel my",
            "cancelling my",
            "switching to",
        ],
    ),
    "defect": (
        10.0,
        [
            "breaks",
            "broke",
            "broken",
            "damaged",
            "destroyed",
            "smashed",
            "defect*",
            "faulty",
            "shattered",
            "ruined",
        ],
    ),
}


class SeverityCategory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight: float | None = Field(
        None, ge=0, le=100, description="points when a term matches (default: built-in weight)"
    )
    terms: list[str] = Field(
        default_factory=list, description="phrases; '*' at the end of a word matches any ending"
    )
    replace: bool = Field(
        False, description="true: these terms replace the built-in list (empty list: off)"
    )


class RiskWeights(BaseModel):
    """The most points each factor can add before the negativity gate (sum may exceed 100:
    the score is capped, contributions scaled so they still add up to it)."""

    model_config = ConfigDict(extra="forbid")

    negativity: float = Field(15, ge=0, description="at compound -1")
    velocity: float = Field(25, ge=0, description="at velocity_full_ratio × the source baseline")
    acceleration: float = Field(10, ge=0, description="at acceleration_full × the previous rate")
    reach: float = Field(12, ge=0, description="at reach_full followers")
    forecast: float = Field(
        20, ge=0, description="at forecast_full_ratio × a typical post's 48 h total"
    )
    severity: float = Field(1.0, ge=0, description="multiplier of the lexicon's category weights")
    severity_cap: float = Field(25, ge=0, description="most points all severity terms can add")
    spread: float = Field(15, ge=0, description="at spread_full_sources distinct sources")


class RiskBrandConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    levels: dict[int, float] = Field(
        default_factory=dict, description="per-level risk thresholds overriding risk.levels"
    )


class SpikeConfig(BaseModel):
    """Brand-level negative spike detection (``risk.spikes``); see earful.risk.spikes."""

    model_config = ConfigDict(extra="forbid")

    weeks: int = Field(4, ge=1, description="weeks of history in the hour-of-week baseline")
    prior_weight: float = Field(
        2.0, ge=0, description="pseudo-weeks of the overall hourly mean mixed into each baseline"
    )
    min_rate: float = Field(0.2, gt=0, description="floor of the expected count per hour")
    alpha: float = Field(0.001, gt=0, lt=1, description="Poisson tail probability threshold")
    min_count: int = Field(5, ge=1, description="fewest negative posts in an hour to count")
    persistence_hours: int = Field(1, ge=1, description="consecutive unusual hours needed")
    cooldown_hours: float = Field(6, ge=0, description="quiet time after a spike is reported")
    min_history_days: float = Field(
        7, ge=0, description="no spike is called before this much history exists for the brand"
    )
    escalate: bool = Field(True, description="false: spikes are detected but never escalated")


class RiskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    levels: dict[int, float] = Field(
        default_factory=lambda: {1: 50.0, 2: 70.0, 3: 85.0},
        description="risk at or above which an escalation opens at / rises to each level",
    )
    brands: dict[str, RiskBrandConfig] = Field(
        default_factory=dict, description="per-brand overrides, keyed by brand name"
    )
    weights: RiskWeights = Field(
        default_factory=RiskWeights, description="the most points each factor can add"
    )
    negativity_gate: float = Field(
        0.05, ge=0, le=1, description="negativity (-compound) below which the score is 0"
    )
    negativity_full: float = Field(
        0.35, gt=0, le=1, description="negativity at which the gate is fully open"
    )
    severity_negativity_floor: float = Field(
        0.4,
        ge=0,
        le=1,
        description="a severity term lifts negativity to at least this when the compound is "
        "below severity_positive_ceiling (VADER reads 'United Breaks Guitars' as +0.42)",
    )
    severity_positive_ceiling: float = Field(
        0.5, ge=-1, le=1, description="compound above which severity terms do not lift negativity"
    )
    baselines: dict[str, float] = Field(
        default_factory=lambda: {
            "default": 2.0,
            "youtube": 5.0,
            "reddit": 5.0,
            "hackernews": 4.0,
            "mastodon": 1.0,
            "bluesky": 1.5,
            "twitter": 2.0,
            "lemmy": 0.5,
            "rss": 0.5,
            "news": 1.0,
            "blog": 0.5,
            # A story on several posts: a typical one gains a post or two a day.
            "incident": 10.0,
        },
        description="engagement points per hour of a typical fresh post, per source kind",
    )
    baseline_half_life_h: float = Field(
        12, gt=0, description="a typical post's rate halves every this many hours of age"
    )
    velocity_full_ratio: float = Field(200, gt=1, description="velocity/baseline for full points")
    min_signal_points: float = Field(
        25,
        gt=0,
        description="engagement points a window must gain before velocity, acceleration and "
        "forecast count fully (a blog going from 1 like to 4 is noise, not a trend)",
    )
    min_window_h: float = Field(
        0.5, gt=0, description="rates are measured over windows at least this long"
    )
    acceleration_full: float = Field(4, gt=1, description="rate ratio for full points")
    reach_min: int = Field(1000, ge=1, description="followers below which reach adds nothing")
    reach_full: int = Field(1_000_000, ge=2, description="followers for full reach points")
    forecast_horizon_h: float = Field(48, gt=0, description="the forecast looks this far ahead")
    forecast_full_ratio: float = Field(1000, gt=1, description="forecast/typical for full points")
    spread_full_sources: int = Field(4, ge=2, description="distinct sources for full spread")
    engagement_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "likes": 1.0,
            "shares": 3.0,
            "comments": 2.0,
            "views": 0.02,
            "posts": 5.0,
        },
        description="engagement points per like/share/comment/view, and per post of an "
        "incident (a share spreads the post; a post about the story spreads it further)",
    )
    severity: dict[str, SeverityCategory] = Field(
        default_factory=dict, description="severity lexicon overrides, keyed by category"
    )
    spikes: SpikeConfig = Field(
        default_factory=SpikeConfig, description="brand-level negative spike detection"
    )
    incident_window_h: float = Field(
        72, gt=0, description="mentions this close in time can join one incident"
    )
    phrase_window_h: float = Field(
        24, gt=0, description="posts linked only by a shared key phrase must be this close"
    )
    near_duplicate_jaccard: float = Field(
        0.5, gt=0, le=1, description="shingle similarity above which two texts are one story"
    )

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: dict[int, float]) -> dict[int, float]:
        if not value:
            raise ValueError("at least one level is needed")
        if any(level < 1 for level in value):
            raise ValueError("levels start at 1")
        return value

    def levels_for(self, brand: str) -> dict[int, float]:
        merged = dict(self.levels)
        for name, cfg in self.brands.items():
            if name.lower() == brand.lower():
                merged.update(cfg.levels)
        return dict(sorted(merged.items()))

    def level_for(self, brand: str, risk: float) -> int:
        """The highest level whose threshold ``risk`` reaches, or 0."""
        level = 0
        for lvl, threshold in self.levels_for(brand).items():
            if risk >= threshold:
                level = max(level, lvl)
        return level

    def severity_lexicon(self) -> dict[str, tuple[float, list[str]]]:
        """Built-in categories with this config's overrides and additions applied."""
        lexicon = {k: (w, list(t)) for k, (w, t) in DEFAULT_SEVERITY.items()}
        for name, cat in self.severity.items():
            weight, terms = lexicon.get(name, (10.0, []))
            terms = list(cat.terms) if cat.replace else terms + list(cat.terms)
            lexicon[name] = (cat.weight if cat.weight is not None else weight, terms)
        return {k: v for k, v in lexicon.items() if v[1]}

    def baseline_for(self, source: str) -> float:
        return self.baselines.get(source, self.baselines.get("default", 5.0))
