"""Every source kind enabled at once, through the real main job, against the mocked outside world.

A temp config enables one source of each of the twelve kinds (secrets from the environment);
respx serves the real recorded bodies (:mod:`tests.e2e.sources_world`). One pass of the main
job (``loop.run_pass``: poll, engagement, risk, notify, digests) must store brand-matched,
scored mentions of every kind, with every source healthy and the secrets sent as each API
wants them. Then the simulated clock moves past the re-poll interval twice while the APIs
report growing counts: the next pass of the main job, then ``engagement.refresh_due`` itself,
must re-read every tracked mention and add snapshots whose counts exceed the first-sight
ones, for every kind that refreshes. Polling and one refresh run on PostgreSQL too.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from earful import engagement
from earful.clock import SimulatedClock
from earful.config.loader import load_config
from earful.config.models import AppConfig
from earful.run.loop import build_loop_context, run_pass
from earful.run.runner import RunReport
from earful.settings import Settings
from earful.sources.http import HttpClient, make_client
from tests.e2e.sources_world import (
    APP_ID,
    FEED_URL,
    JSONLD_URL,
    YELP_BUSINESS,
    YT_TRACKED_VIDEO,
    World,
)

pytestmark = pytest.mark.e2e

# Secrets the config reads with ${VAR}; the test puts them in the environment.
SECRETS = {
    "EARFUL_E2E_REDDIT_ID": "reddit-app-id",
    "EARFUL_E2E_REDDIT_SECRET": "reddit-app-secret",
    "EARFUL_E2E_YOUTUBE_KEY": "yt-key-123",
    "EARFUL_E2E_YELP_KEY": "yelp-key-456",
    "EARFUL_E2E_BSKY_PASSWORD": "abcd-efgh-ijkl-mnop",
}
# Plus EARFUL_E2E_BSKY_HANDLE, unique per test: Bluesky sessions are cached per process and
# handle, and each test must log in itself.

# One brand per kind, its queries chosen from the recorded texts.
BRANDS_YAML = """brands:
  - name: Core Intuition
    queries: ['"core intuition" OR "apple tv" OR iphone']
  - name: Blogosphere
    queries: ['blogosphere']
  - name: AskReddit
    queries: ['serious OR reddit']
  - name: Hoot
    queries: ['hoot']
  - name: Acme
    queries: ['acme']
  - name: Java
    queries: ['java']
  - name: Widget
    queries: ['widget']
  - name: Surfing
    queries: ['surfing OR surf OR google OR chromedevsummit']
  - name: Reality
    queries: ['reality OR アバター']
  - name: Margherita
    queries: ['pizza']
  - name: La Palma
    queries: ['mission OR deli']
  - name: USAID
    queries: ['usaid OR "bar fight"']
