"""Replay: play a scenario on a simulated clock through the real pipeline, risk and escalation.

Contract (DESIGN.md section 3): a scenario is JSON Lines ordered by ``at``; ``type`` is
``mention`` (a post appears) or ``engagement`` (cumulative counts of a post seen earlier).
Every event moves a :class:`SimulatedClock` to its ``at``; a mention goes through
``pipeline.process_batch`` into the database (a temporary SQLite unless ``db_url``), an
engagement event updates the stored counts and records a snapshot; after each committed event
risk is evaluated and escalations decided, exactly as ``earful run`` would. Escalations come out
as dicts ``{"at", "source", "id", "brand", "level", "risk", "reasons"}`` (plus ``event``:
opened, raised or updated — an update also says what ``changed`` and the story's ``posts`` and
``sources`` — and ``escalation_id``); with ``trace`` also every risk evaluation.

SLA re-escalation is not replayed: nobody acknowledges in a replay, so it would only say that.
Notifications stay in the outbox (``db_url`` keeps them), none is delivered.
"""

from __future__ import annotations

import itertools
import json
import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.clock import SimulatedClock, isoformat_z, parse_iso
from earful.config.loader import load_config
from earful.config.models import AppConfig, BrandConfig
from earful.errors import ConfigError, EarfulError
from earful.mention import Engagement, RawMention
from earful.pipeline import build_context, process_batch
from earful.risk.evaluation import evaluate_and_escalate
from earful.store.db import init_db, make_engine, run_in_transaction
from earful.store.models import EngagementSnapshot, Mention

logger = logging.getLogger(__name__)

ENGAGEMENT_FIELDS = ("likes", "shares", "comments", "views")
# Decisions that come out as lines: one escalation per incident, opened once, then raised or
# updated as its story grows.
ESCALATION_EVENTS = ("opened", "raised", "updated")


class ScenarioError(EarfulError):
    """A scenario file is unreadable or breaks the format."""

    reason = "scenario"


@dataclass(slots=True)
class ReplayResult:
    escalations: list[dict[str, Any]] = field(default_factory=list)
    evaluations: int = 0
    events: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    first_post_at: datetime | None = None
    # The escalated post's steepest views-per-hour interval (start): "the views peak".
    peak_at: datetime | None = None

    @property
    def first_escalation(self) -> dict[str, Any] | None:
        return self.escalations[0] if self.escalations else None

    def hours_to_first_escalation(self) -> float | None:
        """Hours from the escalated post's publication to its first escalation."""
        first = self.first_escalation
        if first is None or first.get("published_at") is None:
            return None
        at = datetime.fromisoformat(str(first["at"]).replace("Z", "+00:00"))
        pub = datetime.fromisoformat(str(first["published_at"]).replace("Z", "+00:00"))
        return round((at - pub).total_seconds() / 3600, 2)

    def lead_hours(self) -> float | None:
        """Hours of warning: from the first escalation to the escalated post's views peak."""
        first = self.first_escalation
        if first is None or self.peak_at is None:
            return None
        at = datetime.fromisoformat(str(first["at"]).replace("Z", "+00:00"))
        return round((self.peak_at - at).total_seconds() / 3600, 2)


# -- scenario files ----------------------------------------------------------------------------


def bundled_scenarios() -> list[str]:
    root = resources.files("earful.run") / "scenarios"
    return sorted(p.name for p in root.iterdir() if p.name.endswith(".jsonl"))


def resolve_scenario(name: str | Path) -> Path:
    """A file path, or the name of a bundled scenario (``ubg``, ``quiet_day.jsonl``)."""
    path = Path(name)
    if path.exists():
        return path
    stem = path.name if path.name.endswith(".jsonl") else f"{path.name}.jsonl"
    bundled = resources.files("earful.run") / "scenarios" / stem
    if bundled.is_file():
        return Path(str(bundled))
    raise ScenarioError(
        f"no scenario {name!s} (bundled: {', '.join(bundled_scenarios())})", reason="not_found"
    )


