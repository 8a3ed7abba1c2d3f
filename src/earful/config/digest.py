"""``digest:`` section (config/digest.yaml): schedule, recipients, drivers lexicon, themes.

Example::

    digest:
      send_at: "08:00"            # local time, in each brand's timezone
      recipients: [marketing@example.com]
      brands:
        Acme:
          send_at: "07:30"
          recipients: [acme-team@example.com]
      drivers:
        billing: {terms: ["surprise fee", "double charged"]}        # extends the built-in list
        rigid_script: {terms: ["read from a script"], label: "Rigid script"}   # a new driver
        product_defect: {terms: [], replace: true}                   # switch a driver off
"""

from __future__ import annotations

import re
from datetime import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(value: str) -> time:
    """``"08:00"`` -> ``time(8, 0)``; raises ValueError on anything else."""
    m = _HHMM.match(value.strip())
    if not m:
        raise ValueError(f"expected a local time like 08:00, got {value!r}")
    return time(int(m.group(1)), int(m.group(2)))


def _check_hhmm(value: str | None) -> str | None:
    if value is not None:
        parse_hhmm(value)
    return value


class DriverOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: list[str] = Field(
        default_factory=list,
        description="phrases that signal this driver; '*' at the end of a word matches any ending",
    )
    replace: bool = Field(
        False, description="true: these terms replace the built-in list (empty list: driver off)"
    )
    label: str | None = Field(None, description="display name of the driver")


class DigestBrandConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="false: never send this brand's digest")
    send_at: str | None = Field(None, description="local send time HH:MM (default: digest.send_at)")
    recipients: list[str] | None = Field(
        None, description="email addresses (default: digest.recipients)"
    )

    @field_validator("send_at")
    @classmethod
    def _send_at(cls, value: str | None) -> str | None:
        return _check_hhmm(value)


class DigestConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="false: the scheduler sends no digest at all")
    send_at: str = Field("08:00", description="local time HH:MM in the brand's timezone")
    covers: Literal["previous_day", "same_day"] = Field(
        "previous_day",
        description="which day a scheduled digest reports: the finished day before send_at, "
        "or the day so far",
    )
    recipients: list[str] = Field(default_factory=list, description="default email recipients")
    brands: dict[str, DigestBrandConfig] = Field(
        default_factory=dict, description="per-brand overrides, keyed by brand name"
    )
    subject: str = Field(
        "Earful digest: {brand} — {date}",
        description="email subject; {brand} and {date} are filled in",
    )
    top_n: int = Field(5, ge=1, le=50, description="how many top negative / positive mentions")
    trend_days: int = Field(30, ge=7, le=180, description="days in the trend chart")
    theme_window_days: int = Field(
        56, ge=7, le=365, description="rolling window of negative mentions clustered into themes"
    )
    theme_sample_cap: int = Field(
        4000, ge=100, description="at most this many newest negative mentions are clustered"
    )
    theme_min_mentions: int = Field(3, ge=2, description="a theme needs at least this many")
    max_themes: int = Field(8, ge=1, le=50, description="themes shown")
    chronic_min_weeks: int = Field(
        3, ge=1, description="chronic: seen in at least this many distinct ISO weeks"
    )
    chronic_min_authors: int = Field(
        3, ge=1, description="chronic: from at least this many distinct authors"
    )
    drivers: dict[str, DriverOverride] = Field(
        default_factory=dict, description="complaint-driver lexicon overrides, keyed by driver"
    )
    driver_sample_cap: int = Field(
        20000, ge=100, description="at most this many negative mentions scanned for drivers"
    )
    ack_sla_minutes: int = Field(
        30, ge=1, description="time-to-acknowledge target shown beside the p50/p90"
    )

    @field_validator("send_at")
    @classmethod
    def _send_at(cls, value: str) -> str:
        parse_hhmm(value)
        return value

    def brand_settings(self, brand: str) -> DigestBrandConfig:
        """This brand's overrides (case-insensitive name), or an empty set of overrides."""
        for name, cfg in self.brands.items():
            if name.lower() == brand.lower():
                return cfg
        return DigestBrandConfig()

    def send_time_for(self, brand: str) -> time:
        return parse_hhmm(self.brand_settings(brand).send_at or self.send_at)

    def recipients_for(self, brand: str) -> list[str]:
        override = self.brand_settings(brand).recipients
        return list(override) if override is not None else list(self.recipients)
