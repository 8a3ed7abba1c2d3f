"""Pipeline stages alone, then process_batch with the real matcher and analyzer on SQLite."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, delete, select

from earful import pipeline
from earful.clock import SimulatedClock
from earful.config.models import AppConfig, BrandConfig, SourceConfig
from earful.mention import RawMention
from earful.pipeline import (
    BatchReport,
    Dedupe,
    Item,
    MatchBrands,
    RecentKeys,
    ScoreSentiment,
    allowed_brands,
    build_context,
    mask_names,
    process_batch,
    register_after_batch,
    sanitize,
    stages_for,
)
from earful.store.models import Mention, MentionBrand
from earful.store.repository import BrandHit, ScoredMention, upsert_mentions

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def config(**source: object) -> AppConfig:
    return AppConfig(
        brands=[
            BrandConfig(
                name="Acme", queries=['"acme"'], aliases=["ACME Corp"], competitors=["Globex"]
            ),
            BrandConfig(name="Globex", queries=['"globex"'], track=False),
            BrandConfig(name="Initech", queries=['"initech"']),
        ],
        sources=[SourceConfig(name="feed", kind="rss", url="https://x.example/f", **source)],
    )


def raw(ext: str, text: str, *, url: str | None = None, title: str | None = None) -> RawMention:
    return RawMention(
        source="rss", external_id=ext, url=url or f"https://x.example/{ext}", text=text, title=title
    )


class FakeMatcher:
    def __init__(self, names: list[str]) -> None:
        self.names = names

    def match(self, doc: object) -> list[str]:
        return list(self.names)


def test_match_rejects_unmatched_and_marks_competitors() -> None:
    stage = MatchBrands(FakeMatcher(["Acme", "Globex"]), config(), make_doc=lambda r: r)
    rejected: Counter[str] = Counter()
    kept = stage.process([Item(raw("1", "x"))], rejected)
    assert [(b.brand, b.is_competitor) for b in kept[0].brands] == [
        ("Acme", False),
        ("Globex", True),
    ]
    nothing = MatchBrands(FakeMatcher([]), config(), make_doc=lambda r: r)
    assert nothing.process([Item(raw("2", "y"))], rejected) == []
    assert rejected == Counter(no_brand=1)


def test_source_brands_restrict_matches_but_keep_competitors() -> None:
    cfg = config()
    assert allowed_brands(cfg, ["acme"]) == {"acme", "globex"}
    stage = MatchBrands(FakeMatcher(["Initech"]), cfg, restrict=["Acme"], make_doc=lambda r: r)
    rejected: Counter[str] = Counter()
    assert stage.process([Item(raw("1", "x"))], rejected) == []
    assert rejected["no_brand"] == 1


def test_about_source_items_are_the_brands_even_without_its_name() -> None:
    stage = MatchBrands(FakeMatcher([]), config(), about="acme", make_doc=lambda r: r)
    rejected: Counter[str] = Counter()
    kept = stage.process([Item(raw("1", "the app crashes at login"))], rejected)
    assert [b.brand for b in kept[0].brands] == ["Acme"]
    also = MatchBrands(FakeMatcher(["Globex"]), config(), about="Acme", make_doc=lambda r: r)
    kept = also.process([Item(raw("2", "worse than globex"))], rejected)
    assert [(b.brand, b.is_competitor) for b in kept[0].brands] == [
        ("Acme", False),
        ("Globex", True),
    ]
    assert rejected == Counter()


def test_dedupe_by_id_and_canonical_url() -> None:
    batch = [
        Item(raw("1", "a", url="https://x.example/p?utm_source=z")),
        Item(raw("1", "a again")),
        Item(raw("2", "same page", url="https://X.example/p/#top")),
        Item(raw("3", "other")),
    ]
    rejected: Counter[str] = Counter()
    kept = Dedupe().process(batch, rejected)
    assert [i.raw.external_id for i in kept] == ["1", "3"]
    assert rejected == Counter(duplicate=2)


def test_dedupe_keeps_distinct_reviews_of_one_page() -> None:
    page = "https://shop.example/p/1"
    reviews = [
        RawMention(source="jsonld", external_id=f"{page}#review-{n}", url=page, text=f"r{n}")
        for n in (1, 2, 1)
    ]
    rejected: Counter[str] = Counter()
    kept = Dedupe().process([Item(r) for r in reviews], rejected)
    assert [i.raw.external_id for i in kept] == [f"{page}#review-1", f"{page}#review-2"]
    assert rejected == Counter(duplicate=1)


def test_sentiment_stage_masks_brand_names() -> None:
    seen: dict[str, object] = {}

    class Analyzer:
        def score(self, text: str, **kw: object) -> object:
            seen.update(kw, text=text)
            return "score"

    items = ScoreSentiment(Analyzer(), config()).process(  # type: ignore[arg-type]
        [Item(RawMention("rss", "1", None, "bad", title="T", rating=2.0))], Counter()
    )
    assert items[0].score == "score"
    assert seen["title"] == "T" and seen["rating"] == 2.0
    assert {"Acme", "ACME Corp", "Globex"} <= set(seen["names"])  # type: ignore[call-overload]


def test_sentiment_stage_scores_as_if_it_passed_the_names() -> None:
    # An analyzer built for the config's names (build_context) is not given them again per
    # call; the scores are those of an explicit call with the names.
    cfg = config()
    ctx = build_context(cfg, SimulatedClock(NOW))
    stage = ScoreSentiment(ctx.analyzer, cfg)
    assert stage.names == ()
    texts = ["ACME Corp is great, Globex is awful", "#acme love it", "acme broke it 😡"]
    items = stage.process([Item(raw(str(i), t)) for i, t in enumerate(texts)], Counter())
    names = mask_names(cfg.brands)
    for item, text in zip(items, texts, strict=True):
        assert item.score == ctx.analyzer.score(text, names=names)


def test_stages_are_rebuilt_when_the_context_changes() -> None:
    ctx = build_context(config(), SimulatedClock(NOW))
    first = stages_for(ctx, source_name="feed")
    assert stages_for(ctx, source_name="feed") is first
    ctx.matcher = FakeMatcher(["Acme"])
    again = stages_for(ctx, source_name="feed")
    assert again is not first and again[0].matcher is ctx.matcher  # type: ignore[attr-defined]


def test_sanitize_drops_items_without_id_and_cleans_nul() -> None:
    rejected: Counter[str] = Counter()
    kept = sanitize([raw("", "x"), raw("1", "a\x00b")], rejected)
    assert rejected == Counter(no_id=1) and kept[0].text == "a\ufffdb"


def test_process_batch_real_modules(sqlite_engine: Engine) -> None:
    ctx = build_context(config(), SimulatedClock(NOW))
    raws = [
        raw("1", "Acme lost my luggage, terrible and awful service!!!"),
        raw("2", "Globex is wonderful, I love it"),
        raw("3", "Nothing to see here"),
        raw("1", "duplicate of the first Acme post"),
        raw("4", "<script>alert(1)</script> Acme " + "x " * 500_000),
    ]
    with Session(sqlite_engine) as s, s.begin():
        report = process_batch(s, raws, ctx, source_name="feed")
    assert isinstance(report, BatchReport)
    assert len(report.new_ids) == 3 and report.updated_ids == []
    assert report.rejected == Counter(no_brand=1, duplicate=1)
    with Session(sqlite_engine) as s:
        rows = {m.external_id: m for m in s.exec(select(Mention)).all()}
        assert rows["1"].sentiment_label == "negative" and rows["1"].sentiment_compound < 0
        assert rows["2"].sentiment_label == "positive"
        assert rows["4"].text.startswith("<script>") and len(rows["4"].text) > 1_000_000
        assert all(m.source_name == "feed" for m in rows.values())
        links = {(b.brand, b.is_competitor) for b in s.exec(select(MentionBrand)).all()}
        assert links == {("Acme", False), ("Globex", True)}
    with Session(sqlite_engine) as s, s.begin():
        again = process_batch(s, raws, ctx, source_name="feed")
    assert again.new_ids == [] and sorted(again.updated_ids) == sorted(report.new_ids)


def test_after_batch_registry_is_copied_into_new_contexts() -> None:
    calls: list[int] = []

    def hook(engine: Engine, batch: BatchReport) -> None:
        calls.append(len(batch.new_ids))

    register_after_batch(hook)
    try:
        ctx = build_context(config(), SimulatedClock(NOW))
        assert hook in ctx.after_batch
    finally:
        from earful import pipeline

        pipeline._registered_hooks.remove(hook)


@pytest.mark.parametrize("n", [1_200])  # more than one insert chunk
def test_process_batch_many(sqlite_engine: Engine, n: int) -> None:
    ctx = build_context(config(), SimulatedClock(NOW))
    raws = [raw(str(i), f"Acme post number {i} is great") for i in range(n)]
    with Session(sqlite_engine) as s, s.begin():
        report = process_batch(s, raws, ctx)
    assert len(report.new_ids) == n


class CountingAnalyzer:
    """The real analyzer, counting the texts it scores."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.names = inner.names
        self.texts: list[str] = []

    def score(self, text: str, **kw: Any) -> Any:
        self.texts.append(text)
        return self.inner.score(text, **kw)


