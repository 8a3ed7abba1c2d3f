"""Replay through the real pipeline: UBG escalates early, a quiet day stays quiet, and a
viral compliment never pages anyone."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from earful.run.replay import ScenarioError, load_scenario, replay_lead_hours, run_replay
from earful.store.db import make_engine
from earful.store.escalations import Escalation, Notification
from earful.store.models import EngagementSnapshot

UBG_POSTED = datetime(2009, 7, 6, 17, tzinfo=UTC)
UNITED_OUTREACH = datetime(2009, 7, 8, 0, tzinfo=UTC)  # earliest moment of 8 July
VIEWS_1_3M = datetime(2009, 7, 10, 11, tzinfo=UTC)


def _at(line: dict[str, object]) -> datetime:
    return datetime.fromisoformat(str(line["at"]).replace("Z", "+00:00"))


def test_ubg_escalates_within_12_hours_and_days_before_the_peak(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'ubg.db'}"
    lines: list[dict[str, object]] = []
    result = run_replay("ubg", db_url=db, trace=True, emit=lines.append)
    escalations = [line for line in lines if "level" in line and line.get("type") != "risk"]
    first = escalations[0]
    assert first["id"] == "5YGc4zOqozo" and first["brand"] == "United Airlines"
    assert (_at(first) - UBG_POSTED).total_seconds() <= 12 * 3600
    assert _at(first) < UNITED_OUTREACH
    assert result.lead_hours() is not None and result.lead_hours() >= 48  # days before the peak
    assert _at(first) < VIEWS_1_3M
    reasons = first["reasons"]
    assert isinstance(reasons, list) and {"factor", "contribution", "detail"} <= set(reasons[0])
    assert any(line.get("type") == "risk" for line in lines)
    # --db keeps what the run stored, as a real run would.
    engine = make_engine(db)
    with Session(engine) as session:
        stored = session.exec(select(Escalation)).all()
        assert len(stored) == len({e["escalation_id"] for e in escalations})
        assert session.exec(select(Notification)).first() is not None
        assert len(session.exec(select(EngagementSnapshot)).all()) > 100
    engine.dispose()


def test_quiet_day_escalates_at_most_once() -> None:
    result = run_replay("quiet_day")
    assert len({e["escalation_id"] for e in result.escalations}) <= 1
    assert result.evaluations > 50


def test_viral_compliment_never_escalates() -> None:
    lines: list[dict[str, object]] = []
    result = run_replay("viral_compliment", trace=True, emit=lines.append)
    assert result.escalations == []
    risks = [line for line in lines if line.get("type") == "risk"]
    assert risks and max(float(str(r["risk"])) for r in risks) == 0


def test_lead_hours_for_the_bench() -> None:
    assert replay_lead_hours("ubg") >= 48


def test_bad_scenario_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = {"at": "2025-01-01T00:00:00Z", "type": "mention", "source": "x", "id": "1", "text": "t"}
    path.write_text(json.dumps(good) + "\n" + json.dumps({"type": "mention"}) + "\n")
    with pytest.raises(ScenarioError, match=r"bad\.jsonl:2"):
        load_scenario(path)


def test_cli_replay_then_act_on_the_escalation(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from earful.cli import app

    pub = "2025-05-02T15:00:00Z"
    events = [
        {
            "at": pub,
            "type": "mention",
            "source": "youtube",
            "id": "v",
            "brand": "Acme",
            "url": "https://youtube.example/v",
            "author": "angry",
            "author_followers": 90_000,
            "title": "Acme charger caught fire",
            "text": "My Acme charger caught fire and burned my desk. Dangerous.",
            "published_at": pub,
        },
    ]
    views = 0
    for h in range(1, 7):
        views = views * 3 + 500
        events.append(
            {
                "at": f"2025-05-02T{15 + h}:00:00Z",
                "type": "engagement",
                "source": "youtube",
                "id": "v",
                "views": views,
                "likes": views // 30,
                "shares": views // 100,
            }
        )
    path = tmp_path / "fire.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    db = f"sqlite:///{tmp_path / 'fire.db'}"
    runner = CliRunner()
    empty = tmp_path / "no-config"
    out = runner.invoke(app, ["--config", str(empty), "replay", str(path), "--db", db, "--trace"])
    assert out.exit_code == 0, out.output
    lines = [json.loads(line) for line in out.output.splitlines() if line.startswith("{")]
    escalations = [line for line in lines if "level" in line]
    assert escalations and escalations[0]["id"] == "v" and escalations[0]["brand"] == "Acme"
    assert any(line.get("type") == "risk" for line in lines)
    listed = runner.invoke(app, ["--db", db, "escalations", "list", "--json"])
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert rows[0]["status"] == "open"
    acted = runner.invoke(
        app, ["--db", db, "escalations", "dismiss", str(rows[0]["id"]), "--as", "t"]
    )
    assert acted.exit_code == 0 and "dismissed" in acted.output
