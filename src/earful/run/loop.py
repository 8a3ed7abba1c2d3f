"""The main job of ``earful run``: every step, each isolated and on its own schedule, plus the
firehose threads.

:func:`run_forever` (``earful run``) never waits for a poll: due sources are handed to a small
pool of daemon threads (``run.scheduler.JobPool``, ``EARFUL_POLL_THREADS``; a source is never
polled twice at once) and the loop goes on running the other steps every ``STEP_PERIODS_S``, so
a source that hangs or trickles bytes delays nothing but itself. On stop (SIGTERM) it waits at
most ``STOP_GRACE_S`` for the polls in flight; the HTTP client's stop flag ends their requests at
the next chunk, and a poll stuck beyond that is left to its daemon thread.

One pass (:func:`run_pass`, ``earful run --once``), in order, each step in its own ``try`` (a
failing step is logged, named in ``RunReport.step_errors``, and never stops the others):

0. ``rematch``  — ``run.rematch.rematch_changed``: brands whose queries changed since their
   stored mentions were matched get them re-matched (:func:`run_forever` runs it on start-up
   and after each config reload that changed something).
1. ``poll``     — ``runner.run_once``: poll the due sources concurrently (each batch goes through
   the pipeline, then the after-commit hooks: risk scoring, escalation, outbox flush), then
   re-poll rising mentions' engagement (``engagement.refresh_due``).
2. ``risk``     — ``risk_eval.tick``: re-score mentions whose engagement changed since the
   previous pass (virality arrives through re-polls, not through new batches) and raise
   escalations whose SLA passed unacknowledged (``escalation.check_sla``); then ``sweep``
   (``run.sweep.rescore_unscored``): stored mentions no evaluation reached (the process was
   killed between a batch's commit and its hook) are evaluated.
3. ``notify``   — ``notify.outbox.deliver_due`` over the configured channels: retries with
   backoff, re-sends of raised escalations, nothing sent twice.
4. ``digest``   — ``digest.schedule.run_due_digests``: each brand's daily digest once its local
   send time has passed (claimed per brand and day, so a second pass sends nothing).

:class:`StreamSupervisor` keeps one thread per streamed source (``kind: bluesky`` with
``params.mode: jetstream``) running ``run.stream.run_source`` for as long as the source
stays in the config unchanged; ``stop_all`` stops and joins them (Ctrl-C). Streamed sources are
never polled (``runner.is_streamed``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.clock import Clock
from earful.config.models import AppConfig, SourceConfig
from earful.digest.schedule import run_due_digests
from earful.errors import ConfigError
from earful.notify.outbox import deliver_due, make_sender
from earful.pipeline import PipelineContext
from earful.risk import evaluation as risk_eval
from earful.run.rematch import rematch_changed
from earful.run.runner import (
    PollReport,
    RunProgress,
    RunReport,
    build_run_context,
    is_streamed,
    next_due_at,
    poll_source,
    refresh_engagement,
    run_once,
    sources_to_poll,
    storage_failure,
)
from earful.run.scheduler import Done, JobPool
from earful.run.stream import run_source as stream_source
from earful.run.sweep import rescore_unscored
from earful.settings import Settings
from earful.sources.http import HttpClient, make_client

logger = logging.getLogger(__name__)

# The first pass re-scores engagement changes this far back (a restart loses no re-poll).
FIRST_TICK_LOOKBACK = timedelta(hours=1)
STREAM_JOIN_TIMEOUT_S = 10.0
MAX_SLEEP_S = 30.0  # longest sleep between passes: a stop or a config change waits no longer
# Seconds of real time between two runs of each step of `earful run` (polls go by their
# sources' own intervals). Each is a few indexed queries when there is nothing to do.
STEP_PERIODS_S: Mapping[str, float] = {
    "engagement": 30.0,  # re-poll rising mentions (on the poll threads)
    "risk": 10.0,  # re-score engagement changes, spikes, SLA raises
    "notify": 5.0,  # outbox: retries, re-sends of raised escalations
    "digest": 30.0,  # daily digests whose send time has passed
    "sweep": 120.0,  # stored mentions whose risk evaluation never ran (run.sweep)
}
STOP_GRACE_S = 4.0  # how long a stop waits for polls in flight (SIGTERM ends within seconds)
ENGAGEMENT = "engagement"


class Deliverer:
    """Flushes the notification outbox over the config's channels, built from the injected
    settings (URLs and secrets named by ``url_env`` / ``secret_env`` come from ``env``).

    A channel that cannot be built (its URL variable unset) is logged once and skipped: its
    rows stay pending, visible in ``earful escalations show``. Callable as ``deliver(engine)``
    (the shape the after-batch hook takes); thread-safe (the outbox claims each row).
    """

    def __init__(
        self,
        config: AppConfig,
        settings: Settings,
        clock: Clock,
        *,
        env: Mapping[str, str] | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.clock = clock
        self.env = os.environ if env is None else env
        self._own_client = client is None
        self.client = client or httpx.Client(timeout=settings.http_timeout_s)
        self._senders: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def senders(self) -> dict[str, Any]:
        with self._lock:
            if self._senders is None:
                built: dict[str, Any] = {}
                for name, channel in self.config.escalation.channels.items():
                    try:
                        built[name] = make_sender(
                            name, channel, settings=self.settings, client=self.client, env=self.env
                        )
                    except ConfigError as exc:
                        logger.error("notification channel %s disabled: %s", name, exc)
                self._senders = built
            return self._senders

    def __call__(self, engine: Engine) -> Any:

        return deliver_due(
            engine, self.senders(), clock=self.clock, config=self.config, settings=self.settings
        )

    def close(self) -> None:
        if self._own_client:
            self.client.close()


def build_loop_context(
    config: AppConfig, settings: Settings, clock: Clock, *, env: Mapping[str, str] | None = None
) -> tuple[PipelineContext, Deliverer]:
    """The pipeline context of a full run (its after-batch hook delivers with the returned
    :class:`Deliverer`, which the ``notify`` step uses too)."""

    deliver = Deliverer(config, settings, clock, env=env)
    return build_run_context(config, clock, deliver=deliver), deliver


def _step(report: Any, name: str, work: Callable[[], Any]) -> Any:
    try:
        return work()
    except Exception as exc:  # one failing step never stops the loop
        logger.exception("step %s failed", name)
        report.step_errors[name] = f"{type(exc).__name__}: {exc}"
        return None


def run_pass(
    engine: Engine,
    config: AppConfig,
    settings: Settings,
    clock: Clock,
    *,
    http: HttpClient,
    ctx: PipelineContext,
    deliver: Callable[[Engine], Any] | None,
    since: datetime | None = None,
    progress: Any = None,
    stop: threading.Event | None = None,
) -> Any:
    """One pass of every step (module docstring); returns the ``runner.RunReport`` with
    ``rescored``, ``delivered``, ``digests`` and ``step_errors`` filled in.

    ``since``: re-score mentions whose engagement changed since then (default: the last hour).
    """

    started = clock.now()
    report = RunReport()
    _step(report, "rematch", partial(_rematch_step, engine, config, clock))
    polled = _step(
        report,
        "poll",
        lambda: run_once(
            engine, config, settings, clock, http=http, progress=progress, ctx=ctx, stop=stop
        ),
    )
    if polled is not None:
        report.polls, report.refreshed = polled.polls, polled.refreshed
    if stop is not None and stop.is_set():
        return report

    def risk() -> int:

        after = since or started - FIRST_TICK_LOOKBACK
        return int(risk_eval.tick(engine, clock=clock, config=config, since=after))

    report.rescored = _step(report, "risk", risk) or 0
    swept = _step(report, "sweep", partial(_sweep_step, engine, clock, config, settings))
    report.rescored += swept or 0

    if deliver is not None:
        delivered = _step(report, "notify", lambda: deliver(engine))
        report.delivered = int(getattr(delivered, "sent", 0) or 0)

    def digests() -> list[str]:

        runs = run_due_digests(engine, config, settings, clock)
        return [f"{r.brand} {r.day}: {r.status}" for r in runs]

    report.digests = _step(report, "digest", digests) or []
    report.started_at = started
    return report


# --------------------------------------------------------------------------- firehose threads


class StreamSupervisor:
    """One thread per streamed source, restarted when its config changes."""

    def __init__(
        self,
        engine: Engine,
        *,
        run_source: Callable[[Engine, SourceConfig, PipelineContext, threading.Event], Any]
        | None = None,
    ) -> None:
        self.engine = engine
        self._run_source = run_source or stream_source
        self.threads: dict[str, tuple[SourceConfig, threading.Thread, threading.Event]] = {}

    def sync(self, config: AppConfig, ctx: PipelineContext) -> list[str]:
        """Start threads for new streamed sources, stop those removed or changed; returns the
        names running."""
        wanted = {s.name: s for s in config.sources if s.enabled and is_streamed(s)}
        for name, (source, thread, stop) in list(self.threads.items()):
            if wanted.get(name) != source or not thread.is_alive():
                stop.set()
                thread.join(STREAM_JOIN_TIMEOUT_S)
                del self.threads[name]
        for name, source in wanted.items():
            if name in self.threads:
                continue
            stop = threading.Event()
            thread = threading.Thread(
                target=self._guard,
                args=(source, ctx, stop),
                name=f"stream-{name}",
                daemon=True,
            )
            self.threads[name] = (source, thread, stop)
            thread.start()
            logger.info("source %s: firehose consumer started", name)
        return sorted(self.threads)

    def _guard(self, source: SourceConfig, ctx: PipelineContext, stop: threading.Event) -> None:
        try:
            self._run_source(self.engine, source, ctx, stop)
        except Exception:
            # the supervisor restarts it on the next pass (thread no longer alive)
            logger.exception("source %s: firehose consumer crashed", source.name)

    def stop_all(self) -> None:
        for _source, _thread, stop in self.threads.values():
            stop.set()
        for name, (_source, thread, _stop) in self.threads.items():
            thread.join(STREAM_JOIN_TIMEOUT_S)
            if thread.is_alive():
                logger.warning("source %s: firehose consumer did not stop in time", name)
        self.threads.clear()


class StepTimer:
    """When each periodic step of :func:`run_forever` is next due, in real (monotonic) time:
    every step is due at once, then every ``periods[name]`` seconds."""

    def __init__(
        self, periods: Mapping[str, float], *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.periods = dict(periods)
        self._monotonic = monotonic
        self._next: dict[str, float] = {}

    def take(self, name: str) -> bool:
        """True when ``name`` is due now (and schedules its next run)."""
        now = self._monotonic()
        if self._next.get(name, now) > now:
            return False
        self._next[name] = now + self.periods.get(name, MAX_SLEEP_S)
        return True

    def seconds_to_next(self) -> float:
        now = self._monotonic()
        return max(0.0, min((at - now for at in self._next.values()), default=0.0))


def poll_key(name: str) -> str:
    """The job key of source ``name``'s poll on the pool."""
    return f"source:{name}"


