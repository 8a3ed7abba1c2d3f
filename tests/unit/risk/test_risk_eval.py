"""The runner's edge: after-batch hook and periodic tick score, escalate and deliver."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.clock import SimulatedClock
from earful.config.models import AppConfig
from earful.mention import Engagement, RawMention
from earful.notify.outbox import default_deliverer
from earful.pipeline import build_context, process_batch
from earful.risk.evaluation import make_after_batch_hook, tick
from earful.store.db import run_in_transaction
from earful.store.escalations import Escalation, Notification
from earful.store.models import EngagementSnapshot, Mention

T0 = datetime(2025, 5, 2, 15, tzinfo=UTC)


def _config(tmp_path: Path) -> AppConfig:
    return AppConfig.model_validate(
        {
            "brands": [{"name": "Acme"}],
            "escalation": {
                "channels": {"log": {"kind": "file", "path": str(tmp_path / "esc.jsonl")}},
                "routes": [{"level": 1, "channel": "log", "to": "lead"}],
            },
        }
    )


def test_hook_then_tick_escalate_a_spreading_complaint(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    config = _config(tmp_path)
    clock = SimulatedClock(T0)
    ctx = build_context(config, clock)
    hook = make_after_batch_hook(config, clock, deliver=default_deliverer(config, clock))
    raw = RawMention(
        source="youtube",
        external_id="v1",
        url="https://youtube.example/v1",
        title="Acme charger caught fire",
        text="My Acme charger caught fire. Dangerous, avoid Acme.",
        author="angry",
        author_followers=50_000,
        published_at=T0,
        engagement=Engagement(views=10),
    )
    report = run_in_transaction(sqlite_engine, lambda s: process_batch(s, [raw], ctx))
    hook(sqlite_engine, report)
    with Session(sqlite_engine) as s:
        assert s.exec(select(Escalation)).first() is None  # nothing spreads yet
        mention = s.exec(select(Mention)).one()
        assert mention.risk is not None and mention.risk < 50
    # Engagement re-polls (as engagement.refresh_due stores them), then the runner's tick.
    views = 10
    for hour in range(1, 5):
        views *= 6
        at = T0 + timedelta(hours=hour)

        def add(session: Session, at: datetime = at, views: int = views) -> None:
            session.add(
                EngagementSnapshot(
                    mention_id=mention.id or 0,
                    at=at,
                    views=views,
                    likes=views // 20,
                    shares=views // 80,
                )
            )

        run_in_transaction(sqlite_engine, add)
        clock.set(at)
        tick(
            sqlite_engine,
            clock=clock,
            config=config,
            since=at - timedelta(minutes=1),
            deliver=default_deliverer(config, clock),
        )
    with Session(sqlite_engine) as s:
        esc = s.exec(select(Escalation)).one()
        assert esc.brand == "Acme" and esc.level >= 1 and esc.notified_at is not None
        assert s.exec(select(Notification)).first().status == "sent"  # type: ignore[union-attr]
    line = json.loads((tmp_path / "esc.jsonl").read_text().splitlines()[0])
    assert line["brand"] == "Acme" and line["key"].startswith("earful-n")
    assert "caught fire" in " ".join(line["matched_terms"]) or "fire" in line["matched_terms"]


def test_tick_escalates_a_negative_spike_once_history_exists(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    from earful.store.models import MentionBrand

    config = _config(tmp_path)
    now = datetime(2025, 5, 20, 3, 40, tzinfo=UTC)

    def seed(session: Session) -> None:
        times = [now - timedelta(days=d, hours=15) for d in range(1, 15)]  # one a day, at noon
        times += [now - timedelta(minutes=m) for m in range(0, 40, 5)]  # 8 in this night hour
        for i, at in enumerate(times):
            m = Mention(
                source="mastodon",
                external_id=f"s{i}",
                text=f"Acme battery exploded {i}",
                fetched_at=at,
                published_at=at,
                sentiment_label="negative",
                sentiment_compound=-0.7,
            )
            session.add(m)
            session.flush()
            session.add(MentionBrand(mention_id=m.id or 0, brand="Acme", published_at=at))

    run_in_transaction(sqlite_engine, seed)
    clock = SimulatedClock(now)
    tick(sqlite_engine, clock=clock, config=config, since=now)
    clock.advance(timedelta(minutes=10))
    tick(sqlite_engine, clock=clock, config=config, since=now)
    with Session(sqlite_engine) as s:
        spikes = s.exec(select(Escalation).where(Escalation.rule == "negative_spike")).all()
    assert len(spikes) == 1
    assert "8 negative posts" in spikes[0].reasons and "battery" in spikes[0].reasons
