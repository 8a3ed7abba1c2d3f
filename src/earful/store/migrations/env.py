"""Alembic environment: runs on the connection ``earful.store.db.upgrade`` hands over,
or on ``EARFUL_DB_URL`` when called from the alembic command line."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import earful.store.all_models  # noqa: F401  (fills SQLModel.metadata)
from earful.settings import get_settings
from earful.store.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(get_settings().db_url)
    with engine.begin() as conn:
        _run(conn)
