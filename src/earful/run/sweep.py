"""Lost work found again: stored mentions whose risk evaluation never ran.

A batch of mentions is stored in one transaction and its risk evaluation runs after the commit
(the embedded runner's hook, or the ``earful.evaluate_risk`` task). When that follow-up is lost
— Redis restarted without persistence and took the queued messages with it, a process died
between the commit and the hook — the mentions stay unscored until something looks for them.

The marker is the one ``risk.evaluation.store_risks`` writes: every mention the evaluation
judges gets ``Mention.risk`` (0.0 included), so a NULL risk is a mention it never reached.
:func:`unscored_mentions` returns those the evaluation *would* judge — linked to a tracked,
non-competitor brand and published within the incident window (older ones are never scored,
so sweeping them would repeat forever) — and stored longer than ``grace`` ago, so work still
waiting in a queue is not sent twice. Sending them again is idempotent: a risk is overwritten,
an incident keeps one active escalation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from earful.config.models import AppConfig
from earful.risk.evaluation import evaluate_and_escalate, tracked_brands
from earful.store.db import run_in_transaction
from earful.store.models import Mention, MentionBrand

logger = logging.getLogger(__name__)

SWEEP_LIMIT = 5000  # mentions per sweep: the next sweep takes the rest
CHUNK = 500  # mention ids per re-enqueued evaluation


def unscored_mentions(
    session: Session,
    *,
    now: datetime,
    config: AppConfig,
    grace: timedelta,
    limit: int = SWEEP_LIMIT,
) -> list[int]:
    """Ids (ascending) of stored mentions the risk evaluation never reached (module docstring)."""
    since = now - timedelta(hours=config.risk.incident_window_h)
    query = (
        select(Mention.id)
        .join(MentionBrand, col(MentionBrand.mention_id) == col(Mention.id))
        .where(
            col(Mention.risk).is_(None),
            col(Mention.fetched_at) <= now - grace,
            MentionBrand.is_competitor == False,  # noqa: E712
            col(MentionBrand.published_at) >= since,
            col(MentionBrand.published_at) <= now,
        )
        .distinct()
        .order_by(col(Mention.id))
        .limit(limit)
    )
    if tracked_brands(config) is not None:
        # the brands as stored (their config names): one index range per brand
        names = sorted(b.name for b in config.brands if b.track)
        query = query.where(col(MentionBrand.brand).in_(names))
    return [int(i) for i in session.exec(query).all() if i is not None]


def chunks(ids: Sequence[int], size: int = CHUNK) -> Iterator[list[int]]:
    """``ids`` in lists of at most ``size``."""
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def rescore_unscored(engine: Engine, *, now: datetime, config: AppConfig, grace: timedelta) -> int:
    """The embedded runner's sweep: evaluate (and escalate) the stored mentions no evaluation
    reached (a process killed between a batch's commit and its hook), in chunks of
    :data:`CHUNK`; returns how many."""
    ids: list[int] = run_in_transaction(
        engine, lambda s: unscored_mentions(s, now=now, config=config, grace=grace)
    )
    for chunk in chunks(ids):
        evaluate_and_escalate(engine, chunk, now=now, config=config)
    if ids:
        logger.warning("sweep: %s stored mention(s) never scored; evaluated now", len(ids))
    return len(ids)
