"""Keyed jobs on a small pool of daemon threads: a slow job holds its own thread, nothing else.

``earful run`` hands each due source's poll (key ``source:<name>``) and the engagement re-poll
(key ``engagement``) to a :class:`JobPool`, then goes on with the outbox, SLA checks and
digests on its own schedule. Contract:

- a key is never queued or running twice at once (:meth:`JobPool.submit` refuses it), so a
  source that hangs is not polled again behind itself, and never piles up;
- a job's outcome (its value, or the exception it raised) comes back through
  :meth:`JobPool.drain`; ``finished`` is set whenever one is waiting, so the loop can wake;
- :meth:`JobPool.close` drops queued jobs and waits at most ``grace_s`` for running ones. The
  threads are daemons: a job stuck in a read (a source that trickles bytes) never keeps the
  process alive, and its request ends at the HTTP client's stop flag or deadline anyway.

``concurrent.futures.ThreadPoolExecutor`` does not fit: its threads are joined at interpreter
exit, so one hung request would hold ``SIGTERM`` hostage.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Done:
    """One finished job: ``value`` when it returned, ``error`` when it raised."""

    key: str
    value: Any = None
    error: BaseException | None = None


_Job = tuple[str, Callable[[], Any]]


class JobPool:
    """``threads`` daemon workers running keyed jobs (module docstring)."""

    def __init__(self, threads: int, *, name: str = "poll") -> None:
        self.threads = max(1, threads)
        self.finished = threading.Event()
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._running: set[str] = set()
        self._done: list[Done] = []
        self._closed = False
        self._workers = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(self.threads)
        ]
        for worker in self._workers:
            worker.start()

    def submit(self, key: str, job: Callable[[], Any]) -> bool:
        """Queue ``job`` under ``key``; False (nothing queued) when that key is already queued
        or running, or the pool is closed."""
        with self._lock:
            if self._closed or key in self._busy:
                return False
            self._busy.add(key)
        self._queue.put((key, job))
        return True

    def busy(self) -> set[str]:
        """Keys queued or running."""
        with self._lock:
            return set(self._busy)

    def running(self) -> set[str]:
        """Keys running now."""
        with self._lock:
            return set(self._running)

    def drain(self) -> list[Done]:
        """The jobs finished since the last call, in the order they finished."""
        with self._lock:
            done, self._done = self._done, []
            self.finished.clear()
        return done

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            key, job = item
            with self._lock:
                if self._closed:
                    self._busy.discard(key)
                    continue
                self._running.add(key)
            outcome = Done(key)
            try:
                outcome.value = job()
            except BaseException as exc:  # reported to the loop, never kills the worker
                outcome.error = exc
            with self._lock:
                self._running.discard(key)
                self._busy.discard(key)
                self._done.append(outcome)
                self.finished.set()

    def close(self, grace_s: float) -> list[str]:
        """Stop taking jobs, drop the queued ones, wait up to ``grace_s`` for the running ones;
        returns the keys still running after the grace (their daemon threads are left)."""
        with self._lock:
            self._closed = True
        for _ in self._workers:
            self._queue.put(None)
        deadline = time.monotonic() + max(0.0, grace_s)
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        left = sorted(self.running())
        if left:
            logger.warning("left running after the %.0fs grace: %s", grace_s, ", ".join(left))
        return left
