"""A long-lived stream feeding the pipeline: the Bluesky Jetstream source.

``sources.jetstream`` is only a client (websocket in, ``RawMention`` batches out); this module
is where a stream meets the rest of Earful — the source's stored cursor and health, the brand
matcher, the pipeline transaction and the after-commit hooks.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy.engine import Engine

from earful.config.models import SourceConfig
from earful.matching.matcher import MatchDoc
from earful.mention import RawMention
from earful.pipeline import PipelineContext, process_batch, run_after_batch
from earful.sources.jetstream import DEFAULT_URL, JetstreamStats, run_jetstream
from earful.store.db import run_in_transaction
from earful.store.repository import get_or_create_source_state, record_poll_ok


def run_source(
    engine: Engine,
    source: SourceConfig,
    ctx: PipelineContext,
    stop: threading.Event,
    *,
    url: str | None = None,
) -> JetstreamStats:
    """Stream one configured ``bluesky`` source (``params.mode: jetstream``) into the store.

    Wires ``sources.jetstream.run_jetstream`` (a client only) to Earful: the cursor comes from
    and goes to the source's ``SourceState`` (so ``earful sources list`` shows the stream's
    health), ``keep`` is the brand matcher of ``ctx`` (optionally only posts in
    ``params.langs``), and each batch goes through ``pipeline.process_batch`` in one
    transaction, then the after-commit hooks.
    Meant for a thread of a long-running process (``earful run``), stopped with ``stop``.
    ``params.jetstream_url`` overrides the public instance (another region, a local relay).
    """
    langs = {str(v) for v in source.params.get("langs") or []}
    matcher = ctx.matcher

    def keep(m: RawMention) -> bool:
        if langs and m.language not in langs:
            return False
        return bool(matcher.match(MatchDoc.from_mention(m)))

    kept_since_save = [0]

    def sink(batch: list[RawMention]) -> None:
        report = run_in_transaction(
            engine, lambda session: process_batch(session, batch, ctx, source_name=source.name)
        )
        kept_since_save[0] += len(batch)
        run_after_batch(engine, report, ctx)

    def save_cursor(time_us: int) -> None:
        count, kept_since_save[0] = kept_since_save[0], 0
        run_in_transaction(
            engine,
            lambda session: record_poll_ok(
                session,
                name=source.name,
                kind=source.kind,
                now=ctx.clock.now(),
                interval=source.interval,
                cursor=str(time_us),
                item_count=count,
                new_count=count,
            ),
        )

    def stored_cursor() -> int | None:
        def read(session: Any) -> str | None:
            state = get_or_create_source_state(session, name=source.name, kind=source.kind)
            return state.cursor

        value = run_in_transaction(engine, read)
        return int(value) if value and value.isdigit() else None

    return run_jetstream(
        url or str(source.params.get("jetstream_url") or DEFAULT_URL),
        cursor=stored_cursor(),
        keep=keep,
        sink=sink,
        save_cursor=save_cursor,
        stop=stop,
        clock=ctx.clock,
    )
