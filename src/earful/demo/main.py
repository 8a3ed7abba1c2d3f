"""``earful demo``: the real pipeline, offline, on sample data written for the project.

1. ``poll`` — the bundled feeds (``earful/demo/data``: RSS 2.0, Atom and JSON Feed with
   complaints, praise and noise about the example brand) are served by a local HTTP server on
   127.0.0.1 (random port); one pass of the real runner stores them; 2. ``mentions`` shows them.
3. ``live`` — a month of United Airlines mentions and "United Breaks Guitars" served over local
   HTTP and played through the real main loop on a simulated clock; escalations arrive at the
   console and at a local webhook receiver that checks their signature (``demo_steps``).
4. ``digest`` — the digest of the last demo day, written as HTML and JSON to ``out_dir``.

Everything goes into one SQLite database, ``earful.db`` in a temp directory (or ``--keep``).

The demo is a list of steps over one :class:`DemoContext`; later features add theirs with
:func:`register_step` (escalations, a digest) without touching the ones here.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.clock import Clock, SystemClock, isoformat_z
from earful.config.models import AppConfig, BrandConfig, SourceConfig
from earful.demo.local_server import LocalServer, send_body
from earful.run.runner import RunReport, run_once
from earful.settings import Settings, get_settings
from earful.store import repository
from earful.store.db import init_db, make_engine
from earful.text import excerpt

logger = logging.getLogger(__name__)

DEMO_FEEDS: dict[str, tuple[str, str]] = {
    # source name: (file in demo/data, content type)
    "demo-travel-news": ("travel_news.rss", "application/rss+xml; charset=utf-8"),
    "demo-flyer-forum": ("flyer_forum.atom", "application/atom+xml; charset=utf-8"),
    "demo-trip-reviews": ("app_reviews.json", "application/feed+json; charset=utf-8"),
}


# --------------------------------------------------------------------------- local feed server


@dataclass
class Route:
    """What the local server answers for one path: a body with an ETag, or an error status."""

    body: bytes = b""
    content_type: str = "application/xml"
    status: int = 200

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


class FeedServer(LocalServer):
    """A threaded HTTP server on 127.0.0.1 serving ``routes`` with ETag / If-None-Match
    support; counts the requests and the bodies served per path (tests read the counts)."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.requests: Counter[str] = Counter()
        self.bodies: Counter[str] = Counter()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                route = server.routes.get(path)
                with server._lock:
                    server.requests[path] += 1
                if route is None:
                    self._send(404, b"not found", "text/plain")
                    return
                if route.status != 200:
                    self._send(route.status, b"error", "text/plain")
                    return
                if self.headers.get("If-None-Match") == route.etag:
                    self.send_response(304)
                    self.send_header("ETag", route.etag)
                    self.end_headers()
                    return
                with server._lock:
                    server.bodies[path] += 1
                self._send(200, route.body, route.content_type, etag=route.etag)

            def _send(self, status: int, body: bytes, ctype: str, etag: str | None = None) -> None:
                send_body(self, status, body, ctype, {"ETag": etag} if etag else None)

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("feed server: " + format, *args)

        self._serve(Handler)

    def url(self, path: str) -> str:
        return self.base_url + path


def demo_routes() -> dict[str, Route]:
    data = resources.files("earful.demo") / "data"
    return {
        f"/{filename}": Route(body=(data / filename).read_bytes(), content_type=ctype)
        for filename, ctype in DEMO_FEEDS.values()
    }


# --------------------------------------------------------------------------- config and steps


def demo_brands() -> list[BrandConfig]:
    """The example brand and its competitors (the same as the shipped config/brands.yaml)."""
    return [
        BrandConfig(
            name="United Airlines",
            queries=[
                '"united airlines" OR @united OR (united AND (flight OR flights OR baggage OR '
                'luggage OR gate OR crew OR refund OR "customer service" OR cancelled)) '
                '-"manchester united" -"united nations"'
            ],
            aliases=["United", "@united"],
            competitors=["Delta Air Lines", "American Airlines"],
            timezone="America/Chicago",
        ),
        BrandConfig(
            name="Delta Air Lines",
            queries=['"delta air lines" OR "delta airlines" OR @delta'],
            aliases=["Delta"],
            track=False,
        ),
        BrandConfig(
            name="American Airlines",
            queries=['"american airlines" OR @americanair'],
            aliases=["American"],
            track=False,
        ),
    ]


def demo_config(base_url: str) -> AppConfig:
    return AppConfig(
        brands=demo_brands(),
        sources=[
            SourceConfig(name=name, kind="rss", url=f"{base_url}/{filename}")
            for name, (filename, _ctype) in DEMO_FEEDS.items()
        ],
    )


