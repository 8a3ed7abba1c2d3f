"""The live part of ``earful demo``: a month of United Airlines mentions and "United Breaks
Guitars", served over local HTTP and played through the real main loop on a simulated clock.

:func:`play_live` starts a :class:`~earful.demo.live.WorldServer` (a Mastodon instance, the
YouTube Data API and JSON Feeds, answering as of the simulated time) and a signed-webhook
receiver, then runs ``loop.run_pass`` — the exact pass of ``earful run``: poll, engagement
re-polls, risk and SLA, outbox delivery, due digests — once per simulated hour from
2009-07-05 00:00 UTC to the end of the last demo day (2009-07-09, America/Chicago), with the
bundled quiet day (ordinary complaints and praise) moved into the same days. The first
pass catches up on the month of mentions since 2009-06-09 (``demo/data/united_month.jsonl``:
complaints, praise, a recurring lost-bag theme at O'Hare, a one-off outage spike, a hostile
``<script>`` mention); one feed answers 503 all along (a blind spot the digest must show).
Escalations arrive at the console channel and at the webhook receiver, which checks the
HMAC signature; each arrival is printed with its level and reasons.

:func:`write_digest` builds the United Airlines digest for the last demo day and writes
``digest.html`` and ``digest.json`` — the same page as ``earful digest`` on the kept database.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast
from zoneinfo import ZoneInfo

from rich.text import Text

from earful.clock import SimulatedClock, SystemClock, isoformat_z, parse_iso
from earful.config.escalation import EscalationConfig
from earful.config.models import AppConfig, SourceConfig
from earful.demo.live import (
    Delivery,
    FeedItem,
    LocalApiTransport,
    WebhookReceiver,
    WorldServer,
    posts_from_events,
)

if TYPE_CHECKING:
    from earful.demo.main import DemoContext

logger = logging.getLogger(__name__)

BRAND = "United Airlines"
ZONE = ZoneInfo("America/Chicago")
LAST_DAY = date(2009, 7, 9)
PLAY_FROM = datetime(2009, 7, 5, tzinfo=ZoneInfo("UTC"))
STEP = timedelta(hours=1)
SECRET_ENV = "EARFUL_DEMO_WEBHOOK_SECRET"
FAILING_FEED = "ohare-blog"


def play_end() -> datetime:
    """The end of the last demo day in the brand's timezone (UTC)."""
    from earful.digest.build import local_midnight

    return local_midnight(LAST_DAY + timedelta(days=1), ZONE)


def month_feeds() -> dict[str, list[FeedItem]]:
    """The month of demo mentions, per feed (``demo/data/united_month.jsonl``)."""
    body = (resources.files("earful.demo") / "data" / "united_month.jsonl").read_text("utf-8")
    feeds: dict[str, list[FeedItem]] = {FAILING_FEED: []}
    for line in body.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        at = parse_iso(row["at"])
        item = FeedItem(row["id"], at, row["author"], row["text"], row.get("title"))
        feeds.setdefault(row["feed"], []).append(item)
    return feeds


def quiet_background() -> list[dict[str, Any]]:
    """The bundled quiet day (ordinary complaints and praise, nothing spreading), moved to
    start on 2009-07-05 in the middle of the UBG play: it must not escalate."""
    from earful.run.replay import load_scenario

    events = load_scenario("quiet_day")
    shift = PLAY_FROM + timedelta(hours=6) - events[0]["_at"]
    out = []
    for ev in events:
        moved = dict(ev, id=f"quiet-{ev['id']}", _at=ev["_at"] + shift)
        if ev.get("_published") is not None:
            moved["_published"] = ev["_published"] + shift
        out.append(moved)
    return out


class FirstInFull:
    """The console channel for the demo: the first notification in full (what a service lead
    reads), later ones in one line each, so the raises do not repeat the same page."""

    channel = "console"
    idempotent = False

    def __init__(self, sender: Any) -> None:
        self.sender = sender
        self.sent = 0

    def send(self, msg: Any, *, to: str, idempotency_key: str) -> None:
        self.sent += 1
        if self.sent == 1:
            self.sender.send(msg, to=to, idempotency_key=idempotency_key)
            return
        stream = self.sender.stream
        stream.write(
            f"--- notification for {to} ({idempotency_key}): level {msg.level} "
            f"({msg.level_name}), risk {msg.risk:.0f}; the same post as above ---\n"
        )
        stream.flush()