def _poll_reporting(
    engine: Engine, http: HttpClient, source: SourceConfig, ctx: PipelineContext
) -> PollReport:
    try:
        return poll_source(engine, http, source, ctx)
    except Exception as exc:  # storage trouble: reported, the pool and the others go on
        return storage_failure(source, exc)


def dispatch_polls(
    engine: Engine,
    config: AppConfig,
    clock: Clock,
    *,
    http: HttpClient,
    ctx: PipelineContext,
    pool: JobPool,
) -> list[str]:
    """Hand every due source that is not being polled already to ``pool``; returns their
    names."""
    # Read what is in flight before the due list: a poll that finishes in between has moved
    # its next poll, so it is not due again; one read after could be sent a second time.
    busy = pool.busy()
    started: list[str] = []
    for source in sources_to_poll(engine, config, clock.now()):
        key = poll_key(source.name)
        if key in busy:
            continue
        if pool.submit(key, partial(_poll_reporting, engine, http, source, ctx)):
            started.append(source.name)
    return started


def collect(done: list[Done], report: RunReport, progress: RunProgress | None) -> None:
    """Put the finished jobs of the pool into ``report`` (polls, engagement re-polls)."""
    for outcome in done:
        if outcome.error is not None:
            report.step_errors[outcome.key] = f"{type(outcome.error).__name__}: {outcome.error}"
            logger.error("%s failed: %s", outcome.key, outcome.error)
        elif outcome.key == ENGAGEMENT:
            report.refreshed += int(outcome.value or 0)
        elif isinstance(outcome.value, PollReport):
            report.polls.append(outcome.value)
            if progress is not None:
                progress.done(outcome.value)
    report.polls.sort(key=lambda p: p.source)


