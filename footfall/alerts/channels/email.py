"""Email over SMTP: STARTTLS, TLS from the start, or plain; with or without logging in.

The certificate of a TLS server is verified against the system's trust store (``SSL_CERT_FILE``
names another bundle). One connection per message: alerts and reports are few.
"""

from __future__ import annotations

import email.utils
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from footfall.alerts.channels.slack import slack_text
from footfall.alerts.channels.webhook import DeliveryError


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """An SMTP server and how to reach it.

    Attributes:
        host: Its host name.
        port: Its port.
        security: ``starttls``, ``tls`` or ``none``.
        sender: The From address.
        username: Login name; empty sends without logging in.
        password: Login password.
        timeout: Seconds to wait at each step.
    """

    host: str
    port: int
    security: str
    sender: str
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 10.0


def alert_email(notice: Mapping[str, Any]) -> tuple[str, str]:
    """The subject and plain-text body of a notice's email."""
    test = "[test] " if notice.get("test") else ""
    state = "FIRING" if notice.get("state") == "firing" else "resolved"
    where = f" on {notice['site']}" if notice.get("site") else ""
    subject = f"{test}[footfall] {state}: {notice.get('alert')}{where}"
    text = slack_text(notice).replace("*", "")
    for icon in (":rotating_light: ", ":white_check_mark: "):
        text = text.replace(icon, "")
    if notice.get("url"):
        text = text.replace(f"<{notice['url']}|Open the alerts page>", f"Alerts: {notice['url']}")
    return subject, text + "\n"


def _message(
    config: SmtpConfig, to: str, subject: str, text: str, html: str | None
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(localtime=False)
    domain = config.sender.rpartition("@")[2] or None
    message["Message-ID"] = email.utils.make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send_email(
    config: SmtpConfig, to: str, subject: str, text: str, html: str | None = None
) -> None:
    """Sends one email (plain text, with an HTML alternative when given).

    Raises:
        DeliveryError: The server could not be reached, refused the login or the message,
            or TLS failed. The message never holds the password.
    """
    if not config.sender:
        raise DeliveryError("no From address: set FOOTFALL_SMTP_FROM")
    message = _message(config, to, subject, text, html)
    context = ssl.create_default_context()
    try:
        if config.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout, context=context
            )
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        try:
            if config.security == "starttls":
                client.starttls(context=context)
            if config.username:
                client.login(config.username, config.password)
            client.send_message(message)
            client.quit()
        finally:
            # Not `with client`: its QUIT after a failed TLS handshake fails on its own
            # (on a connection left half-wrapped) and hides the error that matters.
            client.close()
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"the SMTP server refused the login ({exc.smtp_code})") from None
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(f"the SMTP server does not support {exc}") from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(
            f"the SMTP server answered {exc.smtp_code}: {_text(exc.smtp_error)}"
        ) from None
    except smtplib.SMTPRecipientsRefused:
        raise DeliveryError("the SMTP server refused the recipient") from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        raise DeliveryError(f"{exc.__class__.__name__}: {exc}") from None


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
