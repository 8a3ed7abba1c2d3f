"""One brand's evaluation on PostgreSQL: one place at a time, and rows that commit late (their
ids handed out before a later row's) still reach every process's window."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.clock import SimulatedClock
from earful.config.models import AppConfig
from earful.mention import RawMention
from earful.pipeline import build_context, process_batch
from earful.risk.evaluation import evaluate, evaluate_and_escalate, lock_brand
from earful.risk.sync import forget_windows
from earful.store.db import run_in_transaction
from tests.integration.distributed.conftest import wait_until

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
CONFIG = AppConfig.model_validate({"brands": [{"name": "Acme"}]})
VIDEO = "https://www.youtube.com/watch?v=acmefire01"


def _raw(ext: str, text_: str, minutes: int) -> RawMention:
    return RawMention(
        source="forum",
        external_id=ext,
        url=f"https://forum.example/{ext}",
        text=text_,
        published_at=NOW - timedelta(minutes=minutes),
    )


def _store(engine: Engine, raw: RawMention) -> int:
    ctx = build_context(CONFIG, SimulatedClock(NOW))
    report = run_in_transaction(engine, lambda s: process_batch(s, [raw], ctx))
    return int(report.new_ids[0])


def test_a_brand_is_evaluated_in_one_place_at_a_time(pg_engine: Engine) -> None:
    mid = _store(pg_engine, _raw("p1", f"My Acme charger caught fire {VIDEO}", 30))
    done = threading.Event()

    def other_worker() -> None:
        evaluate_and_escalate(pg_engine, [mid], now=NOW, config=CONFIG)
        done.set()

    waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    with Session(pg_engine) as holder, holder.begin():
        lock_brand(holder, "Acme")
        worker = threading.Thread(target=other_worker)
        worker.start()
        with pg_engine.connect() as conn:
            wait_until(
                lambda: conn.execute(text(waiting)).scalar_one() == 1, 30, "a waiting evaluation"
            )
        assert not done.is_set()  # it waits for the brand's lock, it does not run beside it
    worker.join(timeout=60)
    assert done.is_set()


def test_a_row_that_commits_late_still_joins_its_story(pg_engine: Engine) -> None:
    forget_windows(pg_engine)
    ctx = build_context(CONFIG, SimulatedClock(NOW))
    first = _raw("p1", f"My Acme charger caught fire, watch {VIDEO}", 40)
    with Session(pg_engine) as slow, slow.begin():
        # A poll that got its id first and commits last.
        late_id = process_batch(slow, [first], ctx).new_ids[0]
        other = _store(pg_engine, _raw("p2", "Acme support was friendly today", 30))
        evaluate_and_escalate(pg_engine, [other], now=NOW, config=CONFIG)  # syncs past late_id
    repost = _store(pg_engine, _raw("p3", f"RT: Acme charger caught fire {VIDEO}", 20))
    assert late_id < other < repost
    with Session(pg_engine) as s:
        (ev,) = evaluate(s, [repost], now=NOW, config=CONFIG)
        s.rollback()
    assert sorted(m.key for m in ev.incident.members) == ["forum:p1", "forum:p3"]
