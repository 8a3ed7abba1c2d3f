"""``escalation:`` section (config/routes.yaml): levels, channels, routes, quiet hours, limits.

Example::

    escalation:
      levels:
        1: {name: service lead, sla: 30m}
        2: {name: manager, sla: 1h}
        3: {name: executive, sla: 2h}
      channels:
        console: {kind: console}
        ops-slack: {kind: slack, url_env: EARFUL_SLACK_WEBHOOK}
        care-mail: {kind: email}
        hook: {kind: webhook, url: "https://example.com/earful", secret_env: EARFUL_WEBHOOK_SECRET}
        pager: {kind: apprise, url_env: EARFUL_APPRISE_URL}   # any Apprise URL, e.g. tgram://...
      routes:
        - {brand: "*", level: 1, channel: console, to: service-lead}
        - {brand: Acme, level: 2, channel: care-mail, to: manager@example.com}
      quiet_hours: {start: "22:00", end: "07:00", timezone: Europe/Paris, override_level: 2}
      cooldown: 6h
      max_per_hour: 5
      update_throttle: 30m
      update_risk_step: 10
      update_posts_growth: 0.5
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from earful.config.digest import parse_hhmm
from earful.config.durations import parse_duration

ChannelKind = Literal["console", "file", "email", "slack", "teams", "webhook", "apprise"]


def _duration(value: object) -> timedelta:
    return parse_duration(value)


class LevelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="who this level is, e.g. service lead")
    sla: timedelta = Field(
        timedelta(minutes=30),
        description="not acknowledged within this: re-sent and raised to the next level",
    )

    @field_validator("sla", mode="before")
    @classmethod
    def _sla(cls, value: object) -> timedelta:
        return _duration(value)


class ChannelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ChannelKind = Field(description="console, file, email, slack, teams, webhook or apprise")
    url: str | None = Field(None, description="webhook URL (slack, teams, webhook)")
    url_env: str | None = Field(
        None,
        description="environment variable holding the URL (apprise: required, the Apprise URL)",
    )
    secret_env: str | None = Field(
        None, description="webhook: environment variable holding the HMAC-SHA256 signing secret"
    )
    path: str | None = Field(None, description="file: the JSON Lines file appended to")

    @model_validator(mode="after")
    def _apprise_url_from_env(self) -> ChannelConfig:
        if self.kind == "apprise":
            if self.url is not None:
                raise ValueError(
                    "an Apprise URL carries credentials: put it in an environment variable and "
                    "name that in url_env (not url)"
                )
            if not self.url_env:
                raise ValueError("kind apprise needs url_env (the variable holding the URL)")
        return self


class RouteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    brand: str = Field("*", description="brand name, or * for every brand")
    level: int = Field(1, ge=1, description="the escalation level this route serves")
    channel: str = Field(description="a key of escalation.channels")
    to: str = Field("", description="recipient: email address, person or team name")


class QuietHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str = Field(description="local HH:MM when quiet starts")
    end: str = Field(description="local HH:MM when quiet ends")
    timezone: str = Field("UTC", description="IANA zone of start and end")
    override_level: int = Field(
        2, ge=1, description="escalations at or above this level are sent during quiet hours"
    )

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        parse_hhmm(value)
        return value


def _default_levels() -> dict[int, LevelConfig]:
    return {
        1: LevelConfig(name="service lead", sla=timedelta(minutes=30)),
        2: LevelConfig(name="manager", sla=timedelta(hours=1)),
        3: LevelConfig(name="executive", sla=timedelta(hours=2)),
    }


class EscalationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="false: risks are scored but nobody is notified")
    levels: dict[int, LevelConfig] = Field(
        default_factory=_default_levels, description="escalation levels, 1 = first responder"
    )
    channels: dict[str, ChannelConfig] = Field(
        default_factory=lambda: {"console": ChannelConfig(kind="console")},
        description="named delivery channels",
    )
    routes: list[RouteConfig] = Field(
        default_factory=lambda: [RouteConfig(brand="*", level=1, channel="console", to="console")],
        description="who hears which brand's escalations at which level, on which channel",
    )
    quiet_hours: QuietHours | None = Field(None, description="hold low levels overnight")
    cooldown: timedelta = Field(
        timedelta(hours=6),
        description="after an incident's escalation closes, it may not reopen for this long",
    )
    max_per_hour: int = Field(5, ge=1, description="at most this many new escalations per hour")
    update_throttle: timedelta = Field(
        timedelta(minutes=30),
        description="at most one update notification per escalation level in this long",
    )
    update_risk_step: float = Field(
        10.0, gt=0, description="an open escalation is updated when its risk rose this much"
    )
    update_posts_growth: float = Field(
        0.5,
        gt=0,
        description="... or when its story's posts grew by this fraction (0.5: half again)",
    )
    max_attempts: int = Field(6, ge=1, description="delivery attempts before a notification dies")
    retry_base: timedelta = Field(
        timedelta(seconds=30), description="first retry delay; doubles on every failure"
    )
    ack_link_ttl: timedelta = Field(
        timedelta(hours=72), description="how long an acknowledge link stays valid"
    )

    @field_validator("cooldown", "update_throttle", "retry_base", "ack_link_ttl", mode="before")
    @classmethod
    def _durations(cls, value: object) -> timedelta:
        return _duration(value)

    @field_validator("update_throttle")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value

    @model_validator(mode="after")
    def _routes_name_channels(self) -> EscalationConfig:
        for route in self.routes:
            if route.channel not in self.channels:
                raise ValueError(f"route names unknown channel {route.channel!r}")
        return self

    def max_level(self) -> int:
        return max(self.levels) if self.levels else 1

    def routes_for(self, brand: str, level: int) -> list[RouteConfig]:
        """Routes for this brand and level; a level without routes falls back to the highest
        routed level below it, so a raise never goes to nobody."""
        for lvl in range(level, 0, -1):
            found = [
                r
                for r in self.routes
                if r.level == lvl and (r.brand == "*" or r.brand.lower() == brand.lower())
            ]
            if found:
                return found
        return []