def _parse_time(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise ScenarioError(f"{where}: expected an ISO 8601 time, got {value!r}")
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise ScenarioError(f"{where}: bad time {value!r}") from exc


def load_scenario(path: str | Path) -> list[dict[str, Any]]:
    """Events of a scenario, validated, in ``at`` order (stable for equal times)."""
    p = resolve_scenario(path)
    events: list[dict[str, Any]] = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{p.name}:{n}"
        try:
            ev = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"{where}: not JSON ({exc.msg})") from exc
        if not isinstance(ev, dict):
            raise ScenarioError(f"{where}: expected an object")
        if ev.get("type") not in ("mention", "engagement"):
            raise ScenarioError(f"{where}: type must be mention or engagement")
        for key in ("source", "id"):
            if not isinstance(ev.get(key), str) or not ev[key]:
                raise ScenarioError(f"{where}: {key} is required")
        ev["_at"] = _parse_time(ev.get("at"), where)
        if ev["type"] == "mention" and "published_at" in ev and ev["published_at"]:
            ev["_published"] = _parse_time(ev["published_at"], where)
        events.append(ev)
    events.sort(key=lambda e: e["_at"])
    return events


# -- config ------------------------------------------------------------------------------------


def scenario_brands(events: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(str(e["brand"]) for e in events if e.get("brand")))


def replay_config(events: list[dict[str, Any]], config_dir: Path | None) -> AppConfig:
    """The config directory's when it loads, else a built-in one; brands named by the scenario
    but absent from the config are added (matched by name)."""
    config: AppConfig | None = None
    if config_dir is not None:
        try:
            config = load_config(config_dir)
        except (ConfigError, OSError) as exc:
            logger.info("replay: config %s not used (%s); using built-in config", config_dir, exc)
    if config is None:
        config = AppConfig()
    known = {b.name.lower() for b in config.brands}
    extra = [BrandConfig(name=b) for b in scenario_brands(events) if b.lower() not in known]
    if extra:
        config = config.model_copy(update={"brands": [*config.brands, *extra]})
    return config


class _ForcedMatcher:
    """The configured matcher, plus the brand a scenario event names (matched by URL)."""

    def __init__(self, inner: Any, forced: dict[str, str]) -> None:
        self.inner = inner
        self.forced = forced

    def match(self, doc: Any) -> list[str]:
        names = list(self.inner.match(doc))
        brand = self.forced.get(getattr(doc, "url", None) or "")
        if brand and brand.lower() not in {n.lower() for n in names}:
            names.append(brand)
        return names


# -- the run -----------------------------------------------------------------------------------


def _url(ev: dict[str, Any]) -> str:
    url = ev.get("url")
    return str(url) if url else f"https://replay.invalid/{ev['source']}/{ev['id']}"


def _raw(ev: dict[str, Any], engagement: Engagement) -> RawMention:
    return RawMention(
        source=ev["source"],
        external_id=ev["id"],
        url=_url(ev),
        text=str(ev.get("text") or ""),
        title=ev.get("title"),
        author=ev.get("author"),
        author_followers=ev.get("author_followers"),
        published_at=ev.get("_published") or ev["_at"],
        language=ev.get("language", "en"),
        engagement=engagement,
    )


def _engagement(ev: dict[str, Any], before: Engagement | None = None) -> Engagement:
    base = before or Engagement()
    values = {f: ev.get(f, getattr(base, f)) for f in ENGAGEMENT_FIELDS}
    return Engagement(**values)


@contextmanager
def _engine_for(db_url: str | None) -> Iterator[Engine]:
    if db_url:
        engine = make_engine(db_url)
        init_db(engine)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with tempfile.TemporaryDirectory(prefix="earful-replay-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'replay.db'}")
        init_db(engine)
        try:
            yield engine
        finally:
            engine.dispose()


def _record_snapshot(session: Session, ev: dict[str, Any], at: datetime) -> int | None:
    mention = session.exec(
        select(Mention).where(Mention.source == ev["source"], Mention.external_id == ev["id"])
    ).first()
    if mention is None or mention.id is None:
        return None
    exists = session.exec(
        select(EngagementSnapshot).where(
            EngagementSnapshot.mention_id == mention.id, EngagementSnapshot.at == at
        )
    ).first()
    snap = exists or EngagementSnapshot(mention_id=mention.id, at=at)
    for f in ENGAGEMENT_FIELDS:
        if ev.get(f) is not None:
            setattr(snap, f, int(ev[f]))
    if ev.get("author_followers") is not None:
        snap.author_followers = int(ev["author_followers"])
    session.add(snap)
    return mention.id


def _peak(events: list[dict[str, Any]], source: str, ext: str) -> datetime | None:
    points = [
        (e["_at"], int(e["views"]))
        for e in events
        if e["type"] == "engagement"
        and e["source"] == source
        and e["id"] == ext
        and e.get("views") is not None
    ]
    best: tuple[float, datetime] | None = None
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        hours = (t1 - t0).total_seconds() / 3600
        if hours > 0:
            rate = (v1 - v0) / hours
            if best is None or rate > best[0]:
                best = (rate, t0)
    return best[1] if best else None


