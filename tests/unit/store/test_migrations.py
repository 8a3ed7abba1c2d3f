"""Alembic migrations build exactly the schema the models describe (no drift), and
upgrading twice is a no-op."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import earful.store.all_models  # noqa: F401  (fills SQLModel.metadata)
from earful.store.db import upgrade


def schema_drift(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, SQLModel.metadata))


def test_sqlite_schema_matches_models(sqlite_engine: Engine) -> None:
    assert schema_drift(sqlite_engine) == []
    upgrade(sqlite_engine)  # again: nothing to do, nothing breaks
    assert schema_drift(sqlite_engine) == []
