"""Environment settings (``EARFUL_*``), typed, never built at import time.

``get_settings()`` builds them; callers pass them explicitly into ``make_engine(settings)``,
``make_client(settings)`` and so on, so the CLI, the workers and the tests each choose theirs.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EARFUL_", extra="ignore")

    env: str = Field("development", description="development | production")
    config: Path = Field(Path("config"), description="directory of the admin YAML config")
    db_url: str = Field("sqlite:///earful.db", description="SQLAlchemy URL of the store")
    broker_url: str = Field("redis://127.0.0.1:6379/0", description="Celery broker (Redis)")
    limits_url: str | None = Field(
        None,
        description="Redis holding the quotas, politeness gaps and breakers shared by the "
        "Celery workers; unset: the broker URL (`earful run` keeps them in its own process)",
    )
    result_backend: str | None = Field(None, description="Celery result backend, only if needed")
    visibility_timeout_s: int = Field(
        3600, description="seconds before a task of a dead worker is handed to another"
    )
    sweep_grace_s: float = Field(
        120.0,
        ge=0,
        description="a stored mention still unscored this long after it was stored (its risk "
        "task lost in a Redis restart, or the process killed before its hook) is evaluated by "
        "the sweep",
    )
    worker_id: str | None = Field(None, description="name of this process in locks and logs")
    db_pool_size: int = Field(
        2, description="DB connections per worker process (prefork: one task at a time each)"
    )
    secret_key: SecretStr = Field(
        SecretStr(""),
        description="HMAC key(s) for ack links, comma-separated (first signs); unset: generated "
        "once and kept in the database",
    )
    base_url: str = Field("http://127.0.0.1:8000", description="public URL of `earful web`")
    user_agent: str = Field(
        "Earful/0.1 (+https://github.com/earful/earful; self-hosted brand monitor)",
        description="User-Agent sent to every source",
    )
    http_timeout_s: float = Field(20.0, description="connect/read timeout per request")
    http_deadline_s: float = Field(
        60.0, description="total deadline of one request: connect, all reads and all retries"
    )
    poll_threads: int = Field(
        4, ge=1, description="earful run: sources polled at once (a slow one holds one thread)"
    )
    max_body_bytes: int = Field(10 * 1024 * 1024, description="response-size cap")
    max_retries: int = Field(3, description="retries of transient HTTP failures")
    host_min_interval_s: float = Field(1.0, description="politeness: gap between hits per host")
    smtp_host: str = Field("127.0.0.1")
    smtp_port: int = Field(25)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = Field("earful@localhost")
    smtp_starttls: bool = False

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.env == "production" and self.secret_key.get_secret_value() in (DEV_SECRET, ""):
            raise ValueError("EARFUL_SECRET_KEY must be set to a real secret in production")
        return self

    def resolved_config_dir(self) -> Path:
        return self.config


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides (CLI options, tests)."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]
