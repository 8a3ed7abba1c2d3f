"""Admin config: YAML files under ``config/`` -> validated, typed ``AppConfig``.

Files (all optional but brands/sources): ``brands.yaml`` (``brands:``), ``sources.yaml``
(``sources:``), ``sentiment.yaml`` (``sentiment:``), ``risk.yaml`` (``risk:``),
``routes.yaml`` (``escalation:``), ``digest.yaml`` (``digest:``).
Every mistake is a ConfigError naming file, line and field.
"""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from earful.config.digest import DigestConfig
from earful.config.durations import parse_duration
from earful.config.escalation import EscalationConfig
from earful.config.risk import RiskConfig
from earful.config.sentiment import SentimentConfig


class BrandConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="display name, unique")
    queries: list[str] = Field(
        default_factory=list,
        description="query-language expressions; a mention matching any of them is this brand's",
    )
    aliases: list[str] = Field(
        default_factory=list,
        description="other names and @handles, masked before sentiment scoring",
    )
    competitors: list[str] = Field(
        default_factory=list, description="names of other brands (in this file) for share of voice"
    )
    timezone: str = Field("UTC", description="IANA zone for the digest day")
    track: bool = Field(True, description="false: a competitor tracked only for share of voice")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r} (use an IANA name)") from exc
        return value

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# Every connector kind (``earful.sources`` imports one module per kind on demand).
SOURCE_KINDS = (
    "rss",
    "hackernews",
    "reddit",
    "mastodon",
    "bluesky",
    "lemmy",
    "stackexchange",
    "github",
    "youtube",
    "appstore",
    "jsonld",
    "yelp",
)


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="unique name, used in logs and the CLI")
    kind: str = Field(description="connector kind: rss, hackernews, mastodon, ...")
    url: str | None = Field(None, description="feed URL or API base URL")
    params: dict[str, Any] = Field(default_factory=dict, description="connector-specific settings")
    interval: timedelta = Field(timedelta(minutes=15), description="poll interval, e.g. 5m")
    enabled: bool = Field(True, description="false: kept in the config but never polled")
    brands: list[str] | None = Field(
        None, description="only match these brands (default: all brands)"
    )
    about: str | None = Field(
        None,
        description=(
            "every item is about this brand, whatever its text says (reviews of your own app "
            "or business); other brands' queries still match too"
        ),
    )

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in SOURCE_KINDS:
            close = difflib.get_close_matches(value, list(SOURCE_KINDS), n=1)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else "known: " + ", ".join(sorted(SOURCE_KINDS))
            )
            raise ValueError(f"unknown source kind {value!r} ({hint})")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value: object) -> timedelta:
        interval = parse_duration(value)
        if interval.total_seconds() <= 0:
            raise ValueError("expected a duration like 5m (more than zero)")
        return interval

    @model_validator(mode="after")
    def _needs_url(self) -> SourceConfig:
        if self.kind == "rss" and not self.url:
            raise ValueError("an rss source needs a url")
        return self


class AppConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    brands: list[BrandConfig] = Field(default_factory=list, description="brands.yaml")
    sources: list[SourceConfig] = Field(default_factory=list, description="sources.yaml")
    sentiment: SentimentConfig = Field(default_factory=SentimentConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    digest: DigestConfig = Field(default_factory=DigestConfig)

    def brand(self, name: str) -> BrandConfig | None:
        for b in self.brands:
            if b.name.lower() == name.lower():
                return b
        return None

    def brand_names(self, name: str) -> list[str]:
        """The brand's name and aliases: words every mention of it shares, so no key phrase."""
        found = self.brand(name)
        return [name, *(found.aliases if found else [])]

    def source(self, name: str) -> SourceConfig | None:
        for s in self.sources:
            if s.name == name:
                return s
        return None
