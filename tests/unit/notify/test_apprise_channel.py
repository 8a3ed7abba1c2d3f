"""The Apprise channel's pure parts: what of a URL is safe to show, what is masked in logs,
and config validation of ``kind: apprise``."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

from earful.config.escalation import ChannelConfig
from earful.errors import ConfigError
from earful.notify.channels.apprise import MASK, AppriseSender, scheme_of, secret_parts
from tests.conftest import run_earful

TELEGRAM = "tgram://123456789:AAH-bot-token-xyz/987654321/?format=text"


def test_only_the_scheme_is_shown() -> None:
    assert scheme_of(TELEGRAM) == "tgram"
    assert scheme_of("JSON://host/path") == "json"
    assert scheme_of("garbage") == "?"


def test_every_credential_part_is_masked() -> None:
    parts = secret_parts("mailtos://alice:hunter2-pass@mail.example.com:587/?to=ops%40example.com")
    assert "hunter2-pass" in parts and "alice" in parts and "mail.example.com" in parts
    assert "ops@example.com" in parts
    assert parts == sorted(parts, key=len, reverse=True)  # longest first: no partial leaks
    assert all(len(p) >= 4 for p in parts)


def test_apprise_log_records_lose_the_url(caplog: pytest.LogCaptureFixture) -> None:
    AppriseSender(TELEGRAM, name="pager")
    caplog.set_level(logging.DEBUG, logger="apprise")
    logging.getLogger("apprise").warning(
        "Telegram POST to %s failed", "123456789:AAH-bot-token-xyz"
    )
    logging.getLogger("urllib3.connectionpool").debug("GET /bot123456789:AAH-bot-token-xyz/send")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "AAH-bot-token-xyz" not in text and MASK in text


def test_an_url_apprise_does_not_know_is_a_config_error_naming_the_scheme_only() -> None:
    with pytest.raises(ConfigError) as err:
        AppriseSender("nosuchservice://secret-token-1234/x", name="pager")
    assert "nosuchservice://" in str(err.value) and "secret-token-1234" not in str(err.value)


def test_kind_apprise_needs_url_env_and_refuses_a_url() -> None:
    assert ChannelConfig(kind="apprise", url_env="EARFUL_APPRISE_URL").url_env
    with pytest.raises(ValidationError, match="needs url_env"):
        ChannelConfig(kind="apprise")
    with pytest.raises(ValidationError, match="carries credentials"):
        ChannelConfig(kind="apprise", url="tgram://t/c", url_env="X")


def test_shortened_urls_apprise_logs_are_masked_too(caplog: pytest.LogCaptureFixture) -> None:
    AppriseSender(TELEGRAM, name="pager")
    caplog.set_level(logging.DEBUG, logger="apprise")
    logging.getLogger("apprise").error("Unparseable URL tgram://1...z/")
    assert [r.getMessage() for r in caplog.records] == [f"Unparseable URL tgram://{MASK}"]


def test_sources_check_reports_an_apprise_url_apprise_does_not_know(tmp_path: Path) -> None:
    (tmp_path / "brands.yaml").write_text("brands:\n  - name: Acme\n")
    (tmp_path / "sources.yaml").write_text("sources: []\n")
    (tmp_path / "routes.yaml").write_text(
        "escalation:\n  channels:\n    pager: {kind: apprise, url_env: AP_URL}\n"
        "  routes:\n    - {level: 1, channel: pager, to: on-call}\n"
    )
    env = {"PATH": "/usr/bin:/bin", "AP_URL": "nosuch://tok-secret-77/x"}
    result = run_earful("--config", str(tmp_path), "sources", "check", env=env)
    assert result.returncode == 2
    assert "escalation.channels.pager.url_env" in result.stderr
    assert "scheme nosuch://" in result.stderr and "tok-secret-77" not in result.stderr
