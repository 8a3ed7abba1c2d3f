"""The Celery app of the distributed runner (``celery -A workers.app worker|beat``).

Configuration comes from ``earful.settings`` when Celery first needs it (the ``on_configure``
signal), never at import time. Queues keep slow polling away from notifications:
poll, process, engagement, notify, digest (``earful.run.celery_config``, where
``create_app`` builds a second app on another broker for tests, tools and benchmarks).

Worker log lines carry the task id and the source name (``earful.run.distributed.LOG_FORMAT``);
workers send task events, so ``celery -A workers.app events`` and Flower can watch them.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

from earful.run.celery_config import celery_config
from earful.run.distributed import install_log_filter
from earful.run.memory import tune_gc
from earful.settings import get_settings

app = Celery("earful")
tune_gc()  # the worker process keeps brand windows for days (see earful.run.memory)


@app.on_configure.connect  # type: ignore[untyped-decorator]
def _configure(sender: Celery, **_: Any) -> None:
    sender.conf.update(celery_config(get_settings()))


@after_setup_logger.connect  # type: ignore[untyped-decorator]
@after_setup_task_logger.connect  # type: ignore[untyped-decorator]
def _structured_logs(logger: logging.Logger, **_: Any) -> None:
    install_log_filter(logger)


app.autodiscover_tasks(["workers"], related_name="tasks", force=True)
