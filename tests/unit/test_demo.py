"""`earful demo`: bundled feeds over local HTTP, the real pipeline, a throw-away database."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from sqlalchemy import text

from earful.db import make_engine
from earful.demo import DEMO_STEPS, DemoContext, register_step, run_demo


def test_demo_stores_matched_scored_mentions(tmp_path: Path) -> None:
    out = io.StringIO()
    seen: list[int] = []

    def extra(demo: DemoContext) -> None:
        seen.append(demo.results["mentions"])

    register_step("test-extra", extra)
    try:
        demo = run_demo(Console(file=out, width=200), workdir=tmp_path)
    finally:
        DEMO_STEPS[:] = [s for s in DEMO_STEPS if s[0] != "test-extra"]
    report = demo.run_report
    assert report is not None and report.failed == 0
    assert {p.source for p in report.polls} == {
        "demo-travel-news",
        "demo-flyer-forum",
        "demo-trip-reviews",
    }
    assert seen == [12]  # later steps see what earlier ones left
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    with engine.connect() as conn:
        labels = dict(
            conn.execute(
                text("select sentiment_label, count(*) from mention group by sentiment_label")
            ).all()
        )
        shared = conn.execute(
            text(
                "select count(*) from mention where story_id in (select story_id from mention "
                "group by story_id having count(*) > 1)"
            )
        ).scalar_one()
    engine.dispose()
    assert labels.get("negative", 0) >= 4 and labels.get("positive", 0) >= 3
    assert shared == 2  # the tarmac story, carried by the news feed and a review
    rendered = out.getvalue()
    assert "United Airlines" in rendered and "Manchester" not in rendered
    assert 'alert("xss")' in rendered  # the hostile title is shown as text
