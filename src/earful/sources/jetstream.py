"""Bluesky Jetstream consumer: the public firehose over WebSocket, filtered in real time.

``run_jetstream`` reads ``wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections=
app.bsky.feed.post``, turns each new post into a :class:`RawMention`, keeps those that
``keep(mention)`` accepts (the brand matcher), hands them to ``sink(list)`` in small batches
and then stores the cursor through ``save_cursor(time_us)`` — so a stored cursor never passes a
mention that was not yet handed over.

Resume: on a dropped connection it reconnects with exponential backoff (1 s doubling to 60 s)
from the last handled cursor *rewound* by a few seconds (Jetstream replays from any cursor),
and drops replayed posts it already kept by URI, so nothing is lost and nothing is handed over
twice within a process. After a restart, the few seconds replayed may repeat kept posts: the
store's (source, external_id) upsert absorbs them.

Speed: one ``orjson.loads`` per message, a bytes test that skips non-post events before
building anything, a mention object only for new posts, ``keep`` as the only per-post cost of
note, and the clock read once per batch rather than per event.

``measure_firehose(rate, seconds)`` serves synthetic Jetstream-shaped posts from a local
server in a child process at ``rate`` posts/s and reports what the consumer sustained.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import random
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from earful.clock import Clock, SystemClock
from earful.mention import RawMention
from earful.sources.bluesky import mention_from_event

logger = logging.getLogger(__name__)

DEFAULT_URL = "wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post"
REWIND_US = 5_000_000  # replay this much before the stored cursor on resume
SEEN_MAX = 200_000  # URIs of kept posts remembered for de-duplication across resumes
MAX_KEPT_ERRORS = 50  # newest problems kept for inspection; the count keeps the total
_POST_MARK = b'"app.bsky.feed.post"'
_CREATE_MARK = b'"create"'


@dataclass
class JetstreamStats:
    events: int = 0
    posts: int = 0
    kept: int = 0
    duplicates: int = 0
    reconnects: int = 0
    cursor: int | None = None
    max_lag_s: float = 0.0
    first_event_at: float | None = None  # monotonic seconds
    last_event_at: float | None = None
    # The newest problems only: a stream of garbage must not grow a long-lived consumer's
    # memory without end. ``error_count`` keeps the total.
    errors: deque[str] = field(default_factory=lambda: deque(maxlen=MAX_KEPT_ERRORS))
    error_count: int = 0

    def note_error(self, message: str) -> None:
        self.errors.append(message)
        self.error_count += 1


def url_with_cursor(url: str, cursor: int | None) -> str:
    """``url`` with its ``cursor`` query parameter set (or removed when None)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "cursor"]
    if cursor is not None:
        query.append(("cursor", str(cursor)))
    return urlunsplit(parts._replace(query=urlencode(query)))


class _Consumer:
    """State of one consumer across connections: batch, cursor, seen URIs, stats."""

    def __init__(
        self,
        keep: Callable[[RawMention], bool],
        sink: Callable[[list[RawMention]], None],
        save_cursor: Callable[[int], None],
        clock: Clock,
        batch_size: int,
        flush_interval_s: float,
        cursor: int | None,
    ) -> None:
        self.keep = keep
        self.sink = sink
        self.save_cursor = save_cursor
        self.clock = clock
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.batch: list[RawMention] = []
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.stats = JetstreamStats(cursor=cursor)
        self.handled: int | None = cursor  # time_us of the last event handled
        self.saved: int | None = cursor
        self.last_flush = time.monotonic()

    def handle(self, message: bytes | str) -> None:
        raw = message.encode() if isinstance(message, str) else message
        stats = self.stats
        stats.events += 1
        stats.last_event_at = time.monotonic()
        if stats.first_event_at is None:
            stats.first_event_at = stats.last_event_at
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError:
            stats.note_error("undecodable message skipped")
            return
        if not isinstance(event, dict):  # valid JSON but no event: must not stop the consumer
            stats.note_error("non-object message skipped")
            return
        time_us = event.get("time_us")
        if _POST_MARK in raw and _CREATE_MARK in raw:
            mention = mention_from_event(event)
            if mention is not None:
                stats.posts += 1
                if self.keep(mention):
                    uri = mention.external_id
                    if uri in self.seen:
                        stats.duplicates += 1
                    else:
                        self.seen[uri] = None
                        if len(self.seen) > SEEN_MAX:
                            self.seen.popitem(last=False)
                        self.batch.append(mention)
                        stats.kept += 1
        if isinstance(time_us, int) and (self.handled is None or time_us > self.handled):
            self.handled = time_us
        if len(self.batch) >= self.batch_size or (
            stats.events & 0xFF == 0 and time.monotonic() - self.last_flush >= self.flush_interval_s
        ):
            self.flush()

    def flush(self) -> None:
        """Hand the batch over, then store the cursor; measure lag once per flush."""
        self.last_flush = time.monotonic()
        if self.handled is not None:
            lag = self.clock.now().timestamp() - self.handled / 1e6
            if lag > self.stats.max_lag_s:
                self.stats.max_lag_s = lag
        if self.batch:
            batch, self.batch = self.batch, []
            self.sink(batch)
        if self.handled is not None and self.handled != self.saved:
            self.save_cursor(self.handled)
            self.saved = self.handled
            self.stats.cursor = self.handled


