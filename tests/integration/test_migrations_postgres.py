"""The migrations build the models' schema on PostgreSQL too (types compared)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from tests.unit.store.test_migrations import schema_drift


def test_postgres_schema_matches_models(pg_engine: Engine) -> None:
    assert schema_drift(pg_engine) == []