@dataclass
class DemoContext:
    console: Console
    workdir: Path
    server: FeedServer
    config: AppConfig
    settings: Settings
    engine: Engine
    clock: Clock
    run_report: RunReport | None = None
    out_dir: Path = field(default_factory=lambda: Path("earful-demo"))
    keep: Path | None = None
    # Steps leave what later steps or tests want here (e.g. "escalations", "digest_path").
    results: dict[str, Any] = field(default_factory=dict)


DemoStep = Callable[[DemoContext], None]


def step_poll(demo: DemoContext) -> None:
    """One pass of the real runner over the local feeds."""
    demo.console.rule("[bold]1. Polling the sample feeds over local HTTP")
    report = run_once(demo.engine, demo.config, demo.settings, demo.clock)
    demo.run_report = report
    for poll in report.polls:
        line = Text(f"  {poll.source}: {poll.status}, {poll.fetched} fetched, {poll.new} new")
        if poll.rejected:
            line.append(" (skipped: " + ", ".join(f"{k} {v}" for k, v in poll.rejected.items()))
            line.append(")")
        demo.console.print(line)


def step_show_mentions(demo: DemoContext) -> None:
    """The stored mentions, newest first, with their brands and sentiment."""
    demo.console.rule("[bold]2. Stored mentions")
    with Session(demo.engine) as session:
        rows = repository.list_mentions(session, limit=100)
    demo.results["mentions"] = len(rows)
    # One line per mention at any width (80 columns too): long cells end in an ellipsis.
    table = Table(show_lines=False, expand=True)
    for col, width in (("published", 11), ("source", 12), ("brands", 14), ("sentiment", 9)):
        table.add_column(col, overflow="ellipsis", no_wrap=True, max_width=width)
    table.add_column("title / text", overflow="ellipsis", no_wrap=True, ratio=1)
    for row in rows:
        m = row.mention
        style = {"negative": "red", "positive": "green"}.get(m.sentiment_label, "")
        table.add_row(
            Text(isoformat_z(m.published_at or m.fetched_at)[5:16].replace("T", " ")),
            Text((m.source_name or m.source).removeprefix("demo-")),
            Text(
                ", ".join(b.split()[0] for b in row.brands)
            ),  # "United": the airlines' short names
            Text(f"{m.sentiment_label[:3]} {m.sentiment_compound:+.2f}", style=style),
            Text(excerpt(f"{m.title}: {m.text}" if m.title else m.text, 120)),
        )
    demo.console.print(table)


def step_live(demo: DemoContext) -> None:
    """UBG and a month of mentions through the real main loop (``demo_steps.play_live``)."""
    from earful.demo.steps import play_live

    play_live(demo)


def step_digest(demo: DemoContext) -> None:
    """The last demo day's digest as HTML and JSON (``demo_steps.write_digest``)."""
    from earful.demo.steps import write_digest

    write_digest(demo)


DEMO_STEPS: list[tuple[str, DemoStep]] = [
    ("poll", step_poll),
    ("mentions", step_show_mentions),
    ("live", step_live),
    ("digest", step_digest),
]


def register_step(name: str, step: DemoStep, *, after: str | None = None) -> None:
    """Add a demo step (at the end, or right after the step called ``after``)."""
    if any(existing == name for existing, _ in DEMO_STEPS):
        return
    if after is None:
        DEMO_STEPS.append((name, step))
        return
    index = next(i for i, (existing, _) in enumerate(DEMO_STEPS) if existing == after)
    DEMO_STEPS.insert(index + 1, (name, step))


@contextmanager
def demo_context(
    console: Console, workdir: Path | None = None, out_dir: Path | None = None
) -> Iterator[DemoContext]:
    """The server, config, settings and database (``earful.db``, thrown away unless
    ``workdir`` is given) of one demo run; outputs go to ``out_dir``."""
    with (
        tempfile.TemporaryDirectory(prefix="earful-demo-") as tmp,
        FeedServer(demo_routes()) as server,
    ):
        root = workdir or Path(tmp)
        db_url = f"sqlite:///{root / 'earful.db'}"
        settings = get_settings(db_url=db_url, config=root, host_min_interval_s=0.0, max_retries=0)
        engine = make_engine(db_url)
        try:
            init_db(engine)
            yield DemoContext(
                console=console,
                workdir=root,
                server=server,
                config=demo_config(server.base_url),
                settings=settings,
                engine=engine,
                clock=SystemClock(),
                out_dir=out_dir or Path("earful-demo"),
                keep=workdir,
            )
        finally:
            engine.dispose()


def run_demo(
    console: Console, *, workdir: Path | None = None, out_dir: Path | None = None
) -> DemoContext:
    """Run every demo step; returns the context (tests read ``results`` and the report)."""
    with demo_context(console, workdir, out_dir) as demo:
        console.print(
            Text(f"Earful demo: sample feeds on {demo.server.base_url}, database in {demo.workdir}")
        )
        for _name, step in DEMO_STEPS:
            step(demo)
        return demo