def _rows(engine: Engine) -> dict[str, tuple[object, ...]]:
    with Session(engine) as s:
        return {
            m.external_id: (m.sentiment_label, m.sentiment_compound, m.raw_compound, m.likes)
            for m in s.exec(select(Mention)).all()
        }


def test_repeats_already_stored_are_matched_but_not_scored_again(sqlite_engine: Engine) -> None:
    ctx = build_context(config(), SimulatedClock(NOW))
    counting = CountingAnalyzer(ctx.analyzer)
    ctx.analyzer = counting
    first = [raw("1", "Acme lost my bag, awful"), raw("2", "Globex is wonderful")]
    with Session(sqlite_engine) as s, s.begin():
        report = process_batch(s, first, ctx, source_name="feed")
    assert len(counting.texts) == 2 and len(ctx.recent) == 2
    stored = _rows(sqlite_engine)
    # the repoll repeats both (one with new engagement) and brings one new item
    again = [raw("1", "Acme lost my bag, awful"), raw("2", "Globex is wonderful")]
    again[0].engagement.likes = 5
    again.append(raw("3", "Acme fixed it fast, great support"))
    with Session(sqlite_engine) as s, s.begin():
        second = process_batch(s, again, ctx, source_name="feed")
    assert counting.texts[2:] == ["Acme fixed it fast, great support"]
    assert sorted(second.updated_ids) == sorted(report.new_ids) and len(second.new_ids) == 1
    assert sorted(second.brands.values()) == [["Acme"], ["Acme"], ["Globex"]]
    rows = _rows(sqlite_engine)
    assert rows["1"][:3] == stored["1"][:3] and rows["1"][3] == 5
    assert rows["2"] == stored["2"] and rows["3"][0] == "positive"


