"""Re-match stored mentions against the current brand queries (``earful mentions rematch``,
and ``earful run`` when a brand's queries change).

Matching is the ingest's own: the ``match`` stage of :mod:`earful.pipeline` (``MatchBrands``
over ``compile_brands``, with each source's ``brands:`` restriction and ``about:`` brand), run
on the stored text, title, author, URL and language. Of the brands in scope (the configured
ones, or those asked for), a link that no longer matches is dropped and a brand that now
matches is linked; links to brands out of scope — a brand removed from the config — are never
touched. The ``is_competitor`` flag of a kept link follows the brand's ``track``.

One thing the store cannot replay: ``site:`` terms also match a related address some connectors
read (the page a Hacker News story links to, a news item's publisher), which is not stored. A
link of a brand with ``site:`` terms on a mention of such a kind is kept when it no longer
matches, and counted as ``unsure``, rather than dropped on evidence the store lacks.

What hangs on a link stays: escalations and their history name the brand and the mention, not
the link, so they are kept (and counted in the report); a mention left with no brand at all
is kept and counted too (it drops out of digests, risk and the brand filter).

Mentions are read by id in chunks of :data:`CHUNK`; each chunk's changes are written in one
transaction of their own, so a rematch of a large store holds no long lock and a crash leaves
every chunk either done or not. Without ``dry_run`` the brands' fingerprints are saved once
all chunks are done, so the run loop does not repeat the work.

``fingerprint_of(config)``: brand -> digest of everything that decides its links;
:func:`rematch_changed` is the run loop's step: brands whose digest differs from the stored one
are re-matched. The first time (no fingerprint stored at all) only records them: the stored
links were made by whatever config ingested them, which a first start cannot know better.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, inspect, tuple_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from earful.config.models import AppConfig
from earful.matching.matcher import brand_queries, compile_brands
from earful.mention import RawMention
from earful.pipeline import Item, MatchBrands, allowed_brands, competitor_names
from earful.store.brand_queries import (
    BrandQueryState,
    forget_fingerprints,
    save_fingerprints,
    stored_fingerprints,
)
from earful.store.escalations import Escalation
from earful.store.mentions import conflict_insert
from earful.store.models import Mention, MentionBrand

logger = logging.getLogger(__name__)

CHUNK = 500
# Kinds whose connectors match ``site:`` also against a related address (``MatchDoc.other_urls``:
# the page a story links to, a news item's publisher) that is not stored with the mention.
RELATED_URL_KINDS = frozenset({"hackernews", "lemmy", "reddit", "rss"})

Progress = Callable[[int, int], None]  # (mentions done, mentions in all)


@dataclass(slots=True)
class BrandChange:
    """What a rematch did (or would do) to one brand's links."""

    brand: str
    before: int = 0
    added: int = 0
    dropped: int = 0
    # open or closed escalations of this brand about a mention whose link was dropped: kept
    escalations: int = 0
    # links kept although they no longer match: the brand's ``site:`` terms may have matched
    # a related address the store does not keep (:data:`RELATED_URL_KINDS`)
    unsure: int = 0

    @property
    def after(self) -> int:
        return self.before + self.added - self.dropped


@dataclass(slots=True)
class RematchReport:
    dry_run: bool = False
    scanned: int = 0
    brands: dict[str, BrandChange] = field(default_factory=dict)
    # mentions that had a brand link and have none left (kept, not deleted)
    unlinked: int = 0
    competitor_flags: int = 0  # kept links whose is_competitor flipped (``track`` changed)

    @property
    def changed(self) -> int:
        return sum(c.added + c.dropped for c in self.brands.values()) + self.competitor_flags

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "scanned": self.scanned,
            "unlinked": self.unlinked,
            "competitor_flags": self.competitor_flags,
            "brands": [
                {
                    "brand": c.brand,
                    "before": c.before,
                    "added": c.added,
                    "dropped": c.dropped,
                    "after": c.after,
                    "escalations_kept": c.escalations,
                    "kept_unsure": c.unsure,
                }
                for c in self.brands.values()
            ],
        }


