"""Risk evaluation over stored mentions: the I/O edge around the pure ``risk`` and ``incidents``.

Contract: :func:`evaluate` reads (never commits) the brand's recent mentions and snapshots,
groups them into incidents, and scores the touched mentions and their incidents at ``now``;
:func:`evaluate_and_escalate` does that in one transaction and feeds the best candidate of each
incident to ``escalation.escalate``. :func:`make_after_batch_hook` plugs both into the
pipeline's ``after_batch`` list, so risk is judged only on committed rows (enqueue after commit).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from earful.clock import Clock, isoformat_z
from earful.config.models import AppConfig
from earful.escalation.lifecycle import Candidate, Decision, check_sla, escalate
from earful.risk.incidents import Incident, Member, incident_input
from earful.risk.members import ACTIVE_ESCALATIONS, LINKS
from earful.risk.scoring import Reason, RiskAssessment, RiskInput, assess
from earful.risk.spikes import Post, detect_spike, hour_start
from earful.risk.sync import windows_for
from earful.store.db import run_in_transaction
from earful.store.models import EngagementSnapshot, Mention, MentionBrand

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Evaluation:
    at: datetime
    brand: str
    mention: Member
    mention_risk: RiskAssessment
    incident: Incident
    incident_risk: RiskAssessment | None
    candidate: Candidate

    def trace(self) -> dict[str, Any]:
        """The ``--trace`` line of ``earful replay``."""
        source, _, ext = self.mention.key.partition(":")
        best = self.candidate
        return {
            "at": isoformat_z(self.at),
            "type": "risk",
            "source": source,
            "id": ext,
            "brand": self.brand,
            "risk": self.mention_risk.risk,
            "incident": self.incident.key,
            "incident_posts": len(self.incident.members),
            "incident_risk": self.incident_risk.risk if self.incident_risk else None,
            "candidate_risk": best.risk,
            "negativity": self.mention_risk.negativity,
            "supercritical": self.mention_risk.supercritical,
            "reasons": [r.to_dict() for r in self.mention_risk.reasons],
        }


def tracked_brands(config: AppConfig) -> set[str] | None:
    """Lower-cased brands that may escalate; None means every brand (no brands configured)."""
    if not config.brands:
        return None
    return {b.name.lower() for b in config.brands if b.track}


@dataclass(frozen=True, slots=True)
class _Story:
    """An incident's story core, summarised once per evaluation (not once per member)."""

    ids: frozenset[int | None]
    sources: list[str]
    size: int

    @classmethod
    def of(cls, incident: Incident) -> _Story:
        story = incident.story
        return cls(frozenset(m.mention_id for m in story), incident.story_sources, len(story))


def assess_member(
    member: Member,
    incident: Incident,
    now: datetime,
    config: AppConfig,
    story: _Story | None = None,
) -> RiskAssessment:
    # A post's spread is the story it refers to (the incident's core), not the posts that
    # merely resemble it.
    story = story or _Story.of(incident)
    in_story = member.mention_id in story.ids
    inp = RiskInput(
        source=member.source,
        text=member.text,
        title=member.title,
        compound=member.compound,
        published_at=member.published_at,
        author_followers=member.author_followers,
        snapshots=member.snapshots,
        spread_sources=story.sources if in_story else [member.source],
        spread_mentions=story.size if in_story else 1,
    )
    return assess(inp, now, config.risk)


def _active_escalations(
    session: Session, brands: Sequence[str]
) -> dict[str, list[tuple[str, int | None]]]:
    """Per brand, (incident key, mention id) of its active escalations, oldest first (a brand
    has few: they are read once per evaluation and matched here)."""
    out: dict[str, list[tuple[str, int | None]]] = defaultdict(list)
    for brand, key, mid in session.connection().execute(ACTIVE_ESCALATIONS, {"brands": brands}):
        out[brand].append((key, mid))
    return out


