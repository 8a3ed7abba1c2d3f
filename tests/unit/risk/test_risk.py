"""Risk: explainable, gated by negativity, sums add up, lexicon configurable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from earful.config.risk import RiskConfig, SeverityCategory
from earful.mention import Reading
from earful.risk.scoring import RiskInput, assess, find_severity, human_count

PUB = datetime(2009, 7, 6, 18, tzinfo=UTC)
UBG_CURVE = [(1, 300, 10, 5, 4), (2, 1200, 40, 20, 12), (4, 4000, 130, 70, 45)]


def _snaps(curve: list[tuple[int, int, int, int, int]]) -> list[Reading]:
    return [
        Reading(at=PUB + timedelta(hours=h), views=v, likes=lk, comments=c, shares=s)
        for h, v, lk, c, s in curve
    ]


def _input(compound: float, text: str, **kw: object) -> RiskInput:
    return RiskInput(
        source="youtube",
        text=text,
        title=kw.pop("title", None),  # type: ignore[arg-type]
        compound=compound,
        published_at=PUB,
        snapshots=kw.pop("snapshots", _snaps(UBG_CURVE)),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_spreading_complaint_scores_high_and_explains_itself() -> None:
    inp = _input(0.0, "my guitar was thrown by baggage handlers", title="United Breaks Guitars")
    result = assess(inp, PUB + timedelta(hours=4), RiskConfig())
    assert result.risk >= 50
    factors = {r.factor: r for r in result.reasons}
    assert {"severity", "negativity", "velocity", "forecast"} <= set(factors)
    assert "'breaks'" in factors["severity"].detail
    assert "views ×3 in 2 h" in factors["velocity"].detail
    assert abs(sum(r.contribution for r in result.reasons) - result.risk) < 0.5


def test_viral_compliment_never_scores() -> None:
    inp = _input(
        0.93, "Thank you United, the crew was amazing and so kind", author_followers=900_000
    )
    result = assess(inp, PUB + timedelta(hours=4), RiskConfig())
    assert result.risk == 0
    assert result.gate == 0
    assert any(r.factor == "gate" and "not negative" in r.detail for r in result.reasons)


def test_quiet_complaint_scores_low() -> None:
    snaps = [Reading(at=PUB + timedelta(hours=2), likes=2, comments=1)]
    inp = RiskInput(
        source="mastodon",
        text="Flight delayed again, two hours at the gate. Not happy.",
        compound=-0.45,
        published_at=PUB,
        snapshots=snaps,
    )
    assert assess(inp, PUB + timedelta(hours=2), RiskConfig()).risk < 30


def test_score_is_capped_and_still_adds_up() -> None:
    big = [(h, 10 ** (3 + h), 10 ** (2 + h), 10 ** (1 + h), 10 ** (1 + h)) for h in range(1, 5)]
    inp = _input(
        -0.9,
        "unsafe, injured, racist, scam, lawsuit, boycott, broken",
        snapshots=_snaps(big),
        author_followers=5_000_000,
        spread_sources=["news", "twitter", "blog", "reddit"],
        spread_mentions=80,
    )
    result = assess(inp, PUB + timedelta(hours=4), RiskConfig())
    assert result.risk == 100
    assert abs(sum(r.contribution for r in result.reasons) - 100) < 0.6
    assert any(r.detail == "author 5M followers" for r in result.reasons)
    assert result.supercritical


def test_severity_lexicon_is_configurable() -> None:
    cfg = RiskConfig(severity={"defect": SeverityCategory(terms=["wobbly"], replace=True)})
    assert find_severity("the table broke", cfg) == []
    assert find_severity("a Wobbly table", cfg)[0][2] == ["wobbly"]
    wild = find_severity("we are boycotting them", RiskConfig())
    assert wild[0][0] == "boycott"


def test_brand_level_thresholds() -> None:
    cfg = RiskConfig.model_validate({"brands": {"Acme": {"levels": {1: 30}}}})
    assert cfg.level_for("acme", 35) == 1
    assert cfg.level_for("Other", 35) == 0
    assert cfg.level_for("Other", 90) == 3


def test_human_count() -> None:
    assert human_count(120_000) == "120k"
    assert human_count(1_300_000) == "1.3M"
    assert human_count(2_100) == "2.1k"


def test_a_self_exciting_incident_past_the_forecast_horizon_is_paced_by_what_it_does() -> None:
    """Six everyday questions over four days (a held-out replay): past the 48 h horizon there
    is no pace still to come, and 0 / 0 once read as "×28981242173096 a typical incident's
    pace" and opened an escalation for 3 new likes."""
    from earful.risk.forecast import Share

    t0 = datetime(2006, 6, 19, 2, 36, tzinfo=UTC)
    snaps = [
        Reading(at=t0 + timedelta(hours=h), likes=likes, shares=0, comments=0)
        for h, likes in ((0, 4), (90, 8), (94.8, 11))
    ]
    inp = RiskInput(
        source="twitter",
        text="Anyone know if the cable outage in Denver is fixed?",
        compound=-0.52,
        published_at=t0,
        author_followers=13_328,
        snapshots=snaps,
        spread_sources=["reviews", "twitter"],
        spread_mentions=6,
        baseline_key="incident",
        shares=[
            Share(age_h=h, followers=f)
            for h, f in ((0, 13_328), (20, 900), (41, 300), (60, 700), (77, 150), (90, 80))
        ],
    )
    result = assess(inp, t0 + timedelta(hours=95), RiskConfig())
    velocity = next(r for r in result.reasons if r.factor == "velocity")
    assert "pace to" not in velocity.detail  # the observed rate, not a pace to come
    assert result.velocity_ratio < 1_000
    assert result.risk < 50  # below level 1: nothing to page about
