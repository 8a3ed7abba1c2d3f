"""`earful demo`: bundled feeds over local HTTP, the real pipeline, a throw-away database."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from sqlalchemy import text

from earful.demo.main import DEMO_STEPS, DemoContext, register_step, run_demo
from earful.store.db import make_engine


def test_demo_stores_matched_scored_mentions(tmp_path: Path) -> None:
    out = io.StringIO()
    seen: list[int] = []

    def extra(demo: DemoContext) -> None:
        seen.append(demo.results["mentions"])

    saved = list(DEMO_STEPS)
    # the live and digest steps are covered end to end by tests/e2e/test_demo.py
    DEMO_STEPS[:] = [s for s in DEMO_STEPS if s[0] in ("poll", "mentions")]
    register_step("test-extra", extra)
    try:
        demo = run_demo(Console(file=out, width=200), workdir=tmp_path)
    finally:
        DEMO_STEPS[:] = saved
    report = demo.run_report
    assert report is not None and report.failed == 0
    assert {p.source for p in report.polls} == {
        "demo-travel-news",
        "demo-flyer-forum",
        "demo-trip-reviews",
    }
    assert seen == [12]  # later steps see what earlier ones left
    engine = make_engine(f"sqlite:///{tmp_path / 'earful.db'}")
    with engine.connect() as conn:
        labels = dict(
            conn.execute(
                text("select sentiment_label, count(*) from mention group by sentiment_label")
            ).all()
        )
        shared = conn.execute(
            text(
                "select count(*) from mention where story_id in (select story_id from mention "
                "group by story_id having count(*) > 1)"
            )
        ).scalar_one()
    engine.dispose()
    assert labels.get("negative", 0) >= 4 and labels.get("positive", 0) >= 3
    assert shared == 2  # the tarmac story, carried by the news feed and a review
    rendered = out.getvalue()
    assert "United Airlines" in rendered and "Manchester" not in rendered
    assert 'alert("xss")' in rendered  # the hostile title is shown as text


def test_world_server_shows_what_exists_at_the_simulated_time() -> None:
    from datetime import UTC, datetime, timedelta

    import httpx

    from earful.clock import SimulatedClock
    from earful.demo.live import LocalApiTransport, WorldServer, posts_from_events
    from earful.sources.mastodon import parse as parse_mastodon
    from earful.sources.youtube import parse as parse_youtube

    t0 = datetime(2009, 7, 6, 17, tzinfo=UTC)
    events = [
        {
            "type": "mention",
            "source": "youtube",
            "id": "5YGc4zOqozo",
            "_at": t0,
            "author": "sonsofmaxwell",
            "title": "United Breaks Guitars",
            "text": "broke it",
            "author_followers": 2000,
        },
        {
            "type": "engagement",
            "source": "youtube",
            "id": "5YGc4zOqozo",
            "_at": t0 + timedelta(hours=1),
            "views": 150,
            "likes": 1,
        },
        {
            "type": "mention",
            "source": "twitter",
            "id": "a",
            "_at": t0,
            "author": "x",
            "text": "United <b>lost</b> my bag",
            "likes": 2,
        },
        {
            "type": "mention",
            "source": "twitter",
            "id": "b",
            "_at": t0 + timedelta(hours=2),
            "author": "y",
            "text": "later",
        },
    ]
    clock = SimulatedClock(t0)
    with WorldServer(clock, posts=posts_from_events(events)) as world:
        transport = LocalApiTransport({"www.googleapis.com"}, world.base_url)
        with httpx.Client(transport=transport) as client:
            tl = client.get(f"{world.base_url}/api/v1/timelines/tag/united")
            statuses = parse_mastodon(tl.content, url=str(tl.url)).mentions
            assert [m.text for m in statuses] == ["United <b>lost</b> my bag"]
            assert statuses[0].engagement.likes == 2
            # the YouTube API host is answered by the local server
            videos = client.get(
                "https://www.googleapis.com/youtube/v3/videos", params={"id": "5YGc4zOqozo"}
            )
            assert parse_youtube(videos.content).mentions[0].engagement.views == 0
            clock.set(t0 + timedelta(hours=2))
            videos = client.get(
                "https://www.googleapis.com/youtube/v3/videos", params={"id": "5YGc4zOqozo"}
            )
            assert parse_youtube(videos.content).mentions[0].engagement.views == 150
            newer = client.get(
                f"{world.base_url}/api/v1/timelines/tag/united",
                params={"min_id": statuses[0].external_id},
            )
            assert [m.text for m in parse_mastodon(newer.content).mentions] == ["later"]
        transport.close()


def test_webhook_receiver_checks_signatures_and_drops_repeats() -> None:
    import time

    import httpx

    from earful.demo.live import WebhookReceiver
    from earful.notify.channels.webhook import (
        ID_HEADER,
        IDEMPOTENCY_HEADER,
        SIGNATURE_HEADER,
        TIMESTAMP_HEADER,
        sign,
    )

    secret, other = "whsec_czNjcmV0LXMzY3JldA==", "whsec_b3RoZXItb3RoZXI="
    body = b'{"level": 1}'

    def headers(key: str, signing: str) -> dict[str, str]:
        stamp = int(time.time())
        return {
            ID_HEADER: key,
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: sign(signing, key, stamp, body),
            IDEMPOTENCY_HEADER: key,
        }

    with WebhookReceiver(secret) as receiver, httpx.Client() as client:
        good = headers("k1", secret)
        assert client.post(receiver.url, content=body, headers=good).status_code == 200
        assert client.post(receiver.url, content=body, headers=good).status_code == 200
        bad = headers("k2", other)
        assert client.post(receiver.url, content=body, headers=bad).status_code == 401
    assert [d.payload for d in receiver.deliveries] == [{"level": 1}]
    assert receiver.refused == 1