"""

# The brand each kind's mentions are expected to carry.
BRAND_OF = {
    "rss": "Core Intuition",
    "hackernews": "Blogosphere",
    "reddit": "AskReddit",
    "mastodon": "Hoot",
    "lemmy": "Acme",
    "stackexchange": "Java",
    "github": "Widget",
    "youtube": "Surfing",
    "appstore": "Reality",
    "jsonld": "Margherita",
    "yelp": "La Palma",
    "bluesky": "USAID",
}

# Engagement tracked for as long as the recordings are old (2015 onwards); re-polled often.
TRACK = "      refresh_max_age: 9000d\n      refresh_min: 10m\n"

SOURCES_YAML = f"""sources:
  - name: manton-blog
    kind: rss
    url: {FEED_URL}
  - name: hn
    kind: hackernews
    params:
      query: blogosphere
{TRACK}  - name: askreddit
    kind: reddit
    params:
      client_id: ${{EARFUL_E2E_REDDIT_ID}}
      client_secret: ${{EARFUL_E2E_REDDIT_SECRET}}
      user_agent: "linux:earful-e2e:0.1 (by /u/earful)"
      subreddits: [askreddit]
      max_pages: 1
{TRACK}  - name: hoot-tag
    kind: mastodon
    params:
      instances: [mastodon.social]
      hashtags: [hoot]
{TRACK}  - name: acme-lemmy
    kind: lemmy
    params:
      instances: [lemmy.world]
      query: acme
{TRACK}  - name: so-java
    kind: stackexchange
    params:
      q: java
      max_pages: 1
{TRACK}  - name: widget-issues
    kind: github
    params:
      query: widget is:issue
{TRACK}  - name: surf-videos
    kind: youtube
    params:
      q: surfing
      key: ${{EARFUL_E2E_YOUTUBE_KEY}}
      comment_videos: 0
      videos: [{YT_TRACKED_VIDEO}]
{TRACK}  - name: reality-jp
    kind: appstore
    params:
      app_id: {APP_ID}
      countries: [jp]
      pages: 1
      format: json
  - name: margherita
    kind: jsonld
    url: {JSONLD_URL}
  - name: la-palma
    kind: yelp
    params:
      api_key: ${{EARFUL_E2E_YELP_KEY}}
      businesses: [{YELP_BUSINESS}]
  - name: bsky-search
    kind: bluesky
    params:
      q: usaid
      handle: ${{EARFUL_E2E_BSKY_HANDLE}}
      app_password: ${{EARFUL_E2E_BSKY_PASSWORD}}
{TRACK}"""

KINDS = tuple(BRAND_OF)
REFRESHED_KINDS = (
    "hackernews",
    "reddit",
    "mastodon",
    "lemmy",
    "stackexchange",
    "github",
    "youtube",
    "bluesky",
)


def write_config(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "brands.yaml").write_text(BRANDS_YAML, encoding="utf-8")
    (directory / "sources.yaml").write_text(SOURCES_YAML, encoding="utf-8")
    return directory


START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
# Past the re-poll interval of the config (refresh_min: 10m).
STEP = timedelta(minutes=11)


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppConfig:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("EARFUL_E2E_BSKY_HANDLE", f"e2e-{uuid.uuid4().hex[:8]}.bsky.social")
    return load_config(write_config(tmp_path / "config"))


@pytest.fixture
def http(world: World) -> Iterator[HttpClient]:
    settings = Settings(max_retries=0)
    with make_client(
        settings, transport=world.transport(), sleep=lambda _s: None, host_min_interval_s=0
    ) as client:
        yield client


def rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql)))


def main_pass(
    engine: Engine, config: AppConfig, http: HttpClient, clock: SimulatedClock
) -> RunReport:
    """One pass of the main job, as ``earful run --once`` runs it (minus the real clock and
    network): poll, engagement, risk and SLA, notifications, digests."""
    settings = Settings(max_retries=0)
    ctx, deliver = build_loop_context(config, settings, clock, env={})
    try:
        report: RunReport = run_pass(
            engine, config, settings, clock, http=http, ctx=ctx, deliver=deliver
        )
    finally:
        deliver.close()
    assert report.step_errors == {}
    return report


def poll_everything(
    engine: Engine, config: AppConfig, http: HttpClient, clock: SimulatedClock
) -> RunReport:
    """The first pass; asserts it stored mentions of every kind, matched and scored, and left
    every source healthy. Returns the pass's report."""
    report = main_pass(engine, config, http, clock)
    failed = {p.source: (p.reason, p.error) for p in report.polls if not p.ok}
    assert failed == {}
    assert sorted(p.kind for p in report.polls) == sorted(KINDS)
    # Every recorded item is distinct: a poll drops only what matches no brand (the reviews
    # of one jsonld page share the page's URL, yet are ten reviews, not one).
    dropped = {p.source: dict(p.rejected) for p in report.polls if set(p.rejected) - {"no_brand"}}
    assert dropped == {}

    per_kind = {
        r.source: r.n
        for r in rows(engine, "select source, count(*) as n from mention group by source")
    }
    assert set(per_kind) == set(KINDS), per_kind
    assert all(n > 0 for n in per_kind.values()), per_kind
    # The pass's own report agrees with the store.
    new_by_kind: dict[str, int] = defaultdict(int)
    for poll in report.polls:
        new_by_kind[poll.kind] += poll.new
    assert dict(new_by_kind) == per_kind

    # Every stored mention is matched to a brand, and each kind to the brand chosen for it.
    unmatched = rows(
        engine,
        "select m.source, m.external_id from mention m where not exists "
        "(select 1 from mention_brand b where b.mention_id = m.id)",
    )
    assert unmatched == []
    brands = defaultdict(set)
    for r in rows(
        engine,
        "select m.source, b.brand from mention m join mention_brand b on b.mention_id = m.id",
    ):
        brands[r.source].add(r.brand)
    for kind, brand in BRAND_OF.items():
        assert brand in brands[kind], (kind, brands[kind])

    # Scored: VADER's proportions sum to 1 for any scored text (they stay 0 unscored).
    scored = {
        r.source: r.n
        for r in rows(
            engine,
            "select source, count(*) as n from mention "
            "where sentiment_neg + sentiment_neu + sentiment_pos > 0.99 group by source",
        )
    }
    assert scored == per_kind
    labels = {
        r.sentiment_label for r in rows(engine, "select distinct sentiment_label from mention")
    }
    assert {"positive", "negative"} <= labels

    # Health: every source polled fine, once, and is due again at its interval.
    health = {
        r.name: r
        for r in rows(
            engine,
            "select name, kind, enabled, consecutive_failures, last_error_reason, last_ok_at, "
            "last_item_count, next_poll_at from source_state",
        )
    }
    assert {h.kind for h in health.values()} == set(KINDS)
    for name, h in health.items():
        assert h.enabled and h.consecutive_failures == 0 and h.last_error_reason is None, name
        assert h.last_ok_at is not None and h.last_item_count, name
    return report