def run_jetstream(
    url: str = DEFAULT_URL,
    *,
    cursor: int | None,
    keep: Callable[[RawMention], bool],
    sink: Callable[[list[RawMention]], None],
    save_cursor: Callable[[int], None],
    stop: threading.Event,
    clock: Clock | None = None,
    batch_size: int = 50,
    flush_interval_s: float = 1.0,
    rewind_us: int = REWIND_US,
    max_backoff_s: float = 60.0,
    max_reconnects: int | None = None,
) -> JetstreamStats:
    """Consume ``url`` until ``stop`` is set (or ``max_reconnects`` is exceeded).

    ``cursor``: the stored time_us to resume from (None: live tail). Returns the stats.
    Errors from ``sink``/``save_cursor`` propagate: the caller decides, and the cursor
    stays at the last batch that was handed over.
    """
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
    from websockets.sync.client import connect

    consumer = _Consumer(
        keep, sink, save_cursor, clock or SystemClock(), batch_size, flush_interval_s, cursor
    )
    stats = consumer.stats
    backoff = 1.0
    host = urlsplit(url).hostname or ""
    proxy: Any = None if host in ("127.0.0.1", "localhost", "::1") else True
    while not stop.is_set():
        start = consumer.handled
        target = url_with_cursor(url, None if start is None else max(0, start - rewind_us))
        received_before = stats.events
        try:
            with connect(
                target, compression=None, max_size=2**22, open_timeout=10, proxy=proxy
            ) as ws:
                logger.info("jetstream connected: %s", target)
                while not stop.is_set():
                    try:
                        message = ws.recv(timeout=consumer.flush_interval_s)
                    except TimeoutError:
                        consumer.flush()
                        continue
                    consumer.handle(message)
        except (ConnectionClosed, OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            stats.note_error(f"{type(exc).__name__}: {exc}")
            logger.warning("jetstream connection lost (%s); resuming from cursor", exc)
        consumer.flush()
        if stop.is_set():
            break
        stats.reconnects += 1
        if max_reconnects is not None and stats.reconnects > max_reconnects:
            break
        if stats.events > received_before:
            backoff = 1.0  # the connection worked for a while: retry promptly
        stop.wait(backoff * (0.5 + random.random() / 2))
        backoff = min(max_backoff_s, backoff * 2)
    consumer.flush()
    return stats


# --------------------------------------------------------------------------- synthetic stream

_TEMPLATE = (
    b'{"did":"did:plc:%s","time_us":%d,"kind":"commit","commit":{"rev":"3lbhtytnn2k2f",'
    b'"operation":"create","collection":"app.bsky.feed.post","rkey":"%s","record":'
    b'{"$type":"app.bsky.feed.post","createdAt":"2024-11-21T16:09:27.095Z","langs":["en"],'
    b'"reply":{"parent":{"cid":"bafyreibfglofvqou2yiqvwzk4rcgkhhxrbunyemshdjledgwymimqkg24e",'
    b'"uri":"at://did:plc:6tr6tuzlx2db3rduzr2d6r24/app.bsky.feed.post/3lbhqo2rtys2z"},'
    b'"root":{"cid":"bafyreibfglofvqou2yiqvwzk4rcgkhhxrbunyemshdjledgwymimqkg24e",'
    b'"uri":"at://did:plc:6tr6tuzlx2db3rduzr2d6r24/app.bsky.feed.post/3lbhqo2rtys2z"}},'
    b'"text":"%s"},"cid":"bafyreidblutgvj75o4q4akzyyejedjj6l3it6hgqwee6jpwv2wqph5fsgm"}}'
)
_LIKE = (
    b'{"did":"did:plc:%s","time_us":%d,"kind":"commit","commit":{"rev":"3lbhuvzds6d2a",'
    b'"operation":"create","collection":"app.bsky.feed.like","rkey":"%s","record":'
    b'{"$type":"app.bsky.feed.like","createdAt":"2024-11-21T16:25:46.221Z","subject":'
    b'{"cid":"bafyreidjvrcmckkm765mct5fph36x7kupkfo35rjklbf2k76xkzwyiauge",'
    b'"uri":"at://did:plc:azrv4rcbws6kmcga4fsbphg2/app.bsky.feed.post/3lbgjdpbiec2l"}},'
    b'"cid":"bafyreia5l5vrkh5oj4cjyhcqby2dprhyvcyofo2q5562tijlae2pzih23m"}}'
)
_TEXTS = (
    b"okay i take mine back because I hadn\\u2019t heard this one yet^^",
    b"aaaaah.  LIght shines in a corner of WTF....",
    b"three hours on hold with Acme Air and still no refund, this is a joke",
    b"the new season is so good, no spoilers please",
    b"anyone else seeing the outage? nothing loads for me",
)


def make_event(seq: int, time_us: int, *, text: bytes | None = None, like: bool = False) -> bytes:
    """One Jetstream-shaped event (the shape of the recorded 2024-11-21 events)."""
    did = b"synth%017d" % seq
    rkey = b"3l%011d" % seq
    if like:
        return _LIKE % (did, time_us, rkey)
    body = text if text is not None else _TEXTS[seq % len(_TEXTS)]
    return _TEMPLATE % (did, time_us, rkey, body)


def _serve_at_rate(port_queue: Any, rate: int, seconds: float) -> None:
    """Child process: serve posts at ``rate``/s with time_us = send time, then close."""
    from websockets.sync.server import serve

    def handler(ws: Any) -> None:
        interval = 0.01
        per_tick = max(1, round(rate * interval))
        seq = 0
        start = time.monotonic()
        end = start + seconds
        tick = start
        while tick < end:
            now_us = int(time.time() * 1e6)
            for _ in range(per_tick):
                ws.send(make_event(seq, now_us + seq % 1000), text=True)
                seq += 1
            tick += interval
            delay = tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        ws.close()

    with serve(handler, "127.0.0.1", 0, compression=None, max_size=2**22) as server:
        port_queue.put(server.socket.getsockname()[1])
        server.serve_forever()


def measure_firehose(
    rate: int = 2000,
    seconds: float = 10.0,
    *,
    keep: Callable[[RawMention], bool] | None = None,
) -> dict[str, float | int]:
    """Throughput and lag of the real consumer against a local server in a child process.

    Returns ``posts_per_s`` (posts consumed / wall time), ``max_lag_s`` (worst delay between
    an event's time_us and its handling, sampled per batch), ``cpu_share`` (this process's CPU
    time / wall time: 1.0 is one core), ``posts``, ``kept``. ``keep`` defaults to a
    case-insensitive keyword test standing in for the brand matcher.
    """
    ctx = multiprocessing.get_context("spawn")
    ports: Any = ctx.Queue()
    server = ctx.Process(target=_serve_at_rate, args=(ports, rate, seconds), daemon=True)
    server.start()
    try:
        port = ports.get(timeout=30)
        kept: list[int] = [0]

        def default_keep(m: RawMention) -> bool:
            return "acme" in m.text.lower()

        def sink(batch: list[RawMention]) -> None:
            kept[0] += len(batch)

        stop = threading.Event()
        done = threading.Event()
        result: dict[str, Any] = {}

        def consume() -> None:
            cpu0, wall0 = time.process_time(), time.monotonic()
            stats = run_jetstream(
                f"ws://127.0.0.1:{port}/subscribe?wantedCollections=app.bsky.feed.post",
                cursor=None,
                keep=keep or default_keep,
                sink=sink,
                save_cursor=lambda _c: None,
                stop=stop,
                max_reconnects=0,
                flush_interval_s=0.25,
            )
            result.update(
                stats=stats, cpu=time.process_time() - cpu0, wall=time.monotonic() - wall0
            )
            done.set()

        thread = threading.Thread(target=consume, name="jetstream-bench", daemon=True)
        thread.start()
        done.wait(seconds + 60)
        stop.set()
        thread.join(10)
        stats = result["stats"]
        wall = max(result["wall"], 1e-9)
        span = (stats.last_event_at or 0.0) - (stats.first_event_at or 0.0)
        return {
            "posts_per_s": round(stats.posts / span, 1) if span > 0 else 0.0,
            "offered_per_s": rate,
            "max_lag_s": round(stats.max_lag_s, 3),
            "cpu_share": round(result["cpu"] / wall, 3),
            "posts": stats.posts,
            "kept": kept[0],
            "cores": os.cpu_count() or 1,
        }
    finally:
        server.terminate()  # the server of this measurement only; it serves forever
        server.join(5)
