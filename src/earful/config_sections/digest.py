"""``digest:`` section (config/digest.yaml): schedule, recipients, drivers lexicon."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DigestConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
