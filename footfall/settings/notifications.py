"""The settings of alerting and email reports: evaluation, webhooks and the SMTP server."""

from __future__ import annotations

from urllib.parse import urlsplit

from footfall.settings.registry import Setting, _parse_float, _parse_int


def _check_public_url(value: str) -> None:
    if not value:
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ValueError(
            "expected the address users reach footfall at, such as https://stats.example.org"
        )


def _check_address(value: str) -> None:
    if value and ("@" not in value or any(c in value for c in "\r\n")):
        raise ValueError("expected an email address such as footfall@example.org")


NOTIFICATION_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "alert_interval_s",
        60.0,
        "Seconds between two evaluations of every alert rule (and checks for due email "
        "reports and deliveries to retry); one process of a cluster evaluates at a time.",
        parse=_parse_float,
        greater_than=0,
        maximum=3600,
    ),
    Setting(
        "alert_webhook_secret",
        "",
        "Key of the HMAC-SHA256 signature in the X-Footfall-Signature header of every webhook "
        "delivery; empty sends webhooks unsigned.",
        secret=True,
    ),
    Setting(
        "public_url",
        "",
        "The address users reach footfall at (https://stats.example.org), for links in "
        "notifications and email reports; empty leaves the links out.",
        parse=lambda raw: raw.strip().rstrip("/"),
        check=_check_public_url,
    ),
    Setting(
        "smtp_host",
        "",
        "SMTP server that sends alert and report emails; empty disables email.",
        parse=str.strip,
    ),
    Setting(
        "smtp_port",
        587,
        "TCP port of the SMTP server (587 for STARTTLS, 465 for TLS, 25 without).",
        parse=_parse_int,
        minimum=1,
        maximum=65535,
    ),
    Setting(
        "smtp_security",
        "starttls",
        "How the SMTP connection is protected: starttls (upgrade a plain connection), tls "
        "(encrypted from the start) or none.",
        choices=("starttls", "tls", "none"),
    ),
    Setting(
        "smtp_username",
        "",
        "User name to log in to the SMTP server with; empty sends without logging in.",
    ),
    Setting(
        "smtp_password",
        "",
        "Password to log in to the SMTP server with.",
        secret=True,
    ),
    Setting(
        "smtp_from",
        "",
        "The From address of alert and report emails, such as footfall@example.org.",
        parse=str.strip,
        check=_check_address,
    ),
    Setting(
        "smtp_timeout_s",
        10.0,
        "Seconds to wait for the SMTP server at each step before a delivery counts as failed "
        "(it is retried later).",
        parse=_parse_float,
        greater_than=0,
        maximum=300,
    ),
)
