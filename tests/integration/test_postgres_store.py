"""Storage on a real PostgreSQL server (127.0.0.1): upserts, stories, hostile text, leases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.clock import SimulatedClock
from earful.config.models import AppConfig, BrandConfig
from earful.mention import Engagement, RawMention
from earful.pipeline import build_context, process_batch
from earful.store import repository as repo
from earful.store.db import run_in_transaction
from earful.store.models import EngagementSnapshot, Mention, MentionBrand, Story

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CONFIG = AppConfig(brands=[BrandConfig(name="Acme", queries=['"acme"'])])


def count(engine: Engine, model: type) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def test_upsert_idempotent_with_stories_and_snapshots(pg_engine: Engine) -> None:
    ctx = build_context(CONFIG, SimulatedClock(NOW))
    raws = [
        RawMention(
            "rss",
            "1",
            "https://n.example/a?utm_source=x",
            "Acme is awful",
            engagement=Engagement(likes=2),
        ),
        RawMention("hackernews", "9", "https://N.example/a/", "Acme story on HN"),
        RawMention("rss", "2", "https://n.example/b", "Acme is great"),
    ]
    with Session(pg_engine) as s, s.begin():
        first = process_batch(s, raws, ctx, source_name="feed")
    assert len(first.new_ids) == 3
    raws[0].engagement = Engagement(likes=40)
    with Session(pg_engine) as s, s.begin():
        again = process_batch(s, raws, ctx, source_name="feed")
    assert again.new_ids == [] and len(again.updated_ids) == 3
    assert count(pg_engine, Mention) == 3
    assert count(pg_engine, Story) == 2
    assert count(pg_engine, MentionBrand) == 3
    assert count(pg_engine, EngagementSnapshot) == 1
    with Session(pg_engine) as s:
        m = s.exec(select(Mention).where(Mention.external_id == "1")).one()
        assert m.likes == 40 and m.updated_at is not None
        assert m.published_at is None and m.fetched_at.tzinfo is not None


def test_hostile_values_fit_postgres(pg_engine: Engine) -> None:
    ctx = build_context(CONFIG, SimulatedClock(NOW))
    hostile = RawMention(
        "rss",
        "x" * 900,
        "https://evil.example/h",
        "<script>alert(1)</script>\x00 Acme \ud800 " + "y" * 1_000_000,
        title="Acme\x00",
        author="a" * 2000,
        language="en-" + "x" * 50,
    )
    with Session(pg_engine) as s, s.begin():
        report = process_batch(s, [hostile], ctx)
    assert len(report.new_ids) == 1
    with Session(pg_engine) as s:
        m = s.exec(select(Mention)).one()
    assert m.text.startswith("<script>alert(1)</script>\ufffd Acme")
    assert len(m.text) > 1_000_000 and len(m.author or "") == 500


def test_claim_source_one_winner_among_racers(pg_engine: Engine) -> None:
    run_in_transaction(
        pg_engine, lambda s: repo.get_or_create_source_state(s, name="feed", kind="rss")
    )
    winners: list[str] = []
    barrier = threading.Barrier(6)

    def race(owner: str) -> None:
        barrier.wait()
        if run_in_transaction(
            pg_engine,
            lambda s: repo.claim_source(
                s, "feed", owner=owner, now=NOW, lease=timedelta(minutes=5)
            ),
        ):
            winners.append(owner)

    threads = [threading.Thread(target=race, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1


def test_list_mentions_search_is_case_insensitive(pg_engine: Engine) -> None:
    ctx = build_context(CONFIG, SimulatedClock(NOW))
    with Session(pg_engine) as s, s.begin():
        process_batch(s, [RawMention("rss", "1", None, "ACME Refund missing")], ctx)
    with Session(pg_engine) as s:
        assert [r.brands for r in repo.list_mentions(s, search="refund", brand="acme")] == [
            ["Acme"]
        ]
