"""``escalation:`` section (config/routes.yaml): levels, routes, channels, quiet hours."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class EscalationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
