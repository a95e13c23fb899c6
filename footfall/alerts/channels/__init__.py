"""The channels notifications and reports go out on: webhook, Slack-compatible webhook, email, log.

`send` dispatches one queued delivery to its channel and raises `DeliveryError` when the
channel did not take it; `footfall.alerts.delivery` decides when to try again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from footfall.alerts.channels.email import SmtpConfig, alert_email, send_email
from footfall.alerts.channels.log import log_notice
from footfall.alerts.channels.slack import slack_body
from footfall.alerts.channels.webhook import DeliveryError, post_json
from footfall.alerts.model import Channel

__all__ = ["ChannelConfig", "DeliveryError", "SmtpConfig", "send"]


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """What the channels need from the settings (built by the composition root).

    Attributes:
        webhook_secret: Key of the webhook signature; empty sends webhooks unsigned.
        smtp: The SMTP server, or None when email is not configured.
        timeout: Seconds an HTTP delivery may take.
    """

    webhook_secret: str = ""
    smtp: SmtpConfig | None = None
    timeout: float = 10.0


def send(
    config: ChannelConfig,
    channel: Channel,
    kind: str,
    payload: Mapping[str, Any],
    *,
    now: dt.datetime,
    delivery_id: int | None = None,
) -> None:
    """Sends one message on `channel`.

    Args:
        config: Secrets and servers.
        channel: Where to.
        kind: ``alert`` or ``test`` (`payload` is a notice's JSON) or ``report`` (`payload`
            has an email's ``subject``, ``text`` and ``html``).
        payload: What to send.
        now: The time of the attempt (it is signed with webhook bodies).
        delivery_id: The outbox id, sent along so that a receiver can drop a repeated delivery.

    Raises:
        DeliveryError: The channel did not take it (the message says why, never a secret).
    """
    if kind == "report":
        if channel.kind != "email":
            raise DeliveryError(f"a report cannot go to a {channel.kind} channel")
        _email(config, channel.target, payload["subject"], payload["text"], payload.get("html"))
        return
    if channel.kind == "webhook":
        post_json(
            channel.target,
            dict(payload),
            secret=config.webhook_secret,
            now=now,
            timeout=config.timeout,
            delivery_id=delivery_id,
        )
    elif channel.kind == "slack":
        post_json(channel.target, slack_body(payload), timeout=config.timeout, now=now)
    elif channel.kind == "email":
        subject, text = alert_email(payload)
        _email(config, channel.target, subject, text, None)
    else:
        log_notice(payload)


def _email(config: ChannelConfig, to: str, subject: str, text: str, html: str | None) -> None:
    if config.smtp is None:
        raise DeliveryError(
            "email is not configured: set FOOTFALL_SMTP_HOST and FOOTFALL_SMTP_FROM"
        )
    send_email(config.smtp, to, subject, text, html)
