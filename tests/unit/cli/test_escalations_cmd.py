"""``earful escalations list``: the table's "why" column gives the top reasons in words,
largest first, leaving out reasons that added nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from earful.config.models import AppConfig
from earful.risk.scoring import Reason
from earful.store.models import Mention
from tests.conftest import run_earful
from tests.unit.escalation_factories import open_escalation

T0 = datetime(2025, 3, 11, 14, 0, tzinfo=UTC)


def test_list_table_shows_why_in_words(
    sqlite_engine: Engine, sqlite_url: str, tmp_path: Path
) -> None:
    open_escalation(
        sqlite_engine,
        Mention(source="youtube", external_id="v1", text="they broke it", fetched_at=T0),
        brand="Acme",
        risk=61,
        reasons=[
            Reason("reach", 0.0, "author 12 followers"),
            Reason("velocity", 20.0, "views ×8 in 2 h"),
            Reason("severity", 25.0, "defect: 'broke'"),
        ],
        now=T0,
        config=AppConfig(),
    )
    result = run_earful(
        "--config",
        str(tmp_path),
        "--db",
        sqlite_url,
        "escalations",
        "list",
        env={"COLUMNS": "250"},
    )
    assert result.returncode == 0, result.stderr
    assert "defect: 'broke'; views ×8 in 2 h" in result.stdout
    assert "author 12 followers" not in result.stdout
