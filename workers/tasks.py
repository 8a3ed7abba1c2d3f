"""Thin Celery tasks over ``earful.run.distributed``: ids or JSON in, one call, a small dict out.

Every task is idempotent (upserts, claim tokens, unique keys), acknowledged late, and retried
with exponential backoff and full jitter for transient errors only
(``earful.run.distributed.TRANSIENT_ERRORS``); anything else is a bug and fails the task loudly.
"""

from __future__ import annotations

from typing import Any

from celery import Task
from celery.signals import worker_process_init, worker_process_shutdown

from earful.run import distributed
from earful.settings import get_settings
from workers.app import app

_runtime: distributed.Runtime | None = None


def runtime() -> distributed.Runtime:
    """This process's engine, HTTP client and pipeline context (built on first use)."""
    global _runtime
    if _runtime is None:
        _runtime = distributed.create_runtime(
            get_settings(), risk_enqueuer=lambda ids: evaluate_risk.delay(ids)
        )
    return _runtime


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _fresh_runtime(**_: Any) -> None:
    # A forked child must not share the parent's pooled connections.
    global _runtime
    _runtime = None


@worker_process_shutdown.connect  # type: ignore[untyped-decorator]
def _close_runtime(**_: Any) -> None:
    if _runtime is not None:
        _runtime.close()


class EarfulTask(Task):  # type: ignore[misc]
    """Retries transient errors only; log lines inside carry the task id."""

    autoretry_for = distributed.TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 6
    acks_late = True
    reject_on_worker_lost = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        source = args[0] if self.name == "earful.poll_source" and args else None
        with distributed.log_context(self.request.id or "-", source):
            return super().__call__(*args, **kwargs)


def _enqueue_poll(claim: distributed.Claim) -> None:
    poll_source.apply_async(args=(claim.source, claim.token))


@app.task(name="earful.tick", base=EarfulTask)  # type: ignore[untyped-decorator]
def tick() -> list[str]:
    """Claim the due sources and enqueue one poll each (beat sends this every few seconds)."""
    return [c.source for c in distributed.tick(runtime(), _enqueue_poll)]


@app.task(name="earful.poll_source", base=EarfulTask)  # type: ignore[untyped-decorator]
def poll_source(name: str, token: str) -> dict[str, Any]:
    """Poll one claimed source through ``runner.poll_source`` (the code of ``earful run``)."""
    return distributed.poll_claimed(runtime(), name, token)


@app.task(name="earful.process_batch", base=EarfulTask)  # type: ignore[untyped-decorator]
def process_batch(mentions: list[dict[str, Any]], source_name: str | None = None) -> dict[str, Any]:
    """Store a pushed batch of normalized mention JSON (e.g. from the Jetstream firehose)."""
    return distributed.process_pushed(runtime(), mentions, source_name)


@app.task(name="earful.refresh_engagement", base=EarfulTask)  # type: ignore[untyped-decorator]
def refresh_engagement() -> int:
    return distributed.refresh_engagement(runtime())


@app.task(name="earful.evaluate_risk", base=EarfulTask)  # type: ignore[untyped-decorator]
def evaluate_risk(mention_ids: list[int]) -> int:
    """Risk and escalation for freshly stored mentions, then deliver what it queued."""
    decisions = distributed.evaluate_risk(runtime(), mention_ids)
    if decisions:
        deliver_notifications.delay()
    return decisions


@app.task(name="earful.sweep_unscored", base=EarfulTask)  # type: ignore[untyped-decorator]
def sweep_unscored() -> int:
    """Re-enqueue the risk evaluation of stored mentions it never reached (lost in a Redis
    restart); skipped while the process queue still has work."""
    rt = runtime()
    return distributed.sweep_unscored(
        rt, lambda ids: evaluate_risk.delay(ids), backlog=lambda: distributed.process_backlog(rt)
    )


@app.task(name="earful.deliver_notifications", base=EarfulTask)  # type: ignore[untyped-decorator]
def deliver_notifications() -> int:
    return distributed.deliver_notifications(runtime())


@app.task(name="earful.check_sla", base=EarfulTask)  # type: ignore[untyped-decorator]
def check_sla() -> int:
    """Raise escalations whose acknowledgement is overdue, then deliver what that queued."""
    raised = distributed.check_sla(runtime())
    if raised:
        deliver_notifications.delay()
    return raised


@app.task(name="earful.rematch_changed", base=EarfulTask)  # type: ignore[untyped-decorator]
def rematch_changed() -> int:
    """Re-match stored mentions of brands whose queries changed since they were matched."""
    return distributed.rematch_changed(runtime())


@app.task(name="earful.build_digests", base=EarfulTask)  # type: ignore[untyped-decorator]
def build_digests() -> int:
    return distributed.build_digests(runtime())
