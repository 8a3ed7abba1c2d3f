"""Bulk writes for the ingest path, straight through the ``sqlite3`` driver.

SQLAlchemy's per-statement machinery (execution context, parameter construction, result
wrapping) costs more than SQLite's own work on a feed's worth of rows. This writer runs the
same statements :mod:`earful.store.repository` builds with SQLAlchemy Core — same tables, same
``ON CONFLICT`` rules, values converted by SQLAlchemy's own bind processors for the dialect,
so the stored bytes are the same — as plain SQL on the session's DBAPI connection, inside the
caller's transaction (it never commits). ``tests/unit/test_repository.py`` stores the same
batch through both paths and compares every column.

Rows are tuples in the column order given at construction.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import DateTime, Float, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

logger = logging.getLogger(__name__)

Row = tuple[Any, ...]


_ALWAYS, _MEMO, _UNLESS_FLOAT = 0, 1, 2


def _how(type_: Any) -> int:
    if isinstance(type_, DateTime):
        return _MEMO
    if isinstance(type_, Float) and not type_.asdecimal:
        return _UNLESS_FLOAT
    return _ALWAYS


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class TableWriter:
    """``INSERT`` of rows of ``columns`` into ``table`` with a fixed conflict clause and an
    optional ``RETURNING``; values go through the dialect's bind processors."""

    def __init__(
        self,
        dialect: Dialect,
        table: Table,
        columns: Sequence[str],
        conflict: str,
        returning: Sequence[str] = (),
        *,
        per_row: bool = False,
    ) -> None:
        """``per_row``: ``insert_returning`` runs one prepared statement per row rather than
        one multi-row statement (which SQLite parses anew for each batch size): faster for
        wide rows (mentions), slower for narrow ones (stories), as measured."""
        self.columns = tuple(columns)
        self.per_row = per_row
        types = [table.c[c].type for c in self.columns]
        procs = [t._cached_bind_processor(dialect) for t in types]
        # (position, processor, how): a batch repeats the same datetime object (its fetch
        # time) in every row, and formatting one costs more than a dict lookup (_MEMO); a
        # float column's processor is float(), which gives a float or None back as it is
        # (_UNLESS_FLOAT).
        self._procs: list[tuple[int, Callable[[Any], Any], int]] = [
            (i, p, _how(types[i])) for i, p in enumerate(procs) if p is not None
        ]
        self._head = (
            f"INSERT INTO {_quote(table.name)} ({', '.join(map(_quote, self.columns))}) VALUES "
        )
        self._tail = f" {conflict}" + (
            f" RETURNING {', '.join(map(_quote, returning))}" if returning else ""
        )
        self._row_marks = "(" + ", ".join("?" * len(self.columns)) + ")"
        self._sql: dict[int, str] = {}

    def _process(self, rows: Sequence[Row]) -> list[Any]:
        if not self._procs:
            return list(rows)
        out: list[Any] = []
        memo: dict[int, tuple[Any, Any]] = {}
        for row in rows:
            values = list(row)
            for i, proc, how in self._procs:
                value = values[i]
                if how == _ALWAYS:
                    values[i] = proc(value)
                    continue
                if how == _UNLESS_FLOAT:
                    if value is not None and type(value) is not float:
                        values[i] = proc(value)
                    continue
                hit = memo.get(id(value))
                if hit is None:
                    # the value is kept in the entry, so its id cannot be reused meanwhile
                    hit = memo[id(value)] = (value, proc(value))
                values[i] = hit[1]
            out.append(values)
        return out

    def _multi_sql(self, n: int) -> str:
        sql = self._sql.get(n)
        if sql is None:
            sql = self._sql[n] = self._head + ", ".join([self._row_marks] * n) + self._tail
        return sql

    def insert_many(self, conn: sqlite3.Connection, rows: Sequence[Row]) -> None:
        """One prepared statement run for every row (rows ``RETURNING`` would give are lost)."""
        if rows:
            sql = self._multi_sql(1)
            with _as_sqlalchemy_error(sql):
                conn.executemany(sql, self._process(rows))

    def insert_returning(self, conn: sqlite3.Connection, rows: Sequence[Row]) -> list[Row]:
        """The rows ``RETURNING`` gives for the rows inserted or updated."""
        if not rows:
            return []
        if self.per_row:
            sql = self._multi_sql(1)
            out: list[Row] = []
            execute = conn.execute
            with _as_sqlalchemy_error(sql):
                for values in self._process(rows):
                    out.extend(execute(sql, values).fetchall())
            return out
        params = [v for values in self._process(rows) for v in values]
        sql = self._multi_sql(len(rows))
        with _as_sqlalchemy_error(sql):
            return conn.execute(sql, params).fetchall()


@contextmanager
def _as_sqlalchemy_error(sql: str) -> Iterator[None]:
    """Driver errors surface as SQLAlchemy's (``OperationalError``...), as they would through
    SQLAlchemy: ``run_in_transaction`` retries "database is locked" and maps the rest. The
    parameters (mention text) stay out of the message."""
    try:
        yield
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, None, exc, sqlite3.Error, hide_parameters=True) from exc


class SqliteMentionWriter:
    """The four writes of ``upsert_mentions`` for one SQLite dialect."""

    def __init__(
        self,
        dialect: Dialect,
        *,
        story: Table,
        mention: Table,
        brand: Table,
        snapshot: Table,
        mention_columns: Sequence[str],
        mention_update: dict[str, str],
        snapshot_columns: Sequence[str],
    ) -> None:
        self.stories = TableWriter(
            dialect,
            story,
            ("canonical_url", "first_seen_at"),
            "ON CONFLICT (canonical_url) DO NOTHING",
            ("canonical_url", "id"),
        )
        sets = ", ".join(f"{_quote(k)} = {v}" for k, v in mention_update.items())
        self.mentions = TableWriter(
            dialect,
            mention,
            mention_columns,
            f"ON CONFLICT (source, external_id) DO UPDATE SET {sets}",
            ("source", "external_id", "id", "updated_at"),
            per_row=True,
        )
        self.brands = TableWriter(
            dialect,
            brand,
            ("mention_id", "brand", "published_at", "is_competitor"),
            "ON CONFLICT (mention_id, brand) DO NOTHING",
        )
        self.snapshots = TableWriter(
            dialect, snapshot, snapshot_columns, "ON CONFLICT (mention_id, at) DO NOTHING"
        )
        self.story_select = (
            f"SELECT canonical_url, id FROM {_quote(story.name)} WHERE canonical_url IN "
        )

    def select_stories(self, conn: sqlite3.Connection, urls: Sequence[str]) -> list[Row]:
        sql = self.story_select + "(" + ", ".join("?" * len(urls)) + ")"
        with _as_sqlalchemy_error(sql):
            return conn.execute(sql, list(urls)).fetchall()