def assert_secrets_sent(world: World) -> None:
    """The secrets reached the APIs from the environment, as each API wants them."""
    token = world.router["reddit-token"].calls.last.request
    basic = base64.b64encode(
        f"{SECRETS['EARFUL_E2E_REDDIT_ID']}:{SECRETS['EARFUL_E2E_REDDIT_SECRET']}".encode()
    ).decode()
    assert token.headers["Authorization"] == f"Basic {basic}"
    search = world.router["youtube-search"].calls.last.request
    assert search.url.params["key"] == SECRETS["EARFUL_E2E_YOUTUBE_KEY"]
    yelp = world.router["yelp"].calls.last.request
    assert yelp.headers["Authorization"] == f"Bearer {SECRETS['EARFUL_E2E_YELP_KEY']}"
    login = json.loads(world.router["bsky-login"].calls.last.request.content)
    assert login["password"] == SECRETS["EARFUL_E2E_BSKY_PASSWORD"]


def first_and_last_snapshots(engine: Engine) -> dict[str, list[tuple[Any, Any]]]:
    """kind -> (first, latest) snapshot of every mention that has two or more."""
    by_mention: dict[int, list[Any]] = defaultdict(list)
    kind_of: dict[int, str] = {}
    for r in rows(
        engine,
        "select m.source, s.mention_id, s.at, s.likes, s.shares, s.comments, s.views, "
        "s.author_followers from engagement_snapshot s join mention m on m.id = s.mention_id "
        "order by s.mention_id, s.at",
    ):
        by_mention[r.mention_id].append(r)
        kind_of[r.mention_id] = r.source
    out: dict[str, list[tuple[Any, Any]]] = defaultdict(list)
    for mid, snaps in by_mention.items():
        if len(snaps) >= 2:
            out[kind_of[mid]].append((snaps[0], snaps[-1]))
    return out