def _nap(stop: threading.Event, woken: threading.Event, seconds: float) -> None:
    """Sleep up to ``seconds``; a stop or a finished job ends the nap."""
    deadline = time.monotonic() + seconds
    while not stop.is_set() and not woken.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        stop.wait(min(left, 0.2))


def _settle(pool: JobPool, stop: threading.Event) -> None:
    """Wait until the pool has nothing queued or running (or ``stop``)."""
    while pool.busy() and not stop.is_set():
        stop.wait(0.02)


def _rematch_step(engine: Engine, config: AppConfig, clock: Clock) -> int:
    """Re-match the stored mentions of brands whose queries changed (``run.rematch``)."""
    done = rematch_changed(engine, config, now=clock.now())
    if done is None:
        return 0
    logger.info(
        "re-matched %s stored mention(s): %s; %s left with no brand",
        done.scanned,
        ", ".join(f"{c.brand} +{c.added} -{c.dropped}" for c in done.brands.values()),
        done.unlinked,
    )
    return done.changed


def _risk_step(engine: Engine, clock: Clock, config: AppConfig, since: datetime) -> int:
    return int(risk_eval.tick(engine, clock=clock, config=config, since=since))


def _sweep_step(engine: Engine, clock: Clock, config: AppConfig, settings: Settings) -> int:
    grace = timedelta(seconds=settings.sweep_grace_s)
    return rescore_unscored(engine, now=clock.now(), config=config, grace=grace)


