"""The main job of ``earful run``: every step of a pass, each isolated, plus the firehose threads.

One pass (:func:`run_pass`), in order, each step in its own ``try`` (a failing step is logged,
named in ``RunReport.step_errors``, and never stops the others nor the loop):

1. ``poll``     — ``runner.run_once``: poll the due sources concurrently (each batch goes through
   the pipeline, then the after-commit hooks: risk scoring, escalation, outbox flush), then
   re-poll rising mentions' engagement (``engagement.refresh_due``).
2. ``risk``     — ``risk_eval.tick``: re-score mentions whose engagement changed since the
   previous pass (virality arrives through re-polls, not through new batches) and raise
   escalations whose SLA passed unacknowledged (``escalation.check_sla``).
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
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
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
from earful.run.runner import (
    RunProgress,
    RunReport,
    build_run_context,
    is_streamed,
    next_due_at,
    run_once,
)
from earful.run.stream import run_source as stream_source
from earful.settings import Settings
from earful.sources.http import HttpClient, make_client

logger = logging.getLogger(__name__)

# The first pass re-scores engagement changes this far back (a restart loses no re-poll).
FIRST_TICK_LOOKBACK = timedelta(hours=1)
STREAM_JOIN_TIMEOUT_S = 10.0
MAX_SLEEP_S = 30.0  # longest sleep between passes: a stop or a config change waits no longer


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
) -> None:
    """The main job: loop full passes (``earful.run.loop.run_pass``: poll, engagement, risk and
    SLA, notifications, digests) until ``stop`` is set, sleeping until the next source is due
    (at most ``max_sleep_s``), with one thread per streamed source (Jetstream) alongside.

    The config is reloaded before each pass, so added sources and brands need no restart; a
    config that no longer validates is logged and the last good one kept. On ``stop`` the
    stream threads are stopped and joined. ``env`` supplies channel URLs and secrets
    (default: the environment); ``run_stream`` replaces ``run.stream.run_source`` (tests).
    """
    own_http = http is None
    client = http or make_client(settings, stop=stop)
    config: AppConfig | None = None
    ctx: PipelineContext | None = None
    deliver: Deliverer | None = None
    streams = StreamSupervisor(engine, run_source=run_stream)
    since: datetime | None = None
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
            if ctx is None or changed:
                # hooks and channels capture the config, so they are rebuilt with it
                if deliver is not None:
                    deliver.close()
                ctx, deliver = build_loop_context(fresh, settings, clock, env=env)
            config = fresh
            try:
                running = streams.sync(config, ctx)
            except Exception:
                logger.exception("could not start the firehose consumers")
                running = sorted(streams.threads)
            result = run_pass(
                engine,
                config,
                settings,
                clock,
                http=client,
                ctx=ctx,
                deliver=deliver,
                since=since,
                progress=progress,
                stop=stop,
            )
            since = result.started_at or since
            result.streams = running
            if on_pass is not None:
                on_pass(result)
            try:
                with Session(engine) as session:
                    upcoming = next_due_at(session, config)
            except Exception:
                logger.exception("could not read the next due time")
                upcoming = None
            wait = max_sleep_s
            if upcoming is not None:
                wait = min(max_sleep_s, (upcoming - clock.now()).total_seconds())
            stop.wait(max(min(1.0, max_sleep_s), wait))
    finally:
        streams.stop_all()
        if deliver is not None:
            deliver.close()
        if own_http:
            client.close()
