"""Imports every module that defines tables, so ``SQLModel.metadata`` is complete.

Alembic's env.py and the schema test import this; add a line when a feature adds tables.
"""

from earful.store import (
    annotations,
    backfill,
    brand_queries,
    digest_runs,
    escalations,
    models,
    secrets,
    users,
)

__all__ = [
    "annotations",
    "backfill",
    "brand_queries",
    "digest_runs",
    "escalations",
    "models",
    "secrets",
    "users",
]
