"""``run.rematch``: the ingest's match stage over stored mentions — scope, source restrictions,
competitor flags, dry runs, and the fingerprints the run loop compares."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.clock import SimulatedClock
from earful.config.models import AppConfig, BrandConfig, SourceConfig
from earful.mention import RawMention
from earful.pipeline import build_context, process_batch
from earful.run.loop import run_forever
from earful.run.rematch import fingerprint_of, rematch, rematch_changed
from earful.settings import get_settings
from earful.sources.http import make_client
from earful.store.brand_queries import stored_fingerprints
from earful.store.models import MentionBrand

NOW = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
SOURCES = [
    SourceConfig(name="news", kind="rss", url="https://news.example/feed"),
    SourceConfig(name="initech-only", kind="rss", url="https://x.example/f", brands=["Initech"]),
]
TEXTS = {
    "a1": "Acme shipped my order fast",
    "a2": "Acme refund still missing",
    "g1": "Globex opened a plant",
    "ai": "Acme and Initech merge talks",
}


def config(acme: str = "acme", *, globex_track: bool = False, initech: bool = True) -> AppConfig:
    brands = [
        BrandConfig(name="Acme", queries=[acme]),
        BrandConfig(name="Globex", queries=["globex"], track=globex_track),
    ]
    if initech:
        brands.append(BrandConfig(name="Initech", queries=["initech"]))
    return AppConfig(brands=brands, sources=SOURCES)


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    ctx = build_context(config(), SimulatedClock(NOW))
    with Session(sqlite_engine) as s, s.begin():
        news = [RawMention("rss", k, f"https://n.example/{k}", t) for k, t in TEXTS.items()]
        process_batch(s, news[:3], ctx, source_name="news")
        process_batch(s, news[3:], ctx, source_name="initech-only")
    return sqlite_engine


def links(engine: Engine) -> set[tuple[int, str, bool]]:
    with Session(engine) as s:
        return {(b.mention_id, b.brand, b.is_competitor) for b in s.exec(select(MentionBrand))}


def brands_of(engine: Engine) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for mid, brand, _ in links(engine):
        out.setdefault(brand, set()).add(mid)
    return out


def test_ingest_respects_the_source_restriction(engine: Engine) -> None:
    got = brands_of(engine)
    assert len(got["Acme"]) == 2 and len(got["Initech"]) == 1  # "ai" came via initech-only


def test_exclusion_drops_and_a_dry_run_changes_nothing(engine: Engine) -> None:
    before = links(engine)
    dry = rematch(engine, config("acme -refund"), now=NOW, dry_run=True)
    assert dry.brands["Acme"].dropped == 1 and dry.brands["Acme"].added == 0
    assert dry.unlinked == 1 and dry.scanned == 4
    assert links(engine) == before
    with Session(engine) as s:
        assert stored_fingerprints(s) == {}  # a dry run records nothing

    done = rematch(engine, config("acme -refund"), now=NOW, chunk=2)  # chunks of two
    assert (done.brands["Acme"].before, done.brands["Acme"].after) == (2, 1)
    assert len(brands_of(engine)["Acme"]) == 1
    with Session(engine) as s:
        assert stored_fingerprints(s) == fingerprint_of(config("acme -refund"))


def test_source_restriction_is_applied_on_rematch_too(engine: Engine) -> None:
    # "Acme and Initech" came from a source that may match only Initech: widening Acme's
    # query must not link it to Acme.
    report = rematch(engine, config("acme OR merge"), now=NOW)
    assert report.brands["Acme"].added == 0


def test_scope_and_unknown_brands(engine: Engine) -> None:
    report = rematch(engine, config("acme -refund"), now=NOW, brands=["globex"])
    assert list(report.brands) == ["Globex"] and report.changed == 0
    assert len(brands_of(engine)["Acme"]) == 2  # out of scope: untouched
    with pytest.raises(ValueError, match="Nope"):
        rematch(engine, config(), now=NOW, brands=["Nope"])


def test_track_change_flips_the_competitor_flag(engine: Engine) -> None:
    assert any(b == "Globex" and c for _, b, c in links(engine))
    report = rematch(engine, config(globex_track=True), now=NOW)
    assert report.competitor_flags == 1 and report.brands["Globex"].dropped == 0
    assert all(not c for _, b, c in links(engine) if b == "Globex")


def test_rematch_changed_baselines_then_follows_the_config(engine: Engine) -> None:
    assert rematch_changed(engine, config(), now=NOW) is None  # first time: recorded only
    with Session(engine) as s:
        assert set(stored_fingerprints(s)) == {"Acme", "Globex", "Initech"}
    assert rematch_changed(engine, config(), now=NOW) is None  # unchanged

    report = rematch_changed(engine, config("acme -refund"), now=NOW)
    assert report is not None and list(report.brands) == ["Acme"]
    assert report.brands["Acme"].dropped == 1

    report = rematch_changed(engine, config("acme -refund", initech=False), now=NOW)
    assert report is None  # a brand removed: forgotten, its links kept
    assert len(brands_of(engine)["Initech"]) == 1
    with Session(engine) as s:
        assert "Initech" not in stored_fingerprints(s)


def test_fingerprint_follows_what_decides_the_links() -> None:
    base = fingerprint_of(config())
    assert fingerprint_of(config()) == base
    assert fingerprint_of(config("acme -refund"))["Acme"] != base["Acme"]
    assert fingerprint_of(config("acme -refund"))["Globex"] == base["Globex"]
    assert fingerprint_of(config(globex_track=True))["Globex"] != base["Globex"]
    narrowed = config().model_copy(update={"sources": SOURCES[:1]})
    assert fingerprint_of(narrowed)["Acme"] != base["Acme"]  # initech-only no longer excludes it


def test_the_run_loop_rematches_when_a_reload_changes_the_queries(engine: Engine) -> None:
    turns: list[object] = []
    stop = threading.Event()

    def load() -> AppConfig:
        return config() if not turns else config("acme -refund")

    def on_pass(report: object) -> None:
        turns.append(report)
        if len(turns) >= 2:
            stop.set()

    http = make_client(
        get_settings(max_retries=0),
        transport=httpx.MockTransport(lambda r: httpx.Response(404)),
        sleep=lambda s: None,
        host_min_interval_s=0.0,
    )
    with http:
        run_forever(
            engine,
            load,
            get_settings(),
            SimulatedClock(NOW),
            stop=stop,
            http=http,
            on_pass=on_pass,
            max_sleep_s=0.01,
            lockstep=True,
        )
    # turn one recorded the fingerprints; turn two saw the exclusion and applied it
    assert len(brands_of(engine)["Acme"]) == 1
    assert all("rematch" not in t.step_errors for t in turns)  # type: ignore[attr-defined]
    with Session(engine) as s:
        assert stored_fingerprints(s) == fingerprint_of(config("acme -refund"))


def test_site_links_the_store_cannot_replay_are_kept_and_counted(sqlite_engine: Engine) -> None:
    cfg = AppConfig(brands=[BrandConfig(name="Docs", queries=["site:docs.example.org"])])
    story = RawMention(
        "hackernews",
        "s1",
        "https://news.ycombinator.com/item?id=1",
        "Show HN: a tour",
        extra={"link_url": "https://docs.example.org/tour"},
    )
    with Session(sqlite_engine) as s, s.begin():
        process_batch(s, [story], build_context(cfg, SimulatedClock(NOW)))
    assert brands_of(sqlite_engine)["Docs"]
    report = rematch(sqlite_engine, cfg, now=NOW)
    assert report.brands["Docs"].dropped == 0 and report.brands["Docs"].unsure == 1
    assert brands_of(sqlite_engine)["Docs"]  # kept: its evidence is not in the store
