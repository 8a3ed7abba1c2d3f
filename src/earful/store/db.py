"""Engine and sessions. The caller owns the transaction: repository functions never commit.

SQLite (the embedded default) gets WAL and a busy timeout so the runner's writer and readers
such as ``earful mentions`` do not trip over each other; "database is locked" that survives the
timeout is retried by :func:`run_in_transaction`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

from earful.errors import StorageError

logger = logging.getLogger(__name__)

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(db_url: str, *, pool_size: int = 5, echo: bool = False) -> Engine:
    """An engine for ``db_url``; SQLite gets WAL, foreign keys and a busy timeout."""
    url = normalize_url(db_url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _is_locked(exc: OperationalError) -> bool:
    return "database is locked" in str(exc) or "database is busy" in str(exc)


def run_in_transaction(
    engine: Engine, work: Callable[[Session], T], *, attempts: int = 5, pause_s: float = 0.2
) -> T:
    """Run ``work`` in one transaction, retrying when SQLite reports the database locked."""
    for attempt in range(1, attempts + 1):
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                return work(session)
        except OperationalError as exc:
            if not _is_locked(exc) or attempt == attempts:
                raise StorageError(f"database error: {exc.orig}", reason="db") from exc
            logger.warning("database locked, retrying (attempt %s of %s)", attempt, attempts)
            time.sleep(pause_s * attempt)
    raise AssertionError("unreachable")


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision of every branch.

    Each feature adds its own Alembic branch off the baseline, so upgrade applies all heads.
    """
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


def init_db(engine: Engine) -> None:
    """Create or migrate the schema (what ``earful db upgrade`` does)."""
    upgrade(engine)


@contextmanager
def scratch_postgres(admin_url: str, *, prefix: str = "earful_scratch") -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database on ``admin_url``'s server, dropped on exit
    (benchmarks and tests; the admin URL names any database the role may connect to)."""
    from sqlalchemy import text

    admin = make_engine(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield f"{normalize_url(admin_url).rsplit('/', 1)[0]}/{name}"
        finally:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