def run_replay(
    scenario: str | Path,
    *,
    db_url: str | None = None,
    config: AppConfig | None = None,
    config_dir: Path | None = None,
    trace: bool = False,
    emit: Callable[[dict[str, Any]], None] | None = None,
) -> ReplayResult:
    """Play ``scenario``; ``emit`` receives each output line as it happens."""

    events = load_scenario(scenario)
    result = ReplayResult(events=len(events))
    if not events:
        return result
    cfg = config or replay_config(events, config_dir)
    clock = SimulatedClock(events[0]["_at"])
    ctx = build_context(cfg, clock)
    forced = {_url(e): str(e["brand"]) for e in events if e["type"] == "mention" and e.get("brand")}
    ctx.matcher = _ForcedMatcher(ctx.matcher, forced)
    mentions: dict[tuple[str, str], dict[str, Any]] = {}
    latest: dict[tuple[str, str], Engagement] = {}
    published: dict[tuple[str, str], datetime] = {}
    rejected: dict[str, int] = {}

    with _engine_for(db_url) as engine:
        for ev in events:
            clock.set(ev["_at"])
            key = (ev["source"], ev["id"])
            if ev["type"] == "mention":
                mentions[key] = ev
                latest[key] = _engagement(ev)
                published[key] = ev.get("_published") or ev["_at"]
                if result.first_post_at is None:
                    result.first_post_at = published[key]
                raw = _raw(ev, latest[key])

                def store(session: Session, raw: RawMention = raw) -> list[int]:
                    report = process_batch(session, [raw], ctx)
                    for reason, n in report.rejected.items():
                        rejected[reason] = rejected.get(reason, 0) + n
                    return report.new_ids + report.updated_ids

                ids = run_in_transaction(engine, store)
            else:
                base = mentions.get(key)
                if base is None:
                    logger.warning("replay: engagement for unknown post %s:%s", *key)
                    continue
                latest[key] = _engagement(ev, latest[key])
                merged = dict(base)
                if ev.get("author_followers") is not None:
                    merged["author_followers"] = ev["author_followers"]
                raw = replace(_raw(merged, latest[key]))

                def update(
                    session: Session, raw: RawMention = raw, ev: dict[str, Any] = ev
                ) -> list[int]:
                    process_batch(session, [raw], ctx)
                    mid = _record_snapshot(session, ev, clock.now())
                    return [mid] if mid is not None else []

                ids = run_in_transaction(engine, update)
            if not ids:
                continue
            evaluations, decisions = evaluate_and_escalate(engine, ids, now=clock.now(), config=cfg)
            result.evaluations += len(evaluations)
            if trace and emit is not None:
                for evaluation in evaluations:
                    emit(evaluation.trace())
            for decision in decisions:
                if decision.action not in ESCALATION_EVENTS or decision.escalation is None:
                    continue
                esc = decision.escalation
                pub = published.get((esc.source or "", esc.external_id or ""))
                line = {
                    "at": isoformat_z(clock.now()),
                    "source": esc.source,
                    "id": esc.external_id,
                    "brand": esc.brand,
                    "level": decision.level,
                    "risk": esc.risk,
                    "reasons": json.loads(esc.reasons),
                    "event": decision.action,
                    "escalation_id": esc.id,
                    "rule": esc.rule,
                    "published_at": isoformat_z(pub) if pub else None,
                }
                if decision.action == "updated":
                    line["changed"] = decision.why
                    line["posts"], line["sources"] = esc.posts, esc.sources
                result.escalations.append(line)
                if emit is not None:
                    emit(line)
    result.rejected = rejected
    first = result.first_escalation
    if first is not None:
        result.peak_at = _peak(events, str(first["source"]), str(first["id"]))
    return result


def replay_lead_hours(path: str | Path) -> float:
    """Hours of warning a replay gives: from the first escalation to the escalated post's views
    peak (the steepest views-per-hour interval). For the bench (``ubg_lead_hours``).

    Raises ScenarioError when the scenario never escalates or has no views curve.
    """
    result = run_replay(path, config=None, config_dir=None)
    lead = result.lead_hours()
    if lead is None:
        raise ScenarioError(f"{path}: no escalation, or no views curve to measure a lead on")
    return lead