def test_every_source_polled_then_engagement_grows_sqlite(
    sqlite_engine: Engine, config: AppConfig, http: HttpClient, world: World
) -> None:
    engine = sqlite_engine
    clock = SimulatedClock(START)
    report = poll_everything(engine, config, http, clock)
    assert_secrets_sent(world)
    assert report.refreshed == 0  # nothing is due for a re-poll at first sight
    first_sight = {
        r.source: r.n
        for r in rows(
            engine,
            "select m.source, count(*) as n from engagement_snapshot s "
            "join mention m on m.id = s.mention_id group by m.source",
        )
    }
    # First-sight snapshots wherever the payload carries counts (search.list has none, but
    # the videos.list statistics read in the same poll do).
    for kind in (*REFRESHED_KINDS, "appstore"):
        assert first_sight.get(kind, 0) > 0, (kind, first_sight)

    # The next pass of the main job polls nothing (no interval is over) but re-polls every
    # tracked mention; a direct engagement.refresh_due later does it again.
    world.bump()
    clock.advance(STEP)
    second = main_pass(engine, config, http, clock)
    assert second.polls == []
    refreshed = [second.refreshed]
    world.bump()
    clock.advance(STEP)
    refreshed.append(engagement.refresh_due(engine, http, config, clock))
    tracked = rows(
        engine,
        "select count(*) as n from mention where source in ("
        + ",".join(f"'{k}'" for k in REFRESHED_KINDS)
        + ")",
    )[0].n
    # Every tracked mention was read back at both re-polls (fast growth: min interval again).
    assert refreshed == [tracked, tracked]
    assert set(world.refresh_calls) == set(REFRESHED_KINDS)

    grown = first_and_last_snapshots(engine)
    for kind in REFRESHED_KINDS:
        pairs = grown.get(kind, [])
        assert pairs, f"{kind}: no mention gained a snapshot"
        for first, last in pairs:
            assert last.at > first.at
            assert last.likes is not None and first.likes is not None, (kind, first, last)
            assert last.likes > first.likes, (kind, first, last)
    # The mention rows carry the latest counts.
    latest = rows(
        engine,
        "select m.source, m.likes, s.likes as snap_likes from mention m join engagement_snapshot s "
        "on s.mention_id = m.id where s.at = (select max(at) from engagement_snapshot "
        "where mention_id = m.id)",
    )
    assert latest and all(r.likes == r.snap_likes for r in latest)
    # Three readings of every tracked mention, each with changed counts: 3 snapshots each.
    per_mention = rows(
        engine,
        "select m.source, count(s.id) as n from mention m left join engagement_snapshot s "
        "on s.mention_id = m.id group by m.id, m.source",
    )
    assert {r.n for r in per_mention if r.source in REFRESHED_KINDS} == {3}

    # Past the poll interval (15m) every source is polled again: all healthy, nothing new.
    stored = rows(engine, "select count(*) as n from mention")[0].n
    clock.advance(STEP)
    third = main_pass(engine, config, http, clock)
    assert sorted(p.kind for p in third.polls) == sorted(KINDS)
    assert [p.source for p in third.polls if not p.ok or p.new] == []
    assert rows(engine, "select count(*) as n from mention")[0].n == stored


@pytest.mark.integration
def test_every_source_polled_postgres(
    pg_engine: Engine, config: AppConfig, http: HttpClient, world: World
) -> None:
    clock = SimulatedClock(START)
    poll_everything(pg_engine, config, http, clock)
    assert_secrets_sent(world)
    world.bump()
    clock.advance(STEP)
    assert engagement.refresh_due(pg_engine, http, config, clock) > 0
    grown = first_and_last_snapshots(pg_engine)
    assert set(grown) == set(REFRESHED_KINDS)
    shrunk = [(f, la) for pairs in grown.values() for f, la in pairs if not la.likes > f.likes]
    assert shrunk == []