def test_a_hinted_repeat_that_is_not_stored_is_scored(sqlite_engine: Engine) -> None:
    ctx = build_context(config(), SimulatedClock(NOW))
    with Session(sqlite_engine) as s, s.begin():
        process_batch(s, [raw("1", "Acme lost my bag, awful")], ctx, source_name="feed")
        s.exec(delete(MentionBrand))  # type: ignore[call-overload]
        s.exec(delete(Mention))  # type: ignore[call-overload]
    assert ("rss", "1") in ctx.recent
    with Session(sqlite_engine) as s, s.begin():
        report = process_batch(s, [raw("1", "Acme lost my bag, awful")], ctx, source_name="feed")
    assert len(report.new_ids) == 1
    assert _rows(sqlite_engine)["1"][0] == "negative"


def test_score_late_gives_a_mention_stored_unscored_its_sentiment(sqlite_engine: Engine) -> None:
    # the race process_batch covers: found stored, then deleted before the insert
    ctx = build_context(config(), SimulatedClock(NOW))
    item = Item(raw("9", "Acme support is awful"), "feed", [BrandHit("Acme")])
    with Session(sqlite_engine) as s, s.begin():
        stored = upsert_mentions(s, [ScoredMention(item.raw, item.brands, None, "feed")], now=NOW)
        assert _score_late_rows(s) == ("neutral", 0.0)
        pipeline._score_late(
            s, ctx, [item], [("rss", "9")], stored.ids, set(stored.new_ids), "feed"
        )
        assert item.score is not None and _score_late_rows(s) == ("negative", item.score.compound)


def _score_late_rows(s: Session) -> tuple[str, float]:
    m = s.exec(select(Mention)).one()
    return m.sentiment_label, m.sentiment_compound


def test_recent_keys_forget_the_oldest() -> None:
    recent = RecentKeys(capacity=3)
    recent.add_all([("a", "1"), ("a", "2"), ("a", "3")])
    recent.add_all([("a", "1"), ("a", "4")])  # "1" is refreshed, "2" is the oldest
    assert len(recent) == 3 and ("a", "2") not in recent and ("a", "1") in recent
