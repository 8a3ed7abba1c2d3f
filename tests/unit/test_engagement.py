"""Engagement tracking: pure scheduling on a simulated clock, and refresh_due over SQLite with
respx serving growing counts in real Bluesky/YouTube response shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from earful.clock import SimulatedClock, ensure_utc
from earful.config.models import AppConfig, SourceConfig
from earful.engagement import (
    Reading,
    RefreshPolicy,
    next_refresh_delay,
    refresh_due,
)
from earful.mention import Engagement, RawMention
from earful.settings import Settings
from earful.sources import bluesky, youtube
from earful.sources.http import HttpClient, make_client
from earful.store.mentions import snapshot_for
from earful.store.models import EngagementSnapshot, Mention
from tests.conftest import fixture_bytes

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
POLICY = RefreshPolicy()


def r(minutes: float, likes: int, shares: int = 0, comments: int = 0) -> Reading:
    return Reading(at=T0 + minutes * MIN, likes=likes, shares=shares, comments=comments)


# ------------------------------------------------------------------------ pure scheduling


def test_first_readings_poll_at_the_minimum() -> None:
    assert next_refresh_delay([], timedelta(0)) == timedelta(minutes=10)
    assert next_refresh_delay([r(0, 0)], timedelta(minutes=1)) == timedelta(minutes=10)


def test_fast_growth_polls_often_and_slowing_backs_off_to_six_hours() -> None:
    clock = SimulatedClock(T0)
    history: list[Reading] = [r(0, 10)]
    likes = 10
    delays: list[timedelta] = []
    # growth: x3, x2, +20 %, then flat for a long while
    for factor in (3.0, 2.0, 1.2, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0):
        delay = next_refresh_delay(history, clock.now() - T0)
        assert delay is not None
        delays.append(delay)
        clock.advance(delay)
        likes = int(likes * factor)
        history.append(Reading(at=clock.now(), likes=likes))
    delays.append(next_refresh_delay(history, clock.now() - T0) or timedelta(0))
    minutes = [d / MIN for d in delays]
    assert minutes[:3] == [10, 10, 10]  # first reading, then growing fast (x3, x2)
    assert minutes[3] == 10  # +20 %: keep the interval
    assert minutes[4:8] == [20, 40, 80, 160]  # flat: doubling
    assert minutes[8:] == [320, 360, 360]  # capped at 6 h


def test_views_count_a_tenth_and_stop_after_max_age() -> None:
    slow = [Reading(at=T0, views=1000), Reading(at=T0 + 60 * MIN, views=1050)]
    assert next_refresh_delay(slow, timedelta(hours=1)) == timedelta(hours=2)
    assert next_refresh_delay(slow, timedelta(days=7, seconds=1)) is None
    short = RefreshPolicy(max_age=timedelta(hours=1))
    assert next_refresh_delay(slow, timedelta(hours=2), short) is None


def test_policy_from_params() -> None:
    p = RefreshPolicy.from_params(
        {"refresh_min": "5m", "refresh_max": "1h", "refresh_max_age": "2d"}
    )
    assert (p.min_interval, p.max_interval, p.max_age) == (
        timedelta(minutes=5),
        timedelta(hours=1),
        timedelta(days=2),
    )


def test_snapshot_for_first_sight() -> None:
    raw = RawMention(
        source="bluesky",
        external_id="at://x",
        url=None,
        text="t",
        author_followers=120,
        engagement=Engagement(likes=0, shares=0, comments=0),
    )
    snap = snapshot_for(7, raw, T0)
    assert snap is not None
    assert (snap.mention_id, snap.at, snap.likes, snap.author_followers) == (7, T0, 0, 120)
    assert snap.views is None  # unknown stays unknown
    bare = RawMention(source="bluesky", external_id="at://y", url=None, text="t")
    assert snapshot_for(8, bare, T0) is None


# ------------------------------------------------------------------------ refresh_due


@pytest.fixture
def client() -> Iterator[HttpClient]:
    with make_client(Settings(max_retries=1), sleep=lambda _s: None, host_min_interval_s=0) as c:
        yield c


CONFIG = AppConfig(
    sources=[
        SourceConfig(name="bs", kind="bluesky", params={"q": "acme"}),
        SourceConfig(name="yt", kind="youtube", params={"q": "acme", "key": "k"}),
        SourceConfig(name="news", kind="rss", url="https://example.com/feed"),
    ]
)
URIS = [f"at://did:plc:a{i}/app.bsky.feed.post/r{i}" for i in range(30)]
VIDEO = "gQ_1zX-F_No"


def _seed(engine: Engine, *, published: datetime = T0) -> None:
    with Session(engine) as session:
        for uri in URIS:
            session.add(
                Mention(
                    source="bluesky",
                    source_name="bs",
                    external_id=uri,
                    url=bluesky.post_url(uri),
                    text="acme",
                    fetched_at=T0,
                    published_at=published,
                )
            )
        session.add(
            Mention(
                source="youtube",
                source_name="yt",
                external_id=VIDEO,
                url=f"https://www.youtube.com/watch?v={VIDEO}",
                text="acme",
                fetched_at=T0,
                published_at=published,
            )
        )
        session.add(Mention(source="rss", external_id="x", text="acme", fetched_at=T0))
        session.commit()


class Counts:
    """What the mocked APIs report now; tests raise it between refreshes."""

    likes = 0
    views = 0


def _serve(counts: type[Counts]) -> dict[str, respx.Route]:
    template = json.loads(
        fixture_bytes("bluesky", "feedViewPost_reasonRepost_quote_washingtonpost.json")
    )["post"]

    def get_posts(request: httpx.Request) -> httpx.Response:
        posts = []
        for uri in request.url.params.get_list("uris"):
            view: dict[str, Any] = json.loads(json.dumps(template))
            view.pop("embed")
            view.update(
                uri=uri, likeCount=counts.likes, repostCount=counts.likes // 10, quoteCount=0
            )
            posts.append(view)
        return httpx.Response(200, json={"posts": posts})

    def profiles(request: httpx.Request) -> httpx.Response:
        actors = request.url.params.get_list("actors")
        return httpx.Response(
            200, json={"profiles": [{"did": d, "followersCount": 500} for d in actors]}
        )

    def videos(request: httpx.Request) -> httpx.Response:
        item = json.loads(fixture_bytes("youtube", "python-youtube_videos_videos_info_multi.json"))[
            "items"
        ][0]
        item["id"] = VIDEO
        item["statistics"] = {
            "viewCount": str(counts.views),
            "likeCount": str(counts.likes),
            "commentCount": "3",
        }
        return httpx.Response(200, json={"kind": "youtube#videoListResponse", "items": [item]})

    return {
        "posts": respx.get(f"{bluesky.PUBLIC_APPVIEW}/xrpc/app.bsky.feed.getPosts").mock(
            side_effect=get_posts
        ),
        "profiles": respx.get(f"{bluesky.PUBLIC_APPVIEW}/xrpc/app.bsky.actor.getProfiles").mock(
            side_effect=profiles
        ),
        "videos": respx.get(f"{youtube.API}/videos").mock(side_effect=videos),
        "channels": respx.get(f"{youtube.API}/channels").mock(
            return_value=httpx.Response(
                200, content=fixture_bytes("youtube", "python-youtube_channels_info_multiple.json")
            )
        ),
    }


def _snapshots(engine: Engine, external_id: str) -> list[EngagementSnapshot]:
    with Session(engine) as session:
        mid = session.exec(select(Mention.id).where(Mention.external_id == external_id)).one()
        return list(
            session.exec(
                select(EngagementSnapshot)
                .where(EngagementSnapshot.mention_id == mid)
                .order_by(EngagementSnapshot.at)  # type: ignore[arg-type]
            )
        )


def _mention(engine: Engine, external_id: str) -> Mention:
    with Session(engine) as session:
        return session.exec(select(Mention).where(Mention.external_id == external_id)).one()


@respx.mock
def test_refresh_twice_records_growing_counts(sqlite_engine: Engine, client: HttpClient) -> None:
    _seed(sqlite_engine)
    routes = _serve(Counts)
    clock = SimulatedClock(T0 + MIN)
    # first pass: schedules the young mentions 10 min after first sight; nothing due yet
    assert refresh_due(sqlite_engine, client, CONFIG, clock) == 0
    assert ensure_utc(_mention(sqlite_engine, URIS[0]).next_refresh_at or T0) == T0 + 10 * MIN
    assert _mention(sqlite_engine, "x").next_refresh_at is None  # rss cannot refresh

    Counts.likes, Counts.views = 10, 1000
    clock.set(T0 + 10 * MIN)
    assert refresh_due(sqlite_engine, client, CONFIG, clock) == 31
    assert [len(c.request.url.params.get_list("uris")) for c in routes["posts"].calls] == [25, 5]
    assert routes["videos"].call_count == 1

    Counts.likes, Counts.views = 100, 5000
    clock.set(T0 + 20 * MIN)
    assert refresh_due(sqlite_engine, client, CONFIG, clock) == 31

    snaps = _snapshots(sqlite_engine, URIS[0])
    assert [(ensure_utc(s.at), s.likes, s.shares) for s in snaps] == [
        (T0 + 10 * MIN, 10, 1),
        (T0 + 20 * MIN, 100, 10),
    ]
    assert snaps[-1].author_followers == 500
    post = _mention(sqlite_engine, URIS[0])
    assert (post.likes, post.shares, post.comments, post.author_followers) == (100, 10, 1, 500)
    # grew tenfold: re-poll again at the minimum interval
    assert ensure_utc(post.next_refresh_at or T0) == T0 + 30 * MIN
    video = _snapshots(sqlite_engine, VIDEO)
    assert [(s.views, s.likes, s.comments) for s in video] == [(1000, 10, 3), (5000, 100, 3)]
    assert video[-1].author_followers == 2_260_000  # the uploader channel's subscribers

    # unchanged counts: no new row, and the interval doubles
    clock.set(T0 + 30 * MIN)
    Counts.likes, Counts.views = 100, 5000
    assert refresh_due(sqlite_engine, client, CONFIG, clock) == 31
    assert len(_snapshots(sqlite_engine, URIS[0])) == 2
    assert ensure_utc(_mention(sqlite_engine, URIS[0]).next_refresh_at or T0) == T0 + 50 * MIN
    # running again at the same instant: nothing is due, nothing is written twice
    assert refresh_due(sqlite_engine, client, CONFIG, clock) == 0


@respx.mock
def test_failures_delay_and_old_mentions_stop(sqlite_engine: Engine, client: HttpClient) -> None:
    _seed(sqlite_engine)
    respx.get(f"{bluesky.PUBLIC_APPVIEW}/xrpc/app.bsky.feed.getPosts").mock(
        return_value=httpx.Response(503)
    )
    respx.get(f"{youtube.API}/videos").mock(
        return_value=httpx.Response(200, json={"kind": "youtube#videoListResponse", "items": []})
    )
    respx.get(f"{youtube.API}/channels").mock(
        return_value=httpx.Response(200, json={"kind": "youtube#channelListResponse", "items": []})
    )
    clock = SimulatedClock(T0 + 10 * MIN)
    assert refresh_due(sqlite_engine, client, CONFIG, clock) == 0
    # 503: retried later at the minimum interval; the vanished video: slowly, at 6 h
    assert ensure_utc(_mention(sqlite_engine, URIS[0]).next_refresh_at or T0) == T0 + 20 * MIN
    assert (
        ensure_utc(_mention(sqlite_engine, VIDEO).next_refresh_at or T0)
        == T0 + 10 * MIN + 6 * 60 * MIN
    )
    clock.set(T0 + timedelta(days=8))
    refresh_due(sqlite_engine, client, CONFIG, clock)
    assert _mention(sqlite_engine, URIS[0]).next_refresh_at is None  # older than 7 days
    assert _snapshots(sqlite_engine, URIS[0]) == []


def test_old_mentions_are_never_scheduled(sqlite_engine: Engine, client: HttpClient) -> None:
    _seed(sqlite_engine, published=T0 - timedelta(days=30))
    assert refresh_due(sqlite_engine, client, CONFIG, SimulatedClock(T0 + 20 * MIN)) == 0
    assert _mention(sqlite_engine, URIS[0]).next_refresh_at is None
