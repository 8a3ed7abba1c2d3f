"""The Jetstream consumer against a real local WebSocket server that replays recorded-format
events from the requested cursor and drops the first connection midway."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from websockets.sync.server import Server, ServerConnection, serve

from earful.mention import RawMention
from earful.sources.bluesky import mention_from_event, parse
from earful.sources.jetstream import make_event, run_jetstream
from tests.conftest import fixture_bytes

pytestmark = pytest.mark.integration

START_US = 1_732_206_349_000_167  # the first recorded event's time_us
DROP_AFTER = 1200


def recorded_events() -> list[bytes]:
    """The five recorded events, then 3,000 generated in the same shape (posts and likes,
    one post in five mentioning Acme), time_us strictly increasing."""
    recorded = [
        line
        for line in fixture_bytes("bluesky", "jetstream_events_2024-11-21.jsonl").splitlines()
        if line.strip()
    ]
    events = list(recorded)
    last = orjson.loads(recorded[-1])["time_us"]
    for seq in range(3000):
        t = last + 250 * (seq + 1)
        if seq % 4 == 3:
            events.append(make_event(seq, t, like=True))
        elif seq % 5 == 0:
            events.append(make_event(seq, t, text=b"Acme Air lost my bag again #%d" % seq))
        else:
            events.append(make_event(seq, t))
    return events


class ReplayServer:
    def __init__(self, events: list[bytes]) -> None:
        self.events = [
            (orjson.loads(e)["time_us"], orjson.loads(e)["commit"]["collection"], e) for e in events
        ]
        self.connections: list[dict[str, list[str]]] = []
        self.done = threading.Event()
        self.server: Server | None = None

    def handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        query = parse_qs(urlsplit(ws.request.path).query)
        self.connections.append(query)
        first = len(self.connections) == 1
        cursor = int(query["cursor"][0]) if "cursor" in query else 0
        wanted = set(query.get("wantedCollections", []))
        sent = 0
        for time_us, collection, raw in self.events:
            if time_us < cursor or (wanted and collection not in wanted):
                continue
            ws.send(raw.decode())
            sent += 1
            if first and sent == DROP_AFTER:
                ws.close(code=1011, reason="simulated failure")  # midway drop
                return
        self.done.wait(30)  # a live stream stays open

    def __enter__(self) -> ReplayServer:
        self.server = serve(self.handler, "127.0.0.1", 0, compression=None)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        assert self.server is not None
        self.server.shutdown()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/subscribe?wantedCollections=app.bsky.feed.post"


@pytest.fixture
def events() -> list[bytes]:
    return recorded_events()


@pytest.fixture
def server(events: list[bytes]) -> Iterator[ReplayServer]:
    with ReplayServer(events) as s:
        yield s


def keep(m: RawMention) -> bool:
    return "acme" in m.text.lower()


def test_every_matching_post_arrives_once_across_a_dropped_connection(
    server: ReplayServer, events: list[bytes]
) -> None:
    expected = [m.external_id for m in parse(b"\n".join(events)).mentions if keep(m)]
    assert len(expected) == 900  # 600 "Acme Air lost my bag" + 300 generated complaints
    got: list[str] = []
    cursors: list[int] = []
    stop = threading.Event()

    def sink(batch: list[RawMention]) -> None:
        got.extend(m.external_id for m in batch)
        if len(got) >= len(expected):
            stop.set()

    result: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: result.update(
            stats=run_jetstream(
                server.url,
                cursor=None,
                keep=keep,
                sink=sink,
                save_cursor=cursors.append,
                stop=stop,
                batch_size=10,
                flush_interval_s=0.2,
                max_reconnects=5,
                rewind_us=100_000,
            )
        )
    )
    worker.start()
    worker.join(60)
    stop.set()
    worker.join(5)
    stats = result["stats"]
    assert sorted(got) == sorted(expected)  # nothing lost
    assert len(got) == len(set(got))  # nothing handed over twice
    assert stats.reconnects >= 1
    assert len(server.connections) >= 2
    assert "cursor" not in server.connections[0]
    resumed_from = int(server.connections[1]["cursor"][0])
    posts_sent = [t for t, c, _ in server.events if c == "app.bsky.feed.post"]
    # resumed from the last event handled before the drop, rewound by 0.1 s
    assert resumed_from == posts_sent[DROP_AFTER - 1] - 100_000
    assert resumed_from > START_US
    assert cursors == sorted(cursors)  # the cursor only moves forward
    last_post_us = max(t for t, c, _ in server.events if c == "app.bsky.feed.post" and t >= 0)
    assert cursors[-1] == last_post_us == stats.cursor
    assert stats.duplicates > 0  # the rewind replayed some kept posts, dropped by URI


def test_restart_resumes_from_the_stored_cursor(server: ReplayServer, events: list[bytes]) -> None:
    """A new consumer given a stored cursor asks the server for the rewound position and
    skips nothing after it."""
    posts = [mention_from_event(orjson.loads(e)) for e in events]
    kept = [m for m in posts if m is not None and keep(m)]
    stored = int(kept[300].extra["time_us"])
    server.connections.append({})  # not the first connection: no drop
    got: list[str] = []
    stop = threading.Event()

    def sink(batch: list[RawMention]) -> None:
        got.extend(m.external_id for m in batch)
        if kept[-1].external_id in got:
            stop.set()

    worker = threading.Thread(
        target=run_jetstream,
        args=(server.url,),
        kwargs={
            "cursor": stored,
            "keep": keep,
            "sink": sink,
            "save_cursor": lambda _c: None,
            "stop": stop,
            "rewind_us": 1_000,
        },
    )
    worker.start()
    worker.join(60)
    stop.set()
    worker.join(5)
    asked = int(server.connections[-1]["cursor"][0])
    assert asked == stored - 1_000
    assert set(m.external_id for m in kept[301:]) <= set(got)
    assert len(got) == len(set(got))


def test_run_source_stores_matching_posts_and_cursor(
    server: ReplayServer, events: list[bytes], sqlite_engine: Any
) -> None:
    """The firehose wired to the real pipeline and source state, across the midway drop."""
    from datetime import UTC, datetime

    from sqlmodel import Session, func, select

    from earful.clock import SimulatedClock
    from earful.config.models import AppConfig, BrandConfig, SourceConfig
    from earful.pipeline import build_context
    from earful.run.stream import run_source
    from earful.store.models import Mention, SourceState

    source = SourceConfig(
        name="firehose",
        kind="bluesky",
        params={"mode": "jetstream", "jetstream_url": server.url},
    )
    config = AppConfig(brands=[BrandConfig(name="Acme", queries=["acme"])], sources=[source])
    ctx = build_context(config, SimulatedClock(datetime(2024, 11, 21, 16, 30, tzinfo=UTC)))
    expected = {m.external_id for m in parse(b"\n".join(events)).mentions if keep(m)}
    stop = threading.Event()

    def stored() -> int:
        with Session(sqlite_engine) as session:
            return int(session.exec(select(func.count()).select_from(Mention)).one())

    worker = threading.Thread(target=run_source, args=(sqlite_engine, source, ctx, stop))
    worker.start()
    for _ in range(600):
        if stored() >= len(expected) or not worker.is_alive():
            break
        stop.wait(0.1)
    stop.set()
    worker.join(10)
    with Session(sqlite_engine) as session:
        ids = set(session.exec(select(Mention.external_id)).all())
        state = session.exec(select(SourceState).where(SourceState.name == "firehose")).one()
    assert ids == expected
    assert len(server.connections) >= 2  # it survived the dropped connection
    assert state.cursor is not None and int(state.cursor) > START_US
    assert state.last_nonempty_at is not None
