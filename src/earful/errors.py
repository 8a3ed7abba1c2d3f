"""One error tree for Earful.

Vendor errors (httpx, feedparser, SQLAlchemy, YAML) are mapped once at the boundary with
``raise ... from exc``. Every error carries a short ``reason`` slug used in logs and counters.

::

    EarfulError
      ConfigError(file, line, field)
      SourceError(source, reason)
        TransientSourceError      # timeouts, 5xx, 429 (+ retry_after); retried with backoff
        SourceAuthError           # 401/403: credentials missing or refused; not retried
        SourceGoneError           # 404/410: the source disappeared (410 disables it)
        ParseError                # the body could not be understood
        QuotaExceededError        # a daily API quota is used up
      StorageError
      NotificationError(channel, reason)
        TransientNotificationError
"""

from __future__ import annotations


class EarfulError(Exception):
    """Base of every error Earful raises on purpose."""

    reason: str = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class ConfigError(EarfulError):
    """Bad admin config; rendered as ``file:line: field: message`` and exit code 2."""

    reason = "config"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.field = field

    def __str__(self) -> str:
        where = self.file or "<config>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        if self.field:
            return f"{where}: {self.field}: {self.message}"
        return f"{where}: {self.message}"


class SourceError(EarfulError):
    """A source could not be read."""

    reason = "source"

    def __init__(self, message: str, *, source: str = "", reason: str | None = None) -> None:
        super().__init__(message, reason=reason)
        self.source = source


class TransientSourceError(SourceError):
    """Worth retrying later: timeouts, connection errors, 5xx, 429."""

    reason = "transient"

    def __init__(
        self,
        message: str,
        *,
        source: str = "",
        reason: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, source=source, reason=reason)
        self.retry_after = retry_after


class SourceAuthError(SourceError):
    """Credentials are missing or refused (401/403); retrying will not help."""

    reason = "auth"


class SourceGoneError(SourceError):
    """The source is not there (404) or gone for good (410)."""

    reason = "gone"

    def __init__(
        self, message: str, *, source: str = "", reason: str | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message, source=source, reason=reason)
        self.permanent = permanent


class ParseError(SourceError):
    """A response body could not be parsed."""

    reason = "parse"


class QuotaExceededError(SourceError):
    """A daily API quota is used up; the source waits for the quota to reset."""

    reason = "quota"


class StorageError(EarfulError):
    """The database refused a write or read."""

    reason = "storage"


class NotificationError(EarfulError):
    """A notification could not be delivered."""

    reason = "notify"

    def __init__(self, message: str, *, channel: str = "", reason: str | None = None) -> None:
        super().__init__(message, reason=reason)
        self.channel = channel


class TransientNotificationError(NotificationError):
    """Delivery failed in a way worth retrying (timeouts, 5xx, 429)."""

    reason = "notify_transient"
