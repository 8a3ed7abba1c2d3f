"""Every bundled incident scenario against issue 13's Done-when, on thresholds fitted elsewhere.

The historical incidents (``united_3411``, ``fedex_monitor``, ``dominos_kitchen``,
``comcast_couch``) are held out: the risk thresholds were fitted on ``ubg``, ``quiet_day`` and
``viral_compliment`` (see the scenarios' README). For each incident: the first escalation within
6 h of the original post; the whole story at most 2 escalations (an escalation is opened once,
then raised or updated; its raises are not new escalations); no escalation for a background
mention.

A full-size replay takes minutes on a small machine, so the tests replay a copy generated at
``EARFUL_SCENARIO_SCALE`` (default 0.25: a quarter of the background, crowd and wave; the
original, its curve and the key posts unchanged). ``EARFUL_SCENARIO_SCALE=1`` replays the
bundled files themselves.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from earful.run.replay import bundled_scenarios, resolve_scenario, run_replay
from earful.run.scenarios import generate_incidents
from earful.run.scenarios.generate_incidents import INCIDENTS, Incident, build, is_story

SCALE = float(os.environ.get("EARFUL_SCENARIO_SCALE", "0.25"))


def _at(line: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(line["at"]).replace("Z", "+00:00"))


def _describe(lines: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{e['at']} {e['id']} #{e['escalation_id']} {e['event']} L{e['level']} risk {e['risk']}"
        f" ({', '.join(str(r['detail']) for r in e['reasons'])})"
        for e in lines
    )


def _scenario(inc: Incident, tmp_path: Path) -> Path:
    if SCALE >= 1:
        return resolve_scenario(inc.name)
    path = tmp_path / f"{inc.name}.jsonl"
    generate_incidents.write(inc, path, SCALE)
    return path


def test_incidents_are_bundled_and_match_their_generator() -> None:
    names = bundled_scenarios()
    for inc in INCIDENTS.values():
        assert f"{inc.name}.jsonl" in names
        path = resolve_scenario(inc.name)
        assert path.stat().st_size < 3_000_000
        events = build(inc)
        expected = [json.dumps(e, ensure_ascii=False) for e in events]
        assert path.read_text(encoding="utf-8").splitlines() == expected, "regenerate the file"
        background = [e for e in events if e["type"] == "mention" and not is_story(inc, e["id"])]
        assert len(background) >= 2_000
    wave = [e for e in build(INCIDENTS["united_3411"]) if e["id"].startswith("ua-rt")]
    assert len(wave) >= 2_000 and len({e["text"] for e in wave}) == 1


# Held-out results that fail the Done-when today (measured, see the scenarios' README); strict, so
# a fix in risk/ turns them into failures that ask for the mark to go. Never tune risk/ on these.
STORY_XFAIL = {
    "dominos_kitchen": (
        "first escalation 14.3-14.5 h after the upload; in the first 6 h the video has ~2.5k "
        "views from a 60-follower account and one forum post, sentiment -0.34, peak risk 29.7 "
        "(level 1 is 50); the crowd starts after the Consumerist post (noticed a day later)"
    ),
    "comcast_couch": (
        "first escalation 10.2-10.3 h after the upload; in the first 6 h the video has ~1.2k "
        "views from a 40-follower account and one forum post, risk 37.5 at 6 h (level 1 is 50); "
        "it opens when the crowd's first posts join it"
    ),
}


def _cases(xfails: dict[str, str]) -> list[Any]:
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=xfails[name]))
        if name in xfails
        else name
        for name in sorted(INCIDENTS)
    ]


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], list[dict[str, Any]]]:
    """Escalation lines of each incident's replay, replayed once for the module."""
    cache: dict[str, list[dict[str, Any]]] = {}

    def get(name: str) -> list[dict[str, Any]]:
        if name not in cache:
            path = _scenario(INCIDENTS[name], tmp_path_factory.mktemp(name))
            cache[name] = run_replay(path).escalations
        return cache[name]

    return get


@pytest.mark.parametrize("name", _cases(STORY_XFAIL))
def test_story_pages_within_6h_and_at_most_twice(
    name: str, replayed: Callable[[str], list[dict[str, Any]]]
) -> None:
    inc = INCIDENTS[name]
    story = [e for e in replayed(name) if is_story(inc, str(e["id"]))]
    assert story, f"{name}: the story never escalated"
    hours = (_at(story[0]) - inc.published).total_seconds() / 3600
    assert hours <= 6, f"{name}: first escalation {hours:.1f} h after the original"
    # Raises of one escalation are lines of the same escalation, not new ones.
    escalations = {e["escalation_id"] for e in story}
    assert len(escalations) <= 2, f"{name}: {len(escalations)} escalations: {_describe(story)}"


@pytest.mark.parametrize("name", sorted(INCIDENTS))
def test_background_mentions_never_escalate(
    name: str, replayed: Callable[[str], list[dict[str, Any]]]
) -> None:
    inc = INCIDENTS[name]
    background = [e for e in replayed(name) if not is_story(inc, str(e["id"]))]
    assert not background, f"background mentions escalated: {_describe(background)}"


@pytest.mark.parametrize("name", ["viral_compliment", "quiet_day"])
def test_no_incident_no_page(name: str) -> None:
    assert run_replay(name).escalations == []
