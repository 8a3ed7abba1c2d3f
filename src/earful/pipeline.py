"""RawMention[] -> stored mentions, in stages that share one small contract.

Each stage takes a batch of :class:`Item` and returns the batch it keeps; an item it drops is
counted in ``rejected`` under a short reason (Scrapy item pipelines and ``DropItem``)::

    match brands  ("no_brand")  ->  dedupe ("duplicate")  ->  sentiment  ->  store (upsert)

The first three stages are pure (no I/O) and unit-tested alone; only :func:`process_batch`
touches the database, inside the caller's transaction (it never commits). It does not score
repeats of mentions already stored (they keep their sentiment): keys this process stored
lately (``PipelineContext.recent``) are confirmed with one query per batch, so a re-polled
feed costs matching and an engagement update, not sentiment. Hooks that must see
committed rows (risk, escalation) are registered in ``PipelineContext.after_batch`` and run by
the runner after the commit.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.clock import Clock
from earful.config.models import AppConfig, BrandConfig
from earful.matching.matcher import MatchDoc, compile_brands
from earful.mention import RawMention
from earful.sentiment.analyzer import get_analyzer
from earful.store.mentions import mention_key, stored_keys, update_sentiment
from earful.store.repository import (
    BrandHit,
    ScoredMention,
    ScoreLike,
    canonical_url,
    clean_text,
    upsert_mentions,
)

logger = logging.getLogger(__name__)

# How much text matching and sentiment read at most: beyond this a post is still stored whole,
# but a hostile 100 MB item cannot stall a worker.
MAX_ANALYSED_CHARS = 1_100_000


class MatcherLike(Protocol):
    """``earful.matching.matcher.BrandMatcher``."""

    def match(self, doc: Any) -> list[str]: ...


class AnalyzerLike(Protocol):
    """``earful.sentiment.analyzer.SentimentAnalyzer``."""

    def score(
        self,
        text: str,
        *,
        title: str | None = None,
        rating: float | None = None,
        rating_max: float = 5.0,
        names: Sequence[str] = (),
    ) -> ScoreLike: ...


@dataclass
class BatchReport:
    new_ids: list[int] = field(default_factory=list)
    updated_ids: list[int] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    # Brands matched per stored mention id (for hooks that work per brand).
    brands: dict[int, list[str]] = field(default_factory=dict)
    source_name: str | None = None

    @property
    def stored(self) -> int:
        return len(self.new_ids) + len(self.updated_ids)


AfterBatchHook = Callable[[Engine, BatchReport], None]

# Hooks every new context starts with (features register theirs at import, e.g. risk scoring).
_registered_hooks: list[AfterBatchHook] = []


def register_after_batch(hook: AfterBatchHook) -> None:
    """Run ``hook(engine, batch)`` after every committed batch of every context built later."""
    if hook not in _registered_hooks:
        _registered_hooks.append(hook)


@dataclass
class PipelineContext:
    """Everything a batch needs, built once per config (matcher and analyzer are compiled)."""

    config: AppConfig
    matcher: MatcherLike
    analyzer: AnalyzerLike
    clock: Clock
    # Run by the runner after each committed batch, in order; a failing hook is logged and
    # never loses the batch (the rows are committed already). Enqueue follow-up work here.
    after_batch: list[AfterBatchHook] = field(default_factory=list)
    # keys of mentions stored lately: repeats among them are looked up and not scored again
    recent: RecentKeys = field(default_factory=lambda: RecentKeys(), repr=False)
    # stages_for's cache by source name, with the (config, matcher, analyzer) they were built
    # from: replacing one of those rebuilds them
    stages: dict[str | None, tuple[tuple[Any, ...], list[Stage]]] = field(
        default_factory=dict, repr=False
    )


@dataclass(slots=True)
class Item:
    """One mention travelling through the stages."""

    raw: RawMention
    source_name: str | None = None
    brands: list[BrandHit] = field(default_factory=list)
    score: ScoreLike | None = None


class Stage(Protocol):
    name: str

    def process(self, batch: list[Item], rejected: Counter[str]) -> list[Item]: ...


# --------------------------------------------------------------------------- stages


def competitor_names(config: AppConfig) -> set[str]:
    """Lower-cased names of brands tracked only for share of voice (``track: false``)."""
    return {b.name.lower() for b in config.brands if not b.track}


def allowed_brands(config: AppConfig, restrict: Sequence[str] | None) -> set[str] | None:
    """Brands a source may match: its ``brands`` list plus their competitors (for share of
    voice); ``None`` when the source does not restrict."""
    if restrict is None:
        return None
    allowed = {name.lower() for name in restrict}
    for brand in config.brands:
        if brand.name.lower() in allowed:
            allowed.update(c.lower() for c in brand.competitors)
    return allowed


def _match_doc(raw: RawMention) -> Any:
    return MatchDoc.from_mention(_analysable(raw))


def _analysable(raw: RawMention) -> RawMention:
    if len(raw.text) <= MAX_ANALYSED_CHARS:
        return raw
    return replace(raw, text=raw.text[:MAX_ANALYSED_CHARS])


class MatchBrands:
    """Keeps items that mention a configured brand; rejects the rest as ``no_brand``."""

    name = "match"

    def __init__(
        self,
        matcher: MatcherLike,
        config: AppConfig,
        *,
        restrict: Sequence[str] | None = None,
        about: str | None = None,
        make_doc: Callable[[RawMention], Any] = _match_doc,
    ) -> None:
        self.matcher = matcher
        self.competitors = competitor_names(config)
        self.allowed = allowed_brands(config, restrict)
        # A review source of the brand's own app or business: its items rarely name the
        # brand, yet every one of them is about it.
        brand = config.brand(about) if about else None
        self.about = brand.name if brand is not None else None
        self.make_doc = make_doc

    def process(self, batch: list[Item], rejected: Counter[str]) -> list[Item]:
        kept: list[Item] = []
        for item in batch:
            names = self.matcher.match(self.make_doc(item.raw))
            if self.allowed is not None:
                names = [n for n in names if n.lower() in self.allowed]
            if self.about is not None and self.about not in names:
                names = [self.about, *names]
            if not names:
                rejected["no_brand"] += 1
                continue
            item.brands = [BrandHit(n, n.lower() in self.competitors) for n in names]
            kept.append(item)
        return kept


# Kinds whose mentions share the URL of the page they sit on (the reviews of one jsonld page):
# for them only the id tells two mentions apart.
SHARED_URL_KINDS = frozenset({"jsonld"})


class Dedupe:
    """Drops repeats inside one batch: the same (source, external id), or the same canonical
    URL from the same source (feeds that list one article twice under two ids) — except for
    :data:`SHARED_URL_KINDS`."""

    name = "dedupe"

    def process(self, batch: list[Item], rejected: Counter[str]) -> list[Item]:
        seen_ids: set[tuple[str, str]] = set()
        seen_urls: set[tuple[str, str]] = set()
        kept: list[Item] = []
        for item in batch:
            key = (item.raw.source, item.raw.external_id)
            url = None if item.raw.source in SHARED_URL_KINDS else canonical_url(item.raw.url)
            url_key = (item.raw.source, url) if url else None
            if key in seen_ids or (url_key is not None and url_key in seen_urls):
                rejected["duplicate"] += 1
                continue
            seen_ids.add(key)
            if url_key is not None:
                seen_urls.add(url_key)
            kept.append(item)
        return kept


def mask_names(brands: Sequence[BrandConfig]) -> list[str]:
    """Brand names and aliases: masked before scoring so "Delta" or "Best Buy" carry no
    sentiment of their own."""
    names: list[str] = []
    for brand in brands:
        names.append(brand.name)
        names.extend(brand.aliases)
    return names


class ScoreSentiment:
    """Scores each item with the configured analyzer, masking every configured brand name."""

    name = "sentiment"

    def __init__(self, analyzer: AnalyzerLike, config: AppConfig) -> None:
        self.analyzer = analyzer
        names = mask_names(config.brands)
        # An analyzer built for these names (build_context) masks them already: passing them
        # again per call would only make it merge and look up a longer list each time.
        built_for = getattr(analyzer, "names", None)
        self.names: Sequence[str] = () if _same_names(built_for, names) else names

    def process(self, batch: list[Item], rejected: Counter[str]) -> list[Item]:
        score = self.analyzer.score
        names = self.names
        for item in batch:
            raw = item.raw
            text = raw.text
            item.score = score(
                text if len(text) <= MAX_ANALYSED_CHARS else text[:MAX_ANALYSED_CHARS],
                title=raw.title,
                rating=raw.rating,
                names=names,
            )
        return batch


def _same_names(built_for: object, names: Sequence[str]) -> bool:
    return isinstance(built_for, tuple) and set(built_for) >= set(names)


def sanitize(raws: Sequence[RawMention], rejected: Counter[str]) -> list[RawMention]:
    """Drops items no stage could use (no id); makes text safe for any database."""
    kept: list[RawMention] = []
    for raw in raws:
        if not raw.external_id or not raw.source:
            rejected["no_id"] += 1
            continue
        raw.text = clean_text(raw.text or "") or ""
        raw.title = clean_text(raw.title)
        kept.append(raw)
    return kept


def stages_for(ctx: PipelineContext, *, source_name: str | None) -> list[Stage]:
    """The stages for a batch of ``source_name``, built once per context and source (they
    keep no state between batches)."""
    parts = (ctx.config, ctx.matcher, ctx.analyzer)
    cached = ctx.stages.get(source_name)
    if cached is not None and all(a is b for a, b in zip(cached[0], parts, strict=True)):
        return cached[1]
    source = ctx.config.source(source_name) if source_name else None
    restrict = source.brands if source is not None else None
    about = source.about if source is not None else None
    stages: list[Stage] = [
        MatchBrands(ctx.matcher, ctx.config, restrict=restrict, about=about),
        Dedupe(),
        ScoreSentiment(ctx.analyzer, ctx.config),
    ]
    ctx.stages[source_name] = (parts, stages)
    return stages


# --------------------------------------------------------------------------- entry points


def build_context(config: AppConfig, clock: Clock) -> PipelineContext:
    """Compile the brand matcher and load the analyzer for ``config``."""
    matcher = compile_brands(config.brands)
    analyzer = get_analyzer(config.sentiment, names=tuple(mask_names(config.brands)))
    return PipelineContext(
        config=config,
        matcher=matcher,
        analyzer=analyzer,
        clock=clock,
        after_batch=list(_registered_hooks),
    )


def analyse_batch(
    raws: Sequence[RawMention],
    ctx: PipelineContext,
    *,
    source_name: str | None = None,
    stored: Callable[[list[Item]], Collection[tuple[str, str]]] | None = None,
) -> tuple[list[Item], Counter[str]]:
    """The pure part: match, dedupe and score, storing nothing (``earful sources test``).

    ``stored``: given the items about to be scored, the keys (``mention_key``) of those already
    stored; they keep their stored sentiment, so they are not scored (``score`` stays None).
    """
    rejected: Counter[str] = Counter()
    batch = [Item(raw, source_name) for raw in sanitize(raws, rejected)]
    for stage in stages_for(ctx, source_name=source_name):
        if stored is not None and stage.name == ScoreSentiment.name:
            known = stored(batch)
            if known:
                # scoring keeps every item: the batch stays whole
                stage.process([i for i in batch if mention_key(i.raw) not in known], rejected)
                continue
        batch = stage.process(batch, rejected)
        if not batch:
            break
    return batch, rejected


class RecentKeys:
    """Keys of mentions this process stored lately, at most ``capacity`` (oldest forgotten).

    Only a hint: a repeat's key found here is confirmed in the database before its scoring is
    skipped. A re-polled feed mostly repeats items already stored, whose sentiment is kept, so
    scoring them again (the costliest stage) would be wasted.
    """

    def __init__(self, capacity: int = 32_768) -> None:
        self.capacity = capacity
        self._keys: dict[tuple[str, str], None] = {}
        self._lock = threading.Lock()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def add_all(self, keys: Iterable[tuple[str, str]]) -> None:
        with self._lock:
            for key in keys:
                self._keys.pop(key, None)
                self._keys[key] = None
            excess = len(self._keys) - self.capacity
            if excess > 0:
                for key in list(itertools.islice(self._keys, excess)):
                    del self._keys[key]


def process_batch(
    session: Session,
    raws: Sequence[RawMention],
    ctx: PipelineContext,
    *,
    source_name: str | None = None,
) -> BatchReport:
    """Match, dedupe, score and store ``raws`` in the caller's transaction (never commits).

    Items already stored are matched (brand links) but not scored: they keep their stored
    sentiment. Which ones are looked up only for keys in ``ctx.recent``, so a first sight
    costs no query.
    """

    def already_stored(batch: list[Item]) -> set[tuple[str, str]]:
        hinted = [key for i in batch if (key := mention_key(i.raw)) in ctx.recent]
        return stored_keys(session, hinted) if hinted else set()

    items, rejected = analyse_batch(raws, ctx, source_name=source_name, stored=already_stored)
    report = BatchReport(rejected=rejected, source_name=source_name)
    if not items:
        return report
    stored = upsert_mentions(
        session,
        [ScoredMention(i.raw, i.brands, i.score, i.source_name) for i in items],
        now=ctx.clock.now(),
    )
    report.new_ids = stored.new_ids
    report.updated_ids = stored.updated_ids
    keys = [mention_key(item.raw) for item in items]
    for item, key in zip(items, keys, strict=True):
        mid = stored.ids.get(key)
        if mid is not None:
            report.brands[mid] = [b.brand for b in item.brands]
    _score_late(session, ctx, items, keys, stored.ids, set(stored.new_ids), source_name)
    ctx.recent.add_all(keys)
    return report


def _score_late(
    session: Session,
    ctx: PipelineContext,
    items: list[Item],
    keys: list[tuple[str, str]],
    ids: dict[tuple[str, str], int],
    new_ids: set[int],
    source_name: str | None,
) -> None:
    # An item found stored (so not scored) whose row was inserted after all: it was deleted
    # in between (retention). It gets its sentiment now, like any new mention.
    late = [
        (mid, item)
        for item, key in zip(items, keys, strict=True)
        if item.score is None and (mid := ids.get(key)) in new_ids
    ]
    if not late:
        return
    stage = next(s for s in stages_for(ctx, source_name=source_name) if s.name == "sentiment")
    stage.process([item for _, item in late], Counter())
    update_sentiment(
        session, scores={mid: item.score for mid, item in late if item.score is not None}
    )


def run_after_batch(engine: Engine, batch: BatchReport, ctx: PipelineContext) -> None:
    """Run the after-commit hooks; one failing hook is logged and never stops the others."""
    for hook in ctx.after_batch:
        try:
            hook(engine, batch)
        except Exception:
            logger.exception("after-batch hook %r failed", hook)
