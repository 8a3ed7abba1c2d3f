"""Test factory: a stored mention with an escalation opened on it (web, outbox, channels)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from earful.config.models import AppConfig
from earful.escalation.lifecycle import Candidate, escalate
from earful.risk.scoring import Reason
from earful.store.models import Mention


def open_escalation(
    engine: Engine,
    mention: Mention,
    *,
    brand: str,
    risk: float,
    reasons: Sequence[Reason],
    now: datetime,
    config: AppConfig,
    incident_key: str = "i",
) -> int:
    """Store ``mention``, escalate a candidate for it at ``now`` and return the escalation id."""
    with Session(engine) as s, s.begin():
        s.add(mention)
        s.flush()
        cand = Candidate(
            brand=brand,
            incident_key=incident_key,
            risk=risk,
            reasons=reasons,
            mention_id=mention.id,
            source=mention.source,
            external_id=mention.external_id,
        )
        esc = escalate(s, cand, now=now, risk_config=config.risk, config=config.escalation)
        assert esc.escalation is not None and esc.escalation.id is not None
        return esc.escalation.id
