"""Replay into PostgreSQL (``--db``): the same escalations as on SQLite, rows kept."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from earful.run.replay import run_replay
from earful.store.db import make_engine
from earful.store.escalations import Escalation, Notification

pytestmark = pytest.mark.integration


def test_ubg_replay_on_postgres(pg_url: str) -> None:
    result = run_replay("ubg", db_url=pg_url)
    hours = result.hours_to_first_escalation()
    assert hours is not None and hours <= 12
    engine = make_engine(pg_url)
    try:
        with Session(engine) as session:
            escalations = session.exec(select(Escalation)).all()
            assert [e.external_id for e in escalations] == ["5YGc4zOqozo"]
            assert session.exec(select(Notification)).first() is not None
    finally:
        engine.dispose()
