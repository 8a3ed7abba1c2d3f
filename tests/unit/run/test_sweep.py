"""The sweep of lost risk evaluations: stored mentions no evaluation reached are found once,
re-enqueued in chunks, and not found again once evaluated."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.clock import SimulatedClock
from earful.mention import RawMention
from earful.run import distributed, sweep
from earful.run.celery_config import BEAT, TASK_ROUTES
from earful.settings import Settings
from earful.sources.http import make_client

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def rt(tmp_path: Path, sqlite_engine: Engine) -> Iterator[distributed.Runtime]:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "brands.yaml").write_text(
        "brands:\n"
        "  - {name: Acme, queries: ['\"acme\"'], competitors: [Rival]}\n"
        "  - {name: Rival, queries: ['\"rival\"'], track: false}\n"
    )
    (config_dir / "sources.yaml").write_text("sources: []\n")
    settings = Settings(config=config_dir, sweep_grace_s=60)  # type: ignore[call-arg]
    http = make_client(settings, transport=httpx.MockTransport(lambda r: httpx.Response(404)))
    # risk_enqueuer None: every stored batch's risk follow-up is lost, as in a Redis restart
    runtime = distributed.Runtime(
        settings=settings, engine=sqlite_engine, http=http, clock=SimulatedClock(T0)
    )
    yield runtime
    http.close()


def store(rt: distributed.Runtime) -> None:
    def raw(ident: str, text: str, hours_ago: float) -> RawMention:
        return RawMention(
            source="x",
            external_id=ident,
            url=None,
            text=text,
            published_at=T0 - timedelta(hours=hours_ago),
        )

    batch = [
        raw("angry", "Acme is awful, terrible service", 1),
        raw("calm", "Acme opened a new shop", 2),
        raw("rival", "Rival is awful too", 1),  # an untracked brand: never scored
        raw("old", "Acme was awful last month", 24 * 30),  # outside the incident window
    ]
    assert distributed.process_pushed(rt, distributed.batch_payload(batch))["new"] == 4


def mention_ids(engine: Engine, *idents: str) -> list[int]:
    from sqlmodel import col, select

    from earful.store.models import Mention

    with Session(engine) as s:
        rows = s.exec(select(Mention.id).where(col(Mention.external_id).in_(idents))).all()
    return sorted(int(i) for i in rows if i is not None)


def clock(rt: distributed.Runtime) -> SimulatedClock:
    assert isinstance(rt.clock, SimulatedClock)
    return rt.clock


def test_mentions_no_evaluation_reached_are_swept_once(rt: distributed.Runtime) -> None:
    store(rt)
    sent: list[list[int]] = []
    # Within the grace the follow-up may still be in a queue: nothing is sent twice.
    assert distributed.sweep_unscored(rt, sent.append) == 0
    clock(rt).advance(timedelta(minutes=2))
    # A process queue with work waiting is late, not lost.
    assert distributed.sweep_unscored(rt, sent.append, backlog=lambda: 3) == 0
    assert distributed.sweep_unscored(rt, sent.append, backlog=lambda: 0) == 2
    assert sent == [mention_ids(rt.engine, "angry", "calm")]
    distributed.evaluate_risk(rt, sent[0])  # what the re-enqueued task does
    sent.clear()
    assert distributed.sweep_unscored(rt, sent.append) == 0 and sent == []


def test_unscored_ids_come_in_chunks(rt: distributed.Runtime) -> None:
    store(rt)
    ids = list(range(1, 1201))
    assert [len(c) for c in sweep.chunks(ids)] == [500, 500, 200]
    with Session(rt.engine) as session:
        found = sweep.unscored_mentions(
            session, now=T0 + timedelta(minutes=5), config=rt.config(), grace=timedelta(0), limit=1
        )
    assert found == mention_ids(rt.engine, "angry")


def test_beat_sends_the_sweep_to_a_routed_task() -> None:
    assert "earful.sweep_unscored" in {task for _, task, _ in BEAT}
    assert TASK_ROUTES["earful.sweep_unscored"]["queue"] == "process"


def test_the_embedded_sweep_evaluates_them(rt: distributed.Runtime) -> None:
    store(rt)  # as if `earful run` was killed between the commit and its risk hook
    later = T0 + timedelta(minutes=5)
    grace = timedelta(minutes=2)
    config = rt.config()
    assert sweep.rescore_unscored(rt.engine, now=later, config=config, grace=grace) == 2
    with Session(rt.engine) as session:
        assert sweep.unscored_mentions(session, now=later, config=config, grace=grace) == []
    assert sweep.rescore_unscored(rt.engine, now=later, config=config, grace=grace) == 0