def fingerprint_of(config: AppConfig) -> dict[str, str]:
    """Brand -> a digest of what decides its links: its queries (or name and aliases),
    ``track``, and which sources may match it or are about it."""
    out: dict[str, str] = {}
    for brand in config.brands:
        lower = brand.name.lower()
        sources = []
        for source in config.sources:
            allowed = allowed_brands(config, source.brands)
            about = source.about is not None and source.about.lower() == lower
            if (allowed is not None and lower not in allowed) or about:
                sources.append([source.name, allowed is None or lower in allowed, about])
        data = {"queries": brand_queries(brand), "track": brand.track, "sources": sources}
        blob = json.dumps(data, sort_keys=True, ensure_ascii=False)
        out[brand.name] = hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]
    return out


def _raw(m: Mention) -> RawMention:
    return RawMention(
        m.source,
        m.external_id,
        m.url,
        m.text or "",
        title=m.title,
        author=m.author,
        language=m.language,
        published_at=m.published_at,
    )


class _Matcher:
    """The ingest's match stage per source name, built once per rematch."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self.matcher = compile_brands(config.brands)
        self.stages: dict[str | None, MatchBrands] = {}
        self.site_brands = {
            b.name
            for b in config.brands
            if any("site" in q.fields for q in self.matcher.queries(b.name))
        }

    def brands(self, m: Mention) -> list[str]:
        stage = self.stages.get(m.source_name)
        if stage is None:
            source = self.config.source(m.source_name) if m.source_name else None
            stage = MatchBrands(
                self.matcher,
                self.config,
                restrict=source.brands if source is not None else None,
                about=source.about if source is not None else None,
            )
            self.stages[m.source_name] = stage
        kept = stage.process([Item(_raw(m), m.source_name)], Counter())
        return [hit.brand for hit in kept[0].brands] if kept else []


def _chunks(engine: Engine, chunk: int) -> Iterator[list[Mention]]:
    last = 0
    while True:
        with Session(engine) as session:
            rows = list(
                session.exec(
                    select(Mention)
                    .where(col(Mention.id) > last)
                    .order_by(col(Mention.id))
                    .limit(chunk)
                )
            )
            session.expunge_all()
        if not rows:
            return
        yield rows
        last = rows[-1].id or last


def rematch(
    engine: Engine,
    config: AppConfig,
    *,
    now: datetime,
    brands: Collection[str] | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    chunk: int = CHUNK,
) -> RematchReport:
    """Apply the current queries of ``brands`` (default: every configured brand; names match
    case-insensitively, unknown ones raise ``ValueError``) to every stored mention."""
    configured = {b.name.casefold(): b.name for b in config.brands}
    if brands is None:
        scope = list(configured.values())
    else:
        unknown = [b for b in brands if b.casefold() not in configured]
        if unknown:
            raise ValueError(f"not a configured brand: {', '.join(unknown)}")
        scope = list(dict.fromkeys(configured[b.casefold()] for b in brands))
    report = RematchReport(dry_run=dry_run)
    report.brands = {name: BrandChange(name) for name in scope}
    in_scope = set(scope)
    competitors = competitor_names(config)
    matcher = _Matcher(config)
    with Session(engine) as session:
        total = int(session.exec(select(func.count()).select_from(Mention)).one())
    if progress is not None:
        progress(0, total)
    for mentions in _chunks(engine, chunk):
        _rematch_chunk(engine, mentions, matcher, in_scope, competitors, report, dry_run)
        report.scanned += len(mentions)
        if progress is not None:
            progress(report.scanned, max(total, report.scanned))
    if not dry_run:
        prints = fingerprint_of(config)
        with Session(engine) as session, session.begin():
            save_fingerprints(session, fingerprints={b: prints[b] for b in scope}, now=now)
    logger.info(
        "rematch%s: %s mention(s) scanned; %s",
        " (dry run)" if dry_run else "",
        report.scanned,
        "; ".join(f"{c.brand} +{c.added} -{c.dropped}" for c in report.brands.values())
        or "no brand",
    )
    return report


def _rematch_chunk(
    engine: Engine,
    mentions: list[Mention],
    matcher: _Matcher,
    in_scope: set[str],
    competitors: set[str],
    report: RematchReport,
    dry_run: bool,
) -> None:
    ids = [m.id for m in mentions if m.id is not None]
    with Session(engine) as session:  # a dry run leaves without committing: rolled back
        links: dict[int, dict[str, MentionBrand]] = {}
        for link in session.exec(select(MentionBrand).where(col(MentionBrand.mention_id).in_(ids))):
            links.setdefault(link.mention_id, {})[link.brand] = link
        adds: list[MentionBrand] = []
        drops: list[tuple[int, str]] = []
        for m in mentions:
            assert m.id is not None
            have = links.get(m.id, {})
            linked = have.keys() & in_scope
            want = {n for n in matcher.brands(m) if n in in_scope}
            for name in linked:
                report.brands[name].before += 1
            for name in sorted(want - linked):
                report.brands[name].added += 1
                adds.append(
                    MentionBrand(
                        mention_id=m.id,
                        brand=name,
                        published_at=m.published_at or m.fetched_at,
                        is_competitor=name.lower() in competitors,
                    )
                )
            gone = linked - want
            if m.source in RELATED_URL_KINDS:
                for name in gone & matcher.site_brands:
                    report.brands[name].unsure += 1
                gone -= matcher.site_brands
            for name in sorted(gone):
                report.brands[name].dropped += 1
                drops.append((m.id, name))
            for name in linked & want:
                link = have[name]
                if link.is_competitor != (name.lower() in competitors):
                    report.competitor_flags += 1
                    link.is_competitor = not link.is_competitor
                    session.add(link)
            if have and not ((have.keys() - gone) | want):
                report.unlinked += 1
        for part in _parts(drops):
            _count_escalations(session, part, report)
        if dry_run:
            return
        pairs = tuple_(col(MentionBrand.mention_id), col(MentionBrand.brand))
        for part in _parts(drops):
            session.execute(delete(MentionBrand).where(pairs.in_(part)))
        if adds:
            # A poll storing the same link meanwhile (``earful run`` beside this command, or
            # another worker) wins the race harmlessly: the database keeps one row.
            rows = [
                {c: getattr(a, c) for c in ("mention_id", "brand", "published_at", "is_competitor")}
                for a in adds
            ]
            table = MentionBrand.__table__  # type: ignore[attr-defined]
            session.execute(conflict_insert(session, table).on_conflict_do_nothing(), rows)
        session.commit()


def _parts(pairs: list[tuple[int, str]], size: int = 400) -> Iterator[list[tuple[int, str]]]:
    for i in range(0, len(pairs), size):
        yield pairs[i : i + size]


def _count_escalations(
    session: Session, drops: list[tuple[int, str]], report: RematchReport
) -> None:
    """Escalations about a dropped (mention, brand): kept as they are, counted per brand."""
    pairs = tuple_(col(Escalation.mention_id), col(Escalation.brand))
    for brand, n in session.execute(
        select(Escalation.brand, func.count()).where(pairs.in_(drops)).group_by(Escalation.brand)
    ):
        if brand in report.brands:
            report.brands[brand].escalations += int(n)


def rematch_changed(
    engine: Engine, config: AppConfig, *, now: datetime, progress: Progress | None = None
) -> RematchReport | None:
    """The run loop's step: re-match the brands whose fingerprint changed since they were last
    matched (a brand new to the config counts as changed); None when nothing changed.

    The very first time (no fingerprint stored) the current ones are only recorded. Brands no
    longer configured lose their fingerprint and keep their links."""
    if not inspect(engine).has_table(BrandQueryState.__tablename__):
        return None  # a store not upgraded yet (``earful run`` upgrades before it starts)
    prints = fingerprint_of(config)
    with Session(engine) as session, session.begin():
        stored = stored_fingerprints(session)
        if not stored:
            save_fingerprints(session, fingerprints=prints, now=now)
            return None
        forget_fingerprints(session, brands=[b for b in stored if b not in prints])
    changed = [b for b, fp in prints.items() if stored.get(b) != fp]
    if not changed:
        return None
    logger.info("brand queries changed for %s: re-matching stored mentions", ", ".join(changed))
    return rematch(engine, config, now=now, brands=changed, progress=progress)
