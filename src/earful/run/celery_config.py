"""How Earful's Celery app is configured: queues, routes, beat schedule, delivery guarantees.

Plain data and functions over typed settings, so the CLI (``earful status``), the bench and
tests can build an app on any broker without importing ``workers/`` (the worker entry point,
which is not installed as a package).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Celery
from kombu import Queue  # type: ignore[attr-defined]

from earful.run.distributed import LOG_FORMAT, QUEUES
from earful.settings import Settings

__all__ = ["BEAT", "QUEUES", "TASK_ROUTES", "celery_config", "create_app", "transport_options"]

TASK_ROUTES = {
    "earful.tick": {"queue": "poll"},
    "earful.poll_source": {"queue": "poll"},
    "earful.process_batch": {"queue": "process"},
    "earful.refresh_engagement": {"queue": "engagement"},
    "earful.evaluate_risk": {"queue": "process"},
    "earful.sweep_unscored": {"queue": "process"},
    "earful.deliver_notifications": {"queue": "notify"},
    "earful.check_sla": {"queue": "notify"},
    "earful.build_digests": {"queue": "digest"},
    "earful.rematch_changed": {"queue": "digest"},
}


# (schedule name, task, period in seconds). The tick is short: the due times live in the
# database, so the tick only asks "who is due now?".
BEAT = [
    ("tick", "earful.tick", 15),
    ("refresh-engagement", "earful.refresh_engagement", 60),
    ("deliver-notifications", "earful.deliver_notifications", 30),
    ("check-sla", "earful.check_sla", 60),
    ("build-digests", "earful.build_digests", 300),
    # Risk evaluations lost with the queue (a Redis restart): found in the store, sent again.
    ("sweep-unscored", "earful.sweep_unscored", 120),
    # Brands whose queries changed (the workers reload changed config files): stored mentions
    # re-matched, as ``earful run`` does on start-up and reload.
    ("rematch-changed", "earful.rematch_changed", 300),
]


def transport_options(visibility_timeout_s: int) -> dict[str, Any]:
    """Redis transport: how long a taken, unacknowledged message waits before it is handed to
    another worker, and how often workers sweep for such messages (a short visibility timeout
    gets a matching sweep, else kombu looks only every ~100 s)."""
    vt = max(1, visibility_timeout_s)
    return {
        "visibility_timeout": vt,
        "unacked_restore_interval": max(1, min(10, vt // 2)),
        "unacked_restore_throttle": 1 if vt < 600 else 10,
    }


def celery_config(settings: Settings) -> dict[str, Any]:
    """Everything the app needs, from typed settings."""
    return {
        "broker_url": settings.broker_url,
        "result_backend": settings.result_backend,
        "task_ignore_result": settings.result_backend is None,
        "task_queues": [Queue(name) for name in QUEUES],  # type: ignore[no-untyped-call]
        "task_default_queue": "process",
        "task_routes": TASK_ROUTES,
        # At-least-once delivery: ack after the task ran, and hand the task of a worker that
        # died (SIGKILL, OOM) to another. Tasks are idempotent, so a redelivery changes nothing.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # Long, I/O-bound tasks: one message at a time per process so none waits behind them.
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": 240,
        "task_time_limit": 300,
        "broker_transport_options": transport_options(settings.visibility_timeout_s),
        "broker_connection_retry_on_startup": True,
        # Keep reconnecting when Redis restarts (None: forever), and publish with retries.
        "broker_connection_max_retries": None,
        "task_publish_retry": True,
        # A task running when the broker connection drops cannot be acknowledged any more and
        # will be redelivered: stop it rather than finish it twice (Celery 6 default).
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_log_format": LOG_FORMAT,
        "worker_task_log_format": LOG_FORMAT,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "timezone": "UTC",
        "beat_schedule": {
            name: {
                "task": task,
                "schedule": timedelta(seconds=period),
                # A run that waited longer than its period is dropped: the next one does its job.
                "options": {"expires": period - 1},
            }
            for name, task, period in BEAT
        },
    }


def create_app(settings: Settings, *, main: str = "earful") -> Celery:
    """A Celery app talking to ``settings.broker_url`` (for tests, tools and benches); the
    tasks are registered on the module-level :data:`app` and reached here by name."""
    other = Celery(main, set_as_current=False)
    other.conf.update(celery_config(settings))
    return other
