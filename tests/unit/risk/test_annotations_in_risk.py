"""A person's annotations reach risk: irrelevant or spam leaves the incident, a corrected
label replaces the score's sign (the stored scores stay as computed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.clock import SimulatedClock
from earful.config.models import AppConfig
from earful.mention import Engagement, RawMention
from earful.pipeline import build_context, process_batch
from earful.risk.evaluation import evaluate
from earful.store.annotations import Change, annotate
from earful.store.db import run_in_transaction
from earful.store.models import Mention

T0 = datetime(2025, 5, 2, 15, tzinfo=UTC)
TEXT = "My Acme charger caught fire and burned my desk, dangerous https://video.example/v/fire1"


def _store(engine: Engine, config: AppConfig) -> dict[str, int]:
    ctx = build_context(config, SimulatedClock(T0))
    raws = [
        RawMention(
            source="forum",
            external_id=f"p{i}",
            url=f"https://forum.example/p{i}",
            text=TEXT if i < 3 else f"RT @a: {TEXT}",
            author=f"u{i}",
            author_followers=100,
            published_at=T0 + timedelta(minutes=i),
            engagement=Engagement(likes=i),
        )
        for i in range(5)
    ]
    run_in_transaction(engine, lambda s: process_batch(s, raws, ctx))
    with Session(engine) as s:
        return {m.external_id: m.id or 0 for m in s.exec(select(Mention)).all()}


def _evaluate(engine: Engine, config: AppConfig, ids: list[int]) -> dict[int, tuple[float, int]]:
    now = T0 + timedelta(hours=1)
    evs = run_in_transaction(engine, lambda s: evaluate(s, ids, now=now, config=config))
    return {
        ev.mention.mention_id or 0: (ev.mention_risk.risk, len(ev.incident.members)) for ev in evs
    }


def test_irrelevant_leaves_its_incident_and_a_corrected_label_gates_risk(
    sqlite_engine: Engine,
) -> None:
    config = AppConfig.model_validate({"brands": [{"name": "Acme"}]})
    ids = _store(sqlite_engine, config)
    before = _evaluate(sqlite_engine, config, list(ids.values()))
    assert before[ids["p0"]][1] == 5 and before[ids["p0"]][0] > 0

    def mark(s: Session) -> None:
        annotate(s, ids["p4"], Change(status="spam"), actor="lea", now=T0)
        annotate(s, ids["p0"], Change(sentiment="positive"), actor="lea", now=T0)

    run_in_transaction(sqlite_engine, mark)
    after = _evaluate(sqlite_engine, config, list(ids.values()))
    assert after[ids["p4"]] == (0.0, 1)  # judged alone, at no risk
    assert after[ids["p1"]][1] == 4  # the incident without the spam
    assert after[ids["p0"]][0] == 0.0  # "not negative" after the correction
    with Session(sqlite_engine) as s:
        # The stored score is untouched: the correction sits beside it.
        assert s.get(Mention, ids["p0"]).sentiment_compound < 0  # type: ignore[union-attr]