def live_config(base: AppConfig, world_url: str, hook_url: str) -> AppConfig:
    """The demo brands, the world's sources, and escalations routed to console + webhook."""
    sources = [
        SourceConfig(
            name="demo-social",
            kind="mastodon",
            params={"instances": [world_url], "hashtags": ["united"], "refresh_min": "30m"},
            interval=timedelta(minutes=30),
        ),
        SourceConfig(
            name="demo-video",
            kind="youtube",
            params={
                "q": "united airlines",
                "key": "demo-key-not-secret",
                "comment_videos": 0,
                "daily_quota": 10_000_000,
                "refresh_min": "30m",
            },
            interval=timedelta(minutes=30),
        ),
        *(
            SourceConfig(name=name, kind="rss", url=f"{world_url}/feeds/{name}.json", interval="6h")
            for name in ("travel-forum", "trip-reviews", FAILING_FEED)
        ),
    ]
    escalation = EscalationConfig.model_validate(
        {
            "channels": {
                "console": {"kind": "console"},
                "demo-hook": {"kind": "webhook", "url": hook_url, "secret_env": SECRET_ENV},
            },
            # Each raise reaches someone new on the console; the webhook hears every level.
            "routes": [
                *(
                    {"brand": "*", "level": level, "channel": "console", "to": person}
                    for level, person in (
                        (1, "service-lead"),
                        (2, "care-manager"),
                        (3, "executive"),
                    )
                ),
                *(
                    {"brand": "*", "level": n, "channel": "demo-hook", "to": "ops-webhook"}
                    for n in (1, 2, 3)
                ),
            ],
        }
    )
    # The loop's digest step would record a digest_run per simulated day (and warn that
    # nobody receives it); the demo writes its digest itself, for the last day.
    digest = base.digest.model_copy(update={"enabled": False})
    # The demo's Mastodon instance carries the scenarios' tweets, blog and forum posts: judge
    # their engagement against the twitter baseline they were written for.
    baselines = dict(base.risk.baselines)
    baselines["mastodon"] = baselines.get("twitter", baselines.get("default", 2.0))
    risk = base.risk.model_copy(update={"baselines": baselines})
    return base.model_copy(
        update={"sources": sources, "escalation": escalation, "digest": digest, "risk": risk}
    )


def _feed_map(month: dict[str, list[FeedItem]]) -> dict[str, list[FeedItem]]:
    names = {"forum": "travel-forum", "reviews": "trip-reviews"}
    return {names.get(k, k): v for k, v in month.items()}


def _print_arrival(demo: DemoContext, clock: SimulatedClock, d: Delivery) -> None:
    p = d.payload
    reasons = p.get("reasons") or []
    top = sorted(reasons, key=lambda r: -float(r.get("contribution") or 0))[:3]
    line = Text(f"  {isoformat_z(clock.now())}  ", style="dim")
    update = p.get("update")
    kind = "UPDATE" if update else "LEVEL"
    line.append(f"{kind} {p.get('level')} ({p.get('level_name')})", style="bold red")
    line.append(f"  risk {p.get('risk')}  {p.get('brand')}  {p.get('source')} ")
    line.append(str(p.get("author") or ""))
    line.append(f"  webhook signature {'valid' if d.valid else 'INVALID'}\n", style="green")
    if update:
        line.append(f"      update: {update}\n")
    elif int(p.get("level") or 1) > 1:
        line.append("      raised: not acknowledged within its SLA (nobody acks in the demo)\n")
    title = p.get("title") or p.get("text") or ""
    line.append(f"      {str(title)[:90]}\n")
    for r in top:
        line.append(f"      · {r.get('factor')} +{r.get('contribution')}: {r.get('detail')}\n")
    demo.console.print(line, end="")


def play_live(demo: DemoContext) -> None:
    """See the module docstring; leaves ``escalations`` (webhook payloads), ``webhook_valid``,
    ``webhook_refused`` and ``live_passes`` in ``demo.results``."""
    from earful.notify.channels.console import ConsoleSender
    from earful.run.loop import build_loop_context, run_pass
    from earful.run.replay import load_scenario
    from earful.sources.http import make_client

    demo.console.rule("[bold]3. United Breaks Guitars, live over local HTTP (simulated clock)")
    end = play_end()
    events = [e for e in [*load_scenario("ubg"), *quiet_background()] if e["_at"] < end]
    events.sort(key=lambda e: e["_at"])
    clock = SimulatedClock(PLAY_FROM)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    arrivals: list[Delivery] = []
    pending: list[Delivery] = []

    with (
        WorldServer(
            clock,
            posts=posts_from_events(events),
            feeds=_feed_map(month_feeds()),
            failing={f"/feeds/{FAILING_FEED}.json"},
        ) as world,
        WebhookReceiver(secret, on_delivery=pending.append) as receiver,
    ):
        config = live_config(demo.config, world.base_url, receiver.url)
        demo.results["live_config"] = config
        ctx, deliver = build_loop_context(config, demo.settings, clock, env={SECRET_ENV: secret})
        senders = deliver.senders()
        if "console" in senders:
            senders["console"] = FirstInFull(ConsoleSender(stream=cast(TextIO, demo.console.file)))
        transport = LocalApiTransport({"www.googleapis.com"}, world.base_url)
        demo.console.print(
            Text(
                f"  world on {world.base_url} (Mastodon, YouTube API, feeds), webhook receiver "
                f"on {receiver.url}; playing {isoformat_z(PLAY_FROM)} → {isoformat_z(end)}"
            )
        )
        passes = 0
        since: datetime | None = None
        try:
            with make_client(demo.settings, transport=transport, host_min_interval_s=0.0) as http:
                at = PLAY_FROM
                while at < end:
                    clock.set(at)
                    report = run_pass(
                        demo.engine,
                        config,
                        demo.settings,
                        clock,
                        http=http,
                        ctx=ctx,
                        deliver=deliver,
                        since=since,
                    )
                    since = report.started_at
                    passes += 1
                    for name, error in report.step_errors.items():
                        demo.console.print(Text(f"  step {name} failed: {error}", style="red"))
                    while pending:
                        delivery = pending.pop(0)
                        arrivals.append(delivery)
                        _print_arrival(demo, clock, delivery)
                    at += STEP
        finally:
            deliver.close()
            transport.close()
        demo.results["escalations"] = [d.payload for d in arrivals if d.valid]
        demo.results["webhook_valid"] = sum(1 for d in arrivals if d.valid)
        demo.results["webhook_refused"] = receiver.refused
        demo.results["live_passes"] = passes
        demo.results["world_requests"] = world.requests
    demo.console.print(
        Text(
            f"  {passes} passes of the main loop, {world.requests} HTTP requests served, "
            f"{demo.results['webhook_valid']} signed notification(s) received "
            f"({receiver.refused} refused)"
        )
    )