def _digest_step(engine: Engine, config: AppConfig, settings: Settings, clock: Clock) -> list[str]:
    return [
        f"{r.brand} {r.day}: {r.status}" for r in run_due_digests(engine, config, settings, clock)
    ]


def _wait_s(
    engine: Engine,
    config: AppConfig,
    clock: Clock,
    *,
    busy: set[str],
    steps: StepTimer,
    max_sleep_s: float,
) -> float:
    """Until the next step or the next source not in flight is due (at most ``max_sleep_s``)."""
    wait = min(max_sleep_s, steps.seconds_to_next())
    skip = {s.name for s in config.sources if poll_key(s.name) in busy}
    try:
        with Session(engine) as session:
            upcoming = next_due_at(session, config, skip=skip)
    except Exception:
        logger.exception("could not read the next due time")
        upcoming = None
    if upcoming is not None:
        wait = min(wait, (upcoming - clock.now()).total_seconds())
    return max(min(1.0, max_sleep_s), wait)


def run_forever(
    engine: Engine,
    load_config: Callable[[], AppConfig],
    settings: Settings,
    clock: Clock,
    *,
    stop: threading.Event,
    http: HttpClient | None = None,
    progress: RunProgress | None = None,
    on_pass: Callable[[RunReport], None] | None = None,
    max_sleep_s: float = MAX_SLEEP_S,
    env: Mapping[str, str] | None = None,
    run_stream: Callable[..., Any] | None = None,
    periods: Mapping[str, float] | None = None,
    stop_grace_s: float = STOP_GRACE_S,
    lockstep: bool = False,
) -> None:
    """The main job, until ``stop`` is set: due sources polled on ``settings.poll_threads``
    daemon threads, and meanwhile, each on its own period (``periods``, default
    ``STEP_PERIODS_S``): engagement re-polls (on the pool too), risk and SLA, notifications,
    digests; one thread per streamed source (Jetstream) alongside (module docstring).

    ``on_pass`` gets a :class:`RunReport` after every turn of the loop that did something: the
    polls finished since the previous turn, and the steps that ran.

    The config is reloaded every turn, so added sources and brands need no restart; a config
    that no longer validates is logged and the last good one kept. On ``stop``, polls not yet
    started are dropped, those in flight get ``stop_grace_s``, and the stream threads are
    stopped and joined. ``env`` supplies channel URLs and secrets (default: the environment);
    ``run_stream`` replaces ``run.stream.run_source`` (tests).

    ``lockstep`` (a simulated clock: tests, replays): every turn is a whole pass in order, as
    :func:`run_pass` — the polls and the engagement re-poll are waited for, then every step
    runs, whatever its period. A hung source then holds the turn: never for a real run.
    """
    own_http = http is None
    client = http or make_client(settings, stop=stop)
    pool = JobPool(settings.poll_threads)
    steps = StepTimer(STEP_PERIODS_S if periods is None else periods)

    def due(step: str) -> bool:
        return lockstep or steps.take(step)

    config: AppConfig | None = None
    ctx: PipelineContext | None = None
    deliver: Deliverer | None = None
    retired: list[Deliverer] = []  # closed at the end: polls in flight may still use them
    streams = StreamSupervisor(engine, run_source=run_stream)
    risk_since: datetime | None = None
    try:
        while not stop.is_set():
            try:
                fresh = load_config()
            except ConfigError as exc:
                if config is None:
                    raise
                logger.error("config reload failed, keeping the previous config: %s", exc)
                fresh = config
            changed = fresh is not config and (
                config is None or fresh.model_dump() != config.model_dump()
            )
            rematch_due = ctx is None or changed
            if ctx is None or changed:
                # hooks and channels capture the config, so they are rebuilt with it
                if deliver is not None:
                    retired.append(deliver)
                ctx, deliver = build_loop_context(fresh, settings, clock, env=env)
            config = fresh
            try:
                running = streams.sync(config, ctx)
            except Exception:
                logger.exception("could not start the firehose consumers")
                running = sorted(streams.threads)
            report = RunReport(started_at=clock.now(), streams=running)
            if rematch_due:
                _step(report, "rematch", partial(_rematch_step, engine, config, clock))
            dispatch = partial(
                dispatch_polls, engine, config, clock, http=client, ctx=ctx, pool=pool
            )
            started = _step(report, "poll", dispatch) or []
            if started and progress is not None:
                progress.start(started)
            ran = bool(started)
            if lockstep:
                _settle(pool, stop)
            if due(ENGAGEMENT):
                pool.submit(ENGAGEMENT, partial(refresh_engagement, engine, client, config, clock))
            if lockstep:
                _settle(pool, stop)
            if due("risk"):
                now = clock.now()
                since = risk_since or now - FIRST_TICK_LOOKBACK
                report.rescored = (
                    _step(report, "risk", partial(_risk_step, engine, clock, config, since)) or 0
                )
                risk_since, ran = now, True
            if due("sweep"):
                swept = _step(
                    report, "sweep", partial(_sweep_step, engine, clock, config, settings)
                )
                report.rescored += swept or 0
                ran = True
            if due("notify") and deliver is not None:
                delivered = _step(report, "notify", partial(deliver, engine))
                report.delivered = int(getattr(delivered, "sent", 0) or 0)
                ran = True
            if due("digest"):
                digests = partial(_digest_step, engine, config, settings, clock)
                report.digests = _step(report, "digest", digests) or []
                ran = True
            collect(pool.drain(), report, progress)
            if on_pass is not None and (ran or report.polls or report.refreshed):
                on_pass(report)
            wait = _wait_s(
                engine, config, clock, busy=pool.busy(), steps=steps, max_sleep_s=max_sleep_s
            )
            _nap(stop, pool.finished, wait)
    finally:
        pool.close(stop_grace_s)
        streams.stop_all()
        for old in [*retired, *([deliver] if deliver is not None else [])]:
            old.close()
        if own_http:
            client.close()
