"""Where ingest time goes: the pipeline run as ``earful run`` runs it, timed stage by stage.

One feed body is one poll: parse, then match / dedupe / score and store in one transaction,
then the after-batch hooks of a full run (risk evaluation, escalation, outbox) once it is
committed. ``--profile`` prints the seconds of each stage as µs per parsed mention:

* ``parse``: the feed connector's ``parse`` (bytes -> RawMention);
* ``match``, ``dedupe``, ``sentiment``: the pipeline stages' ``process``;
* ``store``: the rest of the transaction (upsert, lookups of known keys, commit);
* ``risk``: the after-batch hooks (risk, escalation, SLA checks, delivery);
* ``glue``: whatever is left (batch and session set-up, the loop itself).
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from earful.clock import SimulatedClock
from earful.config.escalation import ChannelConfig, EscalationConfig, RouteConfig
from earful.config.models import AppConfig

STAGES = ("parse", "match", "dedupe", "sentiment", "store", "risk", "glue")


@dataclass
class IngestRun:
    """What one ingest run measured: mentions parsed and stored, seconds by stage."""

    parsed: int = 0
    stored: int = 0
    seconds: float = 0.0
    stage_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    def us_per_mention(self) -> dict[str, float]:
        n = self.parsed or 1
        return {name: round(s * 1e6 / n, 1) for name, s in self.stage_s.items()}


class _TimedStage:
    """A pipeline stage whose ``process`` adds its seconds to ``run.stage_s[name]``."""

    def __init__(self, stage: Any, run: IngestRun) -> None:
        self.name = stage.name
        self._stage = stage
        self._run = run

    def process(self, batch: list[Any], rejected: Counter[str]) -> list[Any]:
        started = time.perf_counter()
        try:
            kept: list[Any] = self._stage.process(batch, rejected)
        finally:
            self._run.stage_s[self.name] += time.perf_counter() - started
        return kept

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stage, name)


def with_file_channel(config: AppConfig, path: Path) -> AppConfig:
    """``config`` with every escalation routed to a JSON Lines file (nothing on the console)."""
    escalation = EscalationConfig(
        channels={"file": ChannelConfig(kind="file", path=str(path))},
        routes=[
            RouteConfig(brand="*", level=level, channel="file", to="bench") for level in (1, 2, 3)
        ],
    )
    return config.model_copy(update={"escalation": escalation})


def run_ingest(config: AppConfig, bodies: list[bytes], *, source_name: str = "bench") -> IngestRun:
    """Ingest ``bodies`` (RSS) into a fresh SQLite database as ``earful run`` does, with the
    after-batch risk evaluation on; every stage timed."""
    from earful.pipeline import process_batch, run_after_batch, stages_for
    from earful.run.runner import build_run_context
    from earful.sources.feed.connector import parse
    from earful.store.db import init_db, make_engine, run_in_transaction

    run = IngestRun()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        init_db(engine)
        config = with_file_channel(config, Path(tmp) / "notifications.jsonl")
        ctx = build_run_context(config, SimulatedClock(datetime(2026, 1, 2, tzinfo=UTC)))
        # the stages of this source, built as the pipeline builds them, each timed
        stages = stages_for(ctx, source_name=source_name)
        parts = (ctx.config, ctx.matcher, ctx.analyzer)
        ctx.stages[source_name] = (parts, [_TimedStage(s, run) for s in stages])
        stage_s = run.stage_s
        timed = ("match", "dedupe", "sentiment")
        started = time.perf_counter()
        for body in bodies:
            t0 = time.perf_counter()
            raws = parse(body, url="https://bench.example.com/").mentions
            t1 = time.perf_counter()
            run.parsed += len(raws)
            before = sum(stage_s[k] for k in timed)

            def work(session: Any, raws: list[Any] = raws) -> Any:
                return process_batch(session, raws, ctx, source_name=source_name)

            report = run_in_transaction(engine, work)
            t2 = time.perf_counter()
            run.stored += report.stored
            if report.stored:
                run_after_batch(engine, report, ctx)
            t3 = time.perf_counter()
            stage_s["parse"] += t1 - t0
            stage_s["store"] += (t2 - t1) - (sum(stage_s[k] for k in timed) - before)
            stage_s["risk"] += t3 - t2
        run.seconds = time.perf_counter() - started
        engine.dispose()
    stage_s["glue"] = max(0.0, run.seconds - sum(v for k, v in stage_s.items() if k != "glue"))
    return run
