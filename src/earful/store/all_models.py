"""Imports every module that defines tables, so ``SQLModel.metadata`` is complete.

Alembic's env.py and the schema test import this; add a line when a feature adds tables.
"""

from earful.digest import models as digest_models
from earful.escalation import links as link_models
from earful.escalation import models as escalation_models
from earful.store import models

__all__ = ["digest_models", "escalation_models", "link_models", "models"]
