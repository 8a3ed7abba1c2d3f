"""The same digest on PostgreSQL: the aggregate SQL is portable and gives the same numbers."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from earful.digest.build import build_digest
from tests.unit.digest.digest_factories import DAY, NOW, digest_config, seed_month

pytestmark = pytest.mark.integration


def test_digest_on_postgres_matches_sqlite(pg_engine: Engine, sqlite_engine: Engine) -> None:
    seed_month(pg_engine)
    seed_month(sqlite_engine)
    on_pg = build_digest(pg_engine, digest_config(), brand="Acme", now=NOW, day=DAY).to_json()
    on_sqlite = build_digest(
        sqlite_engine, digest_config(), brand="Acme", now=NOW, day=DAY
    ).to_json()
    assert on_pg["volume"] == 9
    assert on_pg["sentiment"] == {"positive": 3, "neutral": 2, "negative": 4}
    for key in ("volume_change", "by_source", "share_of_voice", "trend", "drivers"):
        assert on_pg[key] == on_sqlite[key], key
    assert [t["terms"] for t in on_pg["themes"]] == [t["terms"] for t in on_sqlite["themes"]]
    assert [m["risk"] for m in on_pg["top_negative"]] == [0.9, 0.5, None, None]
    assert on_pg["escalations"]["available"] is True  # the escalation table exists there too
