"""Email over SMTP (settings ``EARFUL_SMTP_*``): a text part and an HTML part."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from earful.errors import NotificationError, TransientNotificationError
from earful.notify.message import Message, render_html, render_text
from earful.settings import Settings


def build_email(msg: Message, *, sender: str, to: str, idempotency_key: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = msg.subject.replace("\n", " ")
    mail["From"] = sender
    mail["To"] = to
    mail["Date"] = formatdate(usegmt=True)
    # Stable per (escalation, level, recipient): mail clients thread and de-duplicate on it.
    mail["Message-ID"] = f"<{idempotency_key}@earful>"
    mail["X-Earful-Escalation"] = str(msg.escalation_id)
    mail.set_content(render_text(msg))
    mail.add_alternative(render_html(msg), subtype="html")
    return mail


def smtp_send(mail: EmailMessage, settings: Settings, *, timeout: float) -> None:
    """The one SMTP conversation of Earful (alerts and digests): STARTTLS, when enabled, with a
    verifying context (certificate chain and host name), then login, then the message. Raises
    smtplib's and socket errors; callers map them onto the error tree."""
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user and settings.smtp_password is not None:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        smtp.send_message(mail)


class EmailSender:
    channel = "email"
    idempotent = False  # SMTP servers deliver a second copy; the outbox never re-sends blindly

    def __init__(self, settings: Settings, *, timeout: float = 20.0) -> None:
        self.settings = settings
        self.timeout = timeout

    def send(self, msg: Message, *, to: str, idempotency_key: str) -> None:
        s = self.settings
        mail = build_email(msg, sender=s.smtp_from, to=to, idempotency_key=idempotency_key)
        try:
            smtp_send(mail, s, timeout=self.timeout)
        except smtplib.SMTPRecipientsRefused as exc:
            raise NotificationError(
                f"recipient refused: {to}", channel="email", reason="refused"
            ) from exc
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise TransientNotificationError(
                    f"SMTP {exc.smtp_code}", channel="email", reason="smtp_4xx"
                ) from exc
            raise NotificationError(
                f"SMTP {exc.smtp_code}", channel="email", reason="smtp"
            ) from exc
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            raise TransientNotificationError(str(exc), channel="email", reason="connect") from exc
