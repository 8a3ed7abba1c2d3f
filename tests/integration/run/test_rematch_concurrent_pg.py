"""Two re-matches of one PostgreSQL store at once (``earful mentions rematch`` beside the run
loop, or two workers after a config change) end with the links one re-match gives: the
database keeps one row per (mention, brand) and one fingerprint per brand."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.clock import SimulatedClock
from earful.config.models import AppConfig, BrandConfig
from earful.mention import RawMention
from earful.pipeline import build_context, process_batch
from earful.run.rematch import rematch, rematch_changed
from earful.store.brand_queries import BrandQueryState, save_fingerprints
from earful.store.models import MentionBrand

NOW = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


def _config(*, with_globex: bool) -> AppConfig:
    brands = [BrandConfig(name="Acme", queries=["acme -refund"])]
    if with_globex:
        brands.append(BrandConfig(name="Globex", queries=["globex"]))
    return AppConfig(brands=brands)


def _store(engine: Engine) -> None:
    ctx = build_context(
        AppConfig(brands=[BrandConfig(name="Acme", queries=["acme"])]), SimulatedClock(NOW)
    )
    raws = []
    for i in range(300):
        text = ["Acme shipped fast", "Acme refund missing", "Acme and Globex merge"][i % 3]
        raws.append(RawMention("rss", f"m{i}", f"https://n.example/{i}", f"{text} #{i}"))
    with Session(engine) as s, s.begin():
        process_batch(s, raws, ctx, source_name="news")


def _links(engine: Engine) -> set[tuple[int, str]]:
    with Session(engine) as s:
        return {(b.mention_id, b.brand) for b in s.exec(select(MentionBrand))}


def _both_at_once(target: object, *args: object) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait()
            target(*args)  # type: ignore[operator]
        except BaseException as exc:  # the test reports what a thread raised
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_two_rematches_at_once_give_the_links_of_one(
    pg_engine: Engine, sqlite_engine: Engine
) -> None:
    config = _config(with_globex=True)
    for engine in (pg_engine, sqlite_engine):
        _store(engine)
    alone = rematch(sqlite_engine, config, now=NOW)
    assert alone.brands["Acme"].dropped == 100 and alone.brands["Globex"].added == 100

    errors = _both_at_once(lambda: rematch(pg_engine, config, now=NOW, chunk=50))
    assert errors == []
    assert _links(pg_engine) == _links(sqlite_engine)


def test_fingerprints_recorded_at_once_stay_one_row_per_brand(pg_engine: Engine) -> None:
    _store(pg_engine)
    prints = {"Acme": "a" * 64, "Globex": "b" * 64}

    def record() -> None:
        with Session(pg_engine) as s, s.begin():
            save_fingerprints(s, fingerprints=prints, now=NOW)

    assert _both_at_once(record) == []
    with Session(pg_engine) as s:
        rows = s.exec(select(BrandQueryState)).all()
    assert sorted((r.brand, r.fingerprint) for r in rows) == sorted(prints.items())
    # and the loop's step on top of them re-matches the brands whose queries differ
    report = rematch_changed(pg_engine, _config(with_globex=True), now=NOW)
    assert report is not None and report.brands["Acme"].dropped == 100
