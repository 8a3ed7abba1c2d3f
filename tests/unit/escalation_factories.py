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

GUITAR = "United baggage handlers broke my guitar"


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


def open_guitar_escalation(
    engine: Engine, config: AppConfig, *, now: datetime, text: str = GUITAR
) -> None:
    """The notification tests' escalation: a United Breaks Guitars video at risk 62."""
    mention = Mention(
        source="youtube",
        external_id="v1",
        text=text,
        fetched_at=now,
        author="sonsofmaxwell",
        author_followers=2000,
        sentiment_compound=-0.6,
        url="https://www.youtube.com/watch?v=5YGc4zOqozo",
    )
    reasons = [Reason("velocity", 40, "views ×8 in 2 h"), Reason("severity", 22, "defect: 'broke'")]
    open_escalation(
        engine, mention, brand="United", risk=62, reasons=reasons, now=now, config=config
    )
