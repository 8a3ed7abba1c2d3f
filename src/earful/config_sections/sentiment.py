"""``sentiment:`` section (config/sentiment.yaml): text preparation and lexicon extensions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SentimentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lexicon: dict[str, float] = Field(
        default_factory=dict,
        description="extra words/phrases and their valence (-4..+4), layered over Earful's",
    )
