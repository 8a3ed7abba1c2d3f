"""Storage: every table and every write.

``db`` makes engines and runs a unit of work (``run_in_transaction``; the caller owns the
transaction), ``types.UTCDateTime`` makes stored datetimes read back aware UTC, ``models`` /
``escalations`` / ``digest_runs`` define the tables, ``mentions`` is the idempotent mention write
path (with ``sqlite_bulk`` for SQLite), ``repository`` the source state and queries.
"""