def _active_key(active: Sequence[tuple[str, int | None]], incident: Incident) -> str:
    """Keep an incident's key stable while its story grows: reuse the key of an active
    escalation that already covers one of its posts."""
    if not active:
        return incident.key
    ids = {m.mention_id for m in incident.members if m.mention_id is not None}
    for key, mid in active:
        if key == incident.key or mid in ids:
            return key
    return incident.key


# How stale an incident's aggregate assessment may get between two of its posts (see
# ``BrandWindow.cached``).
_REASSESS_STEP = timedelta(minutes=2)


def lock_brand(session: Session, brand: str) -> None:
    """Hold the brand's evaluation lock until the transaction ends (PostgreSQL advisory
    lock; SQLite has one writer anyway): workers judge one brand one after the other, each
    seeing the rows and escalations the previous one committed, so they never disagree."""
    if session.get_bind().dialect.name == "sqlite":
        return
    digest = hashlib.sha256(f"earful-brand:{brand}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _incident_risk(incident: Incident, now: datetime, config: AppConfig) -> RiskAssessment:
    return assess(incident_input(incident), now, config.risk)


def _excluded(now: datetime, brand: str, member: Member) -> Evaluation:
    """A mention a person marked irrelevant or spam: judged alone, at no risk."""
    none = RiskAssessment(
        risk=0.0,
        reasons=[Reason("status", 0.0, "marked irrelevant or spam: no risk")],
        negativity=0.0,
        gate=0.0,
    )
    source, _, ext = member.key.partition(":")
    incident = Incident(key=f"incident:{member.key}", members=[member], core=[member])
    cand = Candidate(
        brand=brand,
        incident_key=incident.key,
        risk=0.0,
        reasons=none.reasons,
        rule="mention_risk",
        mention_id=member.mention_id,
        source=source,
        external_id=ext,
    )
    return Evaluation(now, brand, member, none, incident, None, cand)


def evaluate(
    session: Session, mention_ids: Iterable[int], *, now: datetime, config: AppConfig
) -> list[Evaluation]:
    """Score the given mentions (and their incidents) of every tracked brand at ``now``.

    Grouping comes from the brand's incremental window state (``earful.risk.window``); each
    incident re-assesses its touched members, its root and the members that scored highest
    before — not every member — so an event costs its incident, never the whole window.
    """
    ids = set(mention_ids)
    if not ids:
        return []
    tracked = tracked_brands(config)
    links = session.connection().execute(LINKS, {"ids": sorted(ids)}).all()
    brands = sorted({b.brand for b in links if tracked is None or b.brand.lower() in tracked})
    since = now - timedelta(hours=config.risk.incident_window_h)
    out: list[Evaluation] = []
    wanted: dict[str, set[int]] = {brand: set() for brand in brands}
    for link in links:
        if link.brand in wanted:
            wanted[link.brand].add(link.mention_id)
    for brand in brands:  # sorted: two workers take the locks in one order
        lock_brand(session, brand)
    states = windows_for(session, wanted, now=now, config=config)
    actives = _active_escalations(session, brands)
    for brand in brands:
        mine = wanted[brand]
        state = states[brand]
        active = actives.get(brand, [])
        by_group: dict[int, list[int]] = defaultdict(list)
        for mid in sorted(mine):
            if mid not in state.members:
                continue
            if state.members[mid].excluded:
                out.append(_excluded(now, brand, state.members[mid]))
            else:
                by_group[state.root_of(mid)].append(mid)
        incidents: dict[str, tuple[Incident, list[Member]]] = {}
        for mids in by_group.values():
            inc = state.incident(mids, since=since)
            incidents[inc.key] = (inc, [state.members[mid] for mid in mids])
        for incident, touched in sorted(incidents.values(), key=lambda p: p[0].first_at):
            inc_risk = (
                state.cached(
                    incident,
                    now,
                    partial(_incident_risk, incident, now, config),
                    step=_REASSESS_STEP,
                )
                if len(incident.members) > 1
                else None
            )
            best_before = state.best_before(incident)
            judged = {m.key: m for m in [*touched, incident.root(), *best_before]}
            story = _Story.of(incident)
            scored = [(m, assess_member(m, incident, now, config, story)) for m in judged.values()]
            for m, r in scored:
                state.note_risk(m.mention_id or 0, r.risk)
            best_member, best = max(scored, key=lambda p: p[1].risk)
            key = _active_key(active, incident)
            if inc_risk is not None and inc_risk.risk > best.risk:
                rep, use, rule = incident.root(), inc_risk, "incident_risk"
            else:
                rep, use, rule = best_member, best, "mention_risk"
            source, _, ext = rep.key.partition(":")
            cand = Candidate(
                brand=brand,
                incident_key=key,
                risk=use.risk,
                reasons=use.reasons,
                rule=rule,
                mention_id=rep.mention_id,
                source=source,
                external_id=ext,
                posts=len(incident.members),
                sources=len(incident.sources),
            )
            by_id = {m.mention_id: r for m, r in scored}
            for m in sorted(touched, key=lambda m: (m.published_at, m.key)):
                out.append(Evaluation(now, brand, m, by_id[m.mention_id], incident, inc_risk, cand))
    return out


def store_risks(session: Session, evaluations: Sequence[Evaluation]) -> None:
    """Each evaluated mention's risk, in one executemany UPDATE."""
    params = [
        {"mid": ev.mention.mention_id, "risk": ev.mention_risk.risk}
        for ev in evaluations
        if ev.mention.mention_id is not None
    ]
    if params:
        table = Mention.__table__  # type: ignore[attr-defined]
        session.connection().execute(
            update(table).where(table.c.id == bindparam("mid")).values(risk=bindparam("risk")),
            params,
        )


def evaluate_and_escalate(
    engine: Engine, mention_ids: Iterable[int], *, now: datetime, config: AppConfig
) -> tuple[list[Evaluation], list[Decision]]:
    """One transaction: score, store each mention's risk, escalate each incident's best
    candidate (once per incident), and raise escalations whose SLA passed."""
    ids = list(mention_ids)

    def work(session: Session) -> tuple[list[Evaluation], list[Decision]]:
        evaluations = evaluate(session, ids, now=now, config=config)
        store_risks(session, evaluations)
        decisions: list[Decision] = []
        if config.escalation.enabled:
            seen: set[tuple[str, str]] = set()
            for ev in sorted(evaluations, key=lambda e: -e.candidate.risk):
                key = (ev.brand, ev.candidate.incident_key)
                if key in seen:
                    continue
                seen.add(key)
                decisions.append(
                    escalate(
                        session,
                        ev.candidate,
                        now=now,
                        risk_config=config.risk,
                        config=config.escalation,
                    )
                )
        return evaluations, decisions

    return run_in_transaction(engine, work)


def run_sla_checks(engine: Engine, *, now: datetime, config: AppConfig) -> int:
    def work(session: Session) -> int:
        return len(check_sla(session, now=now, config=config.escalation))

    return run_in_transaction(engine, work)


def updated_mention_ids(session: Session, *, since: datetime) -> list[int]:
    """Mentions with a snapshot or an update since ``since`` (engagement re-polls)."""
    snap = session.exec(
        select(EngagementSnapshot.mention_id).where(col(EngagementSnapshot.at) >= since)
    ).all()
    upd = session.exec(select(Mention.id).where(col(Mention.updated_at) >= since)).all()
    return sorted({int(i) for i in [*snap, *upd] if i is not None})


def _negative_of(brand: str, *, since: datetime, now: datetime) -> list[ColumnElement[bool]]:
    """The brand's negative mentions published in [since, now]."""
    return [
        col(MentionBrand.brand) == brand,
        col(MentionBrand.published_at) >= since,
        col(MentionBrand.published_at) <= now,
        col(Mention.sentiment_label) == "negative",
    ]


def spike_candidates(session: Session, *, now: datetime, config: AppConfig) -> list[Candidate]:
    """A level-1 candidate per tracked brand whose negative volume this hour is a spike
    (``earful.risk.spikes``); none before ``min_history_days`` of history."""

    cfg = config.risk.spikes
    if not cfg.escalate:
        return []
    since = now - timedelta(weeks=cfg.weeks)
    current = hour_start(now)
    out: list[Candidate] = []
    for brand in config.brands:
        if not brand.track:
            continue
        # Most ticks of most hours are quiet: count this hour first and read the weeks of
        # history only when the hour has enough negative posts to be a spike at all.
        in_hour = session.exec(
            select(func.count())
            .select_from(MentionBrand)
            .join(Mention, col(Mention.id) == col(MentionBrand.mention_id))
            .where(*_negative_of(brand.name, since=current, now=now))
        ).one()
        if in_hour < cfg.min_count:
            continue
        rows = session.exec(
            select(MentionBrand.published_at, Mention.source, Mention.text)
            .join(Mention, col(Mention.id) == col(MentionBrand.mention_id))
            .where(*_negative_of(brand.name, since=since, now=now))
        ).all()
        if not rows:
            continue
        first = min(r[0] for r in rows)
        if (now - first).total_seconds() < cfg.min_history_days * 86400:
            continue
        posts = [Post(at, src, text if at >= current else "") for at, src, text in rows]
        spike = detect_spike(posts, now=now, config=cfg, names=config.brand_names(brand.name))
        if spike is None:
            continue
        risk = min(config.risk.levels_for(brand.name).values())
        detail = spike.detail() + f"; sources: {', '.join(spike.sources)}"
        out.append(
            Candidate(
                brand=brand.name,
                incident_key=f"spike:{brand.name}",
                risk=risk,
                reasons=[Reason("spike", risk, detail)],
                rule="negative_spike",
            )
        )
    return out


def run_spike_checks(engine: Engine, *, now: datetime, config: AppConfig) -> list[Decision]:
    def work(session: Session) -> list[Decision]:
        return [
            escalate(session, cand, now=now, risk_config=config.risk, config=config.escalation)
            for cand in spike_candidates(session, now=now, config=config)
        ]

    if not config.escalation.enabled:
        return []
    return run_in_transaction(engine, work)


def tick(
    engine: Engine,
    *,
    clock: Clock,
    config: AppConfig,
    since: datetime,
    deliver: Callable[[Engine], object] | None = None,
) -> int:
    """A periodic pass for runners: re-score mentions whose engagement changed since
    ``since`` (the virality signal arrives through re-polls, not new batches), escalate
    brand-level negative spikes, raise overdue SLAs, flush the outbox. Returns how many
    mentions were scored."""
    now = clock.now()
    ids = run_in_transaction(engine, lambda s: updated_mention_ids(s, since=since))
    if ids:
        evaluate_and_escalate(engine, ids, now=now, config=config)
    run_spike_checks(engine, now=now, config=config)
    run_sla_checks(engine, now=now, config=config)
    if deliver is not None:
        deliver(engine)
    return len(ids)


def make_after_batch_hook(
    config: AppConfig,
    clock: Clock,
    *,
    deliver: Callable[[Engine], object],
) -> Callable[[Engine, Any], None]:
    """An ``after_batch`` hook for the pipeline: risk, escalation, SLA, then ``deliver`` (the
    outbox flush; ``notify.outbox.default_deliverer`` sends over the configured channels).

    Runs after the batch committed, so it only ever reads committed rows.
    """

    def hook(engine: Engine, report: Any) -> None:
        ids = list(getattr(report, "new_ids", [])) + list(getattr(report, "updated_ids", []))
        now = clock.now()
        if ids:
            evaluate_and_escalate(engine, ids, now=now, config=config)
        run_sla_checks(engine, now=now, config=config)
        deliver(engine)

    return hook