def reproduce_command(keep: Path | None, out: str = "d.html") -> str | None:
    if keep is None:
        return None
    db = (keep / "earful.db").resolve()
    cfg = (keep / "config").resolve()
    return (
        f'earful --config {cfg} --db sqlite:///{db} digest --brand "{BRAND}" '
        f"--date {LAST_DAY.isoformat()} --out {out}"
    )


def write_demo_config(config: AppConfig, directory: Path) -> None:
    """The demo's brands (and its sources, disabled: their servers are gone) as a config
    directory, so ``earful digest`` on the kept database sees the same brands."""
    import yaml

    directory.mkdir(parents=True, exist_ok=True)
    brands = [b.model_dump(mode="json", exclude_defaults=True) for b in config.brands]
    (directory / "brands.yaml").write_text(
        "# Written by `earful demo --keep`: the demo's brands.\n"
        + yaml.safe_dump({"brands": brands}, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    (directory / "sources.yaml").write_text(
        "# The demo's sources served on 127.0.0.1 only while it ran.\nsources: []\n",
        encoding="utf-8",
    )


def write_digest(demo: DemoContext) -> None:
    """The digest of the last demo day: HTML and JSON in ``demo.out_dir``."""
    from earful.digest.build import build_digest
    from earful.digest.charts import render_charts
    from earful.digest.render import data_uri_srcs, digest_to_json, render_html

    demo.console.rule(f"[bold]4. The daily digest for {BRAND}, {LAST_DAY.isoformat()}")
    from earful.config.loader import load_config

    # Written beside the database and read back, so `earful digest --config` on a kept
    # database sees exactly the config this page was built with.
    config_dir = demo.workdir / "config"
    write_demo_config(demo.results.get("live_config") or demo.config, config_dir)
    config: AppConfig = load_config(config_dir)
    data = build_digest(demo.engine, config, brand=BRAND, now=SystemClock().now(), day=LAST_DAY)
    dcfg = config.digest
    html = render_html(
        data,
        chart_srcs=data_uri_srcs(render_charts(data)),
        chronic_weeks=dcfg.chronic_min_weeks,
        chronic_authors=dcfg.chronic_min_authors,
    )
    out = demo.out_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "digest.html").write_text(html, encoding="utf-8")
    (out / "digest.json").write_text(digest_to_json(data), encoding="utf-8")
    demo.results["digest_path"] = out / "digest.html"
    demo.results["digest"] = data
    chronic = [t for t in data.themes if t.chronic]
    demo.console.print(
        Text(
            f"  {data.volume} mentions (negative {data.sentiment.negative}, positive "
            f"{data.sentiment.positive}); "
            f"{len(data.themes)} theme(s), chronic: "
            + (
                "; ".join(" · ".join(t.terms) + f" ({t.weeks_seen} weeks)" for t in chronic)
                or "none"
            )
        )
    )
    health = [f"{h.source}: {h.status}" for h in data.source_health if h.status != "ok"]
    if health:
        demo.console.print(Text("  source health: " + ", ".join(health)))
    demo.console.print(Text(f"digest written: {(out / 'digest.html').resolve()}", style="bold"))
    demo.console.print(Text(f"digest JSON:    {(out / 'digest.json').resolve()}"))
    if demo.keep is not None:
        command = reproduce_command(demo.keep)
        demo.results["reproduce"] = command
        demo.console.print(Text("the same page from the kept database:"))
        demo.console.print(Text(f"  {command}"), soft_wrap=True)
    else:
        demo.console.print(
            Text("(the database was thrown away: `earful demo --keep DIR` keeps it)", style="dim")
        )


def describe(results: dict[str, Any]) -> str:
    """One line for logs and tests."""
    return (
        f"{results.get('live_passes')} passes, {results.get('webhook_valid')} notifications, "
        f"digest {results.get('digest_path')}"
    )
