"""The digest as an email, and sending it over SMTP (the I/O edge).

``build_message`` makes a ``multipart/alternative`` message: a ``text/plain`` part and a
``multipart/related`` part holding the HTML (inline CSS, no remote resource) and each chart as
an inline PNG whose ``Content-ID`` the HTML references as ``cid:<name>@earful``. Mail clients
that block images still get the numbers (alt text and tables).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping, Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from earful.digest.data import DigestData
from earful.digest.render import cid_srcs, render_html, render_text
from earful.errors import NotificationError, TransientNotificationError
from earful.notify.channels.email import smtp_send
from earful.settings import Settings

logger = logging.getLogger(__name__)

CID_DOMAIN = "earful"


def build_message(
    data: DigestData,
    charts: Mapping[str, bytes],
    *,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    web_url: str | None = None,
    chronic_weeks: int = 3,
    chronic_authors: int = 3,
) -> EmailMessage:
    """A complete, standards-conforming message ready for ``smtplib.send_message``."""
    html = render_html(
        data,
        chart_srcs=cid_srcs(tuple(charts), CID_DOMAIN),
        web_url=web_url,
        chronic_weeks=chronic_weeks,
        chronic_authors=chronic_authors,
    )
    msg = EmailMessage()
    # Header values never carry mention text; the brand name comes from config or the CLI.
    msg["Subject"] = subject.replace("\r", " ").replace("\n", " ")
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(data.generated_at)
    msg["Message-ID"] = make_msgid(domain=CID_DOMAIN)
    msg.set_content(render_text(data, web_url=web_url))
    msg.add_alternative(html, subtype="html")
    html_part = msg.get_payload()[1]  # type: ignore[index]
    assert isinstance(html_part, EmailMessage)
    for name, png in charts.items():
        html_part.add_related(
            png,
            maintype="image",
            subtype="png",
            cid=f"<{name}@{CID_DOMAIN}>",
            filename=f"{name}.png",
            disposition="inline",
        )
    return msg


def subject_for(template: str, data: DigestData) -> str:
    return template.replace("{brand}", data.brand).replace("{date}", data.date_label)


def valid_recipients(recipients: Sequence[str]) -> list[str]:
    """Addresses that parse as ``user@domain``; the others are logged and dropped."""
    good = []
    for rcpt in recipients:
        try:
            addr = Address(addr_spec=rcpt.strip())
        except (ValueError, IndexError):
            logger.warning("digest: ignoring malformed recipient %r", rcpt)
            continue
        if addr.domain:
            good.append(addr.addr_spec)
    return good


def send_message(msg: EmailMessage, settings: Settings) -> None:
    """Deliver over SMTP with the ``EARFUL_SMTP_*`` settings; errors become NotificationError
    (transient for connection problems and 4xx replies)."""
    try:
        smtp_send(msg, settings, timeout=30)
    except smtplib.SMTPResponseException as exc:
        err = TransientNotificationError if 400 <= exc.smtp_code < 500 else NotificationError
        raise err(f"SMTP refused the digest: {exc.smtp_code}", channel="email") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise NotificationError("SMTP refused every recipient", channel="email") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise TransientNotificationError(f"SMTP failed: {exc}", channel="email") from exc
    logger.info("digest sent to %s recipient(s)", len(msg.get_all("To", [])))
