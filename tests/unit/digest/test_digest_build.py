"""The digest over a seeded month: numbers, sections, themes, drivers, health, escaping."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from earful.digest.build import build_digest, local_midnight, resolve_days
from earful.digest.charts import render_charts
from earful.digest.data import DigestData
from earful.digest.render import cid_srcs, data_uri_srcs, render_html, render_text
from tests.unit.digest.digest_factories import (
    DAY,
    INJECTION,
    NOW,
    Seeder,
    at,
    digest_config,
    seed_month,
)

CONTRACT_KEYS = {
    "brand", "date", "volume", "volume_change", "sentiment", "by_source", "share_of_voice",
    "top_negative", "top_positive", "themes", "drivers", "escalations", "source_health",
}  # fmt: skip


@pytest.fixture
def seeded(sqlite_engine: Engine) -> Engine:
    seed_month(sqlite_engine)
    return sqlite_engine


@pytest.fixture
def digest(seeded: Engine) -> DigestData:
    return build_digest(seeded, digest_config(), brand="acme", now=NOW, day=DAY)


def test_volume_and_comparisons(digest: DigestData) -> None:
    out = digest.to_json()
    assert out["brand"] == "Acme"  # resolved case-insensitively to the configured name
    assert out["date"] == "2026-11-21"
    assert out["volume"] == 9
    assert out["volume_previous"] == 3
    assert out["volume_change"] == 2.0
    assert out["volume_same_weekday_last_week"] == 4  # background 3 + one luggage complaint
    assert out["volume_change_vs_last_week"] == 1.25
    assert out["sentiment"] == {"positive": 3, "neutral": 2, "negative": 4}


def test_json_keeps_the_contract_keys(digest: DigestData) -> None:
    out = json.loads(json.dumps(digest.to_json()))
    assert set(out) >= CONTRACT_KEYS
    assert set(out["sentiment"]) == {"positive", "neutral", "negative"}
    assert set(out["escalations"]) >= {
        "opened", "acknowledged", "resolved", "ack_p50_min", "ack_p90_min",
    }  # fmt: skip
    for theme in out["themes"]:
        assert {"terms", "count", "weeks_seen", "first_seen", "chronic", "examples"} <= set(theme)
    for health in out["source_health"]:
        assert set(health) >= {"source", "status", "detail"}


def test_trend_by_source_and_share_of_voice(digest: DigestData) -> None:
    out = digest.to_json()
    assert len(out["trend"]) == 30
    assert out["trend"][-1] == {
        "date": "2026-11-21", "volume": 9, "net_sentiment": round(-1 / 9, 4),
        "positive": 3, "neutral": 2, "negative": 4,
    }  # fmt: skip
    spike = next(p for p in out["trend"] if p["date"] == "2026-11-11")
    assert spike["volume"] == 15 and spike["negative"] == 12
    assert out["by_source"] == {"mastodon": 4, "rss": 3, "hackernews": 2}
    assert out["share_of_voice"] == {"Acme": 0.75, "Globex": 0.25}


def test_top_negative_by_risk_then_compound(digest: DigestData) -> None:
    neg = digest.to_json()["top_negative"]
    assert [m["risk"] for m in neg] == [0.9, 0.5, None, None]
    assert neg[2]["author"] == "bob"  # risk unknown: most negative compound (-0.8) first
    assert neg[0]["url"] is None  # javascript: link dropped
    assert neg[1]["reach"] == 12000 and neg[1]["source"] == "mastodon"
    pos = digest.to_json()["top_positive"]
    assert [m["sentiment_compound"] for m in pos] == [0.9, 0.8, 0.7]
    assert all(m["url"].startswith("https://") for m in pos)


def test_recurring_theme_is_chronic_and_spike_is_not(digest: DigestData) -> None:
    themes = digest.to_json()["themes"]
    luggage = next(t for t in themes if any("luggage" in term for term in t["terms"]))
    assert luggage["chronic"] is True
    assert luggage["weeks_seen"] == 5
    assert luggage["authors"] == 6
    assert luggage["count"] == 1
    assert luggage["first_seen"] == "2026-10-24"
    assert len(luggage["examples"]) == 2 and luggage["examples"][0] != luggage["examples"][1]
    assert themes[0] is luggage  # chronic first
    outage = next(t for t in themes if any("outage" in term for term in t["terms"]))
    assert outage["chronic"] is False  # twelve authors, but one week: a spike
    assert outage["weeks_seen"] == 1 and outage["total"] == 12 and outage["count"] == 0


def test_themes_are_deterministic(seeded: Engine) -> None:
    runs = [
        build_digest(seeded, digest_config(), brand="Acme", now=NOW, day=DAY).to_json()["themes"]
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


def test_drivers_counts(digest: DigestData) -> None:
    drivers = digest.to_json()["drivers"]
    assert drivers == {
        "waiting": 2, "billing": 2, "transferred": 1, "broken_promise": 1,
        "apology_no_fix": 1, "rude_staff": 1, "product_defect": 0,
    }  # fmt: skip
    detail = {d["driver"]: d for d in digest.to_json()["drivers_detail"]}
    assert "promised a refund" in detail["broken_promise"]["examples"][0]


def test_driver_lexicon_is_configurable(seeded: Engine) -> None:
    config = digest_config(
        drivers={
            "billing": {"terms": [], "replace": True},
            "luggage": {"terms": ["baggage claim"], "label": "Baggage handling"},
        }
    )
    drivers = build_digest(seeded, config, brand="Acme", now=NOW, day=DAY).to_json()["drivers"]
    assert "billing" not in drivers
    assert drivers["luggage"] == 1


def test_source_health_never_hides_a_blind_spot(digest: DigestData) -> None:
    health = {h["source"]: h for h in digest.to_json()["source_health"]}
    assert set(health) == {"acme-rss", "acme-mastodon", "acme-hn", "acme-github"}  # not globex
    assert health["acme-rss"]["status"] == "ok"
    assert health["acme-mastodon"]["status"] == "failing"
    assert "4 failed poll(s)" in health["acme-mastodon"]["detail"]
    assert "\x1b" not in health["acme-mastodon"]["detail"]
    assert health["acme-hn"]["status"] == "silent"
    assert health["acme-github"]["status"] == "never_polled"


def _insert_escalations(engine: Engine, rows: list[dict[str, object]]) -> None:
    """Rows into the ``escalation`` table, whichever columns the escalation feature added:
    NOT NULL columns we do not care about get a dummy value of their type."""
    from sqlalchemy import MetaData, Table, inspect

    with engine.begin() as conn:
        if not inspect(conn).has_table("escalation"):
            conn.execute(
                text(
                    "CREATE TABLE escalation (id INTEGER PRIMARY KEY, brand TEXT, status TEXT,"
                    " opened_at DATETIME, acknowledged_at DATETIME, resolved_at DATETIME)"
                )
            )
        table = Table("escalation", MetaData(), autoload_with=conn)
        for i, row in enumerate(rows):
            values = dict(row)
            for col in table.columns:
                if col.name in values or col.nullable or col.primary_key:
                    continue
                py = col.type.python_type
                values[col.name] = py(0) if py in (int, float, bool) else f"{col.name}-{i}"
            conn.execute(table.insert().values(**values))


def test_escalation_stats_from_the_escalation_table(seeded: Engine) -> None:
    base = at(DAY, 8)
    acks = [10, 20, 40, None]
    _insert_escalations(
        seeded,
        [
            {
                "brand": "Acme",
                "status": "open",
                "opened_at": base + timedelta(minutes=i),
                "acknowledged_at": None if a is None else base + timedelta(minutes=i + a),
                "resolved_at": at(DAY, 12) if i == 1 else None,
            }
            for i, a in enumerate(acks)
        ]
        + [{"brand": "Globex", "status": "open", "opened_at": base}],
    )
    esc = build_digest(seeded, digest_config(), brand="Acme", now=NOW, day=DAY).escalations
    assert esc.available is True
    assert (esc.opened, esc.acknowledged, esc.resolved) == (4, 3, 1)
    assert esc.ack_p50_min == 20.0 and esc.ack_p90_min == 40.0
    assert esc.within_sla == round(2 / 3, 4)  # target 30 min by default


def test_no_escalation_table_gives_zeros(tmp_path: Path) -> None:
    from earful.digest.escalation_stats import read_escalation_stats
    from earful.store.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'blank.db'}")
    with engine.connect() as conn:
        esc = read_escalation_stats(conn, brand="Acme", start=NOW, end=NOW, sla_min=30)
    assert esc.available is False
    assert esc.to_json()["opened"] == 0 and esc.to_json()["ack_p50_min"] is None
    engine.dispose()


def test_unknown_brand_gets_an_honest_empty_digest(seeded: Engine) -> None:
    data = build_digest(seeded, digest_config(), brand="Nobody Inc", now=NOW, day=DAY)
    out = data.to_json()
    assert out["known_brand"] is False and out["timezone"] == "UTC"
    assert out["volume"] == 0 and out["volume_change"] is None
    assert out["themes"] == [] and out["top_negative"] == []
    assert out["share_of_voice"] == {"Nobody Inc": 0.0}
    html = render_html(data, chart_srcs=data_uri_srcs(render_charts(data)))
    assert "No mentions of Nobody Inc were stored for this period." in html


def test_brand_only_in_data_gets_utc_and_its_mentions(sqlite_engine: Engine) -> None:
    from sqlmodel import Session

    with Session(sqlite_engine) as session, session.begin():
        Seeder(session).add(
            "Initech", "Initech printer is broken", at(DAY, 23, 30), label="negative"
        )
    data = build_digest(sqlite_engine, digest_config(), brand="Initech", now=NOW, day=DAY)
    assert data.volume == 1 and data.timezone == "UTC"
    assert data.to_json()["drivers"]["product_defect"] == 1


def test_local_day_follows_the_brand_timezone(sqlite_engine: Engine) -> None:
    from sqlmodel import Session

    config = digest_config()
    config.brands[0].timezone = "America/New_York"  # UTC-5 in November
    with Session(sqlite_engine) as session, session.begin():
        s = Seeder(session)
        s.add("Acme", "late evening in New York", at(DAY + timedelta(days=1), 3))  # 22:00 local
        s.add("Acme", "early morning UTC, previous local day", at(DAY, 4))  # 23:00 on the 20th
    data = build_digest(sqlite_engine, config, brand="Acme", now=NOW, day=DAY)
    assert data.volume == 1
    assert data.period_start == datetime(2026, 11, 21, 5, tzinfo=UTC)


def test_since_covers_a_period(seeded: Engine) -> None:
    data = build_digest(seeded, digest_config(), brand="Acme", now=NOW, since=date(2026, 11, 20))
    out = data.to_json()
    # 20th (3) + 21st (9) + 22nd so far (0); previous three days: 3 + (3 + luggage) + 3
    assert (out["since"], out["date"], out["volume"], out["volume_previous"]) == (
        "2026-11-20", "2026-11-22", 12, 10,
    )  # fmt: skip
    with pytest.raises(ValueError, match="future"):
        resolve_days(NOW, ZoneInfo("UTC"), since=date(2027, 1, 1))


def test_local_midnight_across_dst() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert local_midnight(date(2026, 10, 25), paris) == datetime(2026, 10, 24, 22, tzinfo=UTC)
    assert local_midnight(date(2026, 10, 26), paris) == datetime(2026, 10, 25, 23, tzinfo=UTC)


def test_html_escapes_every_piece_of_mention_text(digest: DigestData) -> None:
    html = render_html(digest, chart_srcs=cid_srcs())
    assert "<script>" not in html.split("</head>", 1)[1]
    assert "window.__pwned" in html  # shown as text ...
    assert "&lt;script&gt;document.title=" in html  # ... escaped
    assert "onerror=" not in html.replace("onerror=&#34;", "").replace("onerror=&quot;", "")
    assert 'href="javascript:' not in html
    assert "evil.example" in html and 'src="https://evil.example' not in html
    for link in html.split("<a ")[1:]:
        assert 'rel="noopener noreferrer"' in link.split(">", 1)[0]
    assert "cid:trend@earful" in html
    assert "CHRONIC" in html


def test_text_version_has_the_sections(digest: DigestData) -> None:
    body = render_text(digest)
    sections = ["MENTIONS: 9", "TOP NEGATIVE", "RECURRING COMPLAINT THEMES", "[CHRONIC]"]
    sections += ["COMPLAINT DRIVERS", "SHARE OF VOICE", "SOURCE HEALTH", "BLIND SPOTS"]
    for section in sections:
        assert section in body
    assert INJECTION[:20] in body  # plain text: shown as typed, nothing to interpret


def test_charts_are_pngs(digest: DigestData) -> None:
    charts = render_charts(digest)
    assert set(charts) == {"trend", "sentiment", "sources", "share_of_voice"}
    for png in charts.values():
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000
