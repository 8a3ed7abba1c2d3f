"""``risk:`` section (config/risk.yaml): thresholds and the severity lexicon."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RiskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
