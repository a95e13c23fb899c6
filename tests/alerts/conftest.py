"""Fixtures of the alerting tests: a webhook receiver and an SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.alerts.receivers import SmtpReceiver, WebhookReceiver


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
