"""Deliveries: retries with backoff, failures kept and retried, channels' formats, SMTP."""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from footfall.alerts import delivery
from footfall.alerts.channels import ChannelConfig, SmtpConfig, send
from footfall.alerts.channels.email import send_email
from footfall.alerts.channels.slack import slack_body
from footfall.alerts.channels.webhook import DeliveryError
from footfall.alerts.evaluate import notice
from footfall.alerts.model import Channel, Measurement, Rule
from footfall.alerts.rounds import send_test
from footfall.meta import deliveries
from footfall.meta.alerts import add_rule, list_history
from footfall.meta.audit import Actor
from footfall.meta.sites import add_site
from footfall.services import open_meta
from footfall.settings import load_settings
from tests.alerts.receivers import SmtpReceiver, WebhookReceiver
from tests.services import require_binary

T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def meta(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = open_meta(load_settings({"data_dir": tmp_path / "data"}, environ={}))
    add_site(engine, domain="example.com")
    yield engine
    engine.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def _rule() -> Rule:
    return Rule(
        id=1,
        name="busy",
        metric="visitors",
        comparison="above",
        threshold=5.0,
        window_minutes=10,
        site="example.com",
    )


def _queue(meta: sa.Engine, channel: Channel) -> None:
    body = notice(_rule(), "firing", Measurement(7), T0).as_json()
    with meta.begin() as conn:
        deliveries.enqueue(
            conn, subject="busy", kind="alert", channel=channel, payload=body, now=T0
        )


def test_backoff_doubles_up_to_an_hour_then_gives_up() -> None:
    delays = [delivery.next_attempt(n, T0) for n in range(1, delivery.ATTEMPTS + 1)]
    seconds = [(d - T0).total_seconds() for d in delays if d is not None]
    assert seconds == [30, 60, 120, 240, 480, 960, 1920]
    assert delays[-1] is None
    assert delivery.next_attempt(20, T0) is None
    capped = delivery.next_attempt(delivery.ATTEMPTS - 1, T0)
    assert capped is not None and capped - T0 <= delivery.MAX_DELAY


def test_a_failed_delivery_is_retried_with_backoff_until_it_goes_through(
    meta: sa.Engine, webhook: WebhookReceiver
) -> None:
    webhook.statuses = [500, 503]
    _queue(meta, Channel("webhook", webhook.url))
    clock = Clock()
    first = delivery.deliver_due(meta, ChannelConfig(), clock)
    assert (first.sent, first.retrying) == (0, 1)
    (pending,) = deliveries.list_deliveries(meta)
    assert pending.status == "pending" and pending.attempts == 1
    assert pending.last_error == "the server answered HTTP 500"
    assert pending.next_attempt_at == T0 + dt.timedelta(seconds=30)
    clock.now = T0 + dt.timedelta(seconds=29)
    assert delivery.deliver_due(meta, ChannelConfig(), clock).retrying == 0  # not due yet
    clock.now = T0 + dt.timedelta(seconds=30)
    assert delivery.deliver_due(meta, ChannelConfig(), clock).retrying == 1
    clock.now = T0 + dt.timedelta(seconds=90)
    assert delivery.deliver_due(meta, ChannelConfig(), clock).sent == 1
    (sent,) = deliveries.list_deliveries(meta)
    assert sent.status == "sent" and sent.attempts == 3
    hooks = webhook.wait_for(3)
    # A retry repeats the delivery's id, so a receiver can drop what it already has.
    assert len({h.headers["x-footfall-delivery"] for h in hooks}) == 1
    assert all(h.json == hooks[0].json for h in hooks)


def test_a_delivery_that_never_goes_through_is_failed_and_can_be_retried(
    meta: sa.Engine, webhook: WebhookReceiver
) -> None:
    webhook.statuses = [500] * delivery.ATTEMPTS
    _queue(meta, Channel("webhook", webhook.url))
    clock = Clock()
    for _ in range(delivery.ATTEMPTS):
        delivery.deliver_due(meta, ChannelConfig(), clock)
        clock.now += delivery.MAX_DELAY
    (failed,) = deliveries.list_deliveries(meta, status="failed")
    assert failed.attempts == delivery.ATTEMPTS and failed.next_attempt_at is None
    assert deliveries.retry(meta, failed.id, clock.now)
    assert delivery.deliver_due(meta, ChannelConfig(), clock).sent == 1
    assert not deliveries.retry(meta, failed.id, clock.now)  # sent: nothing to retry


def test_an_unreachable_channel_fails_without_naming_its_url() -> None:
    with pytest.raises(DeliveryError) as caught:
        send(
            ChannelConfig(timeout=2),
            Channel("slack", "http://127.0.0.1:9/services/T000/B000/SECRETPATH"),
            "alert",
            notice(_rule(), "firing", Measurement(7), T0).as_json(),
            now=T0,
        )
    assert "SECRETPATH" not in str(caught.value)
    assert "ConnectError" in str(caught.value)


def test_slack_gets_a_text_message(webhook: WebhookReceiver) -> None:
    body = notice(
        _rule(), "firing", Measurement(7), T0, url="https://stats.example.org/x"
    ).as_json()
    send(ChannelConfig(), Channel("slack", webhook.url + "/services/T/B/X"), "alert", body, now=T0)
    (hook,) = webhook.wait_for(1)
    assert set(hook.json) == {"text"}
    text = hook.json["text"]
    assert "*busy* is FIRING on *example.com*" in text
    assert "visitors = 7" in text and "<https://stats.example.org/x|" in text
    assert slack_body(body) == hook.json


def test_email_without_smtp_settings_fails_clearly() -> None:
    body = notice(_rule(), "firing", Measurement(7), T0).as_json()
    with pytest.raises(DeliveryError, match="FOOTFALL_SMTP_HOST"):
        send(ChannelConfig(), Channel("email", "ops@example.org"), "alert", body, now=T0)


def test_alert_test_sends_to_every_channel_and_is_in_the_history(
    meta: sa.Engine, webhook: WebhookReceiver, smtp: SmtpReceiver
) -> None:
    add_rule(
        meta,
        name="busy",
        site="example.com",
        metric="visitors",
        comparison="above",
        threshold=5,
        window_minutes=10,
        channels=[Channel("webhook", webhook.url), Channel("email", "ops@example.org")],
    )
    config = ChannelConfig(
        smtp=SmtpConfig("127.0.0.1", smtp.port, "none", sender="footfall@example.org")
    )
    results = send_test(meta, config, "busy", now=T0, actor=Actor("cli:ops"))
    assert [error for _, error in results] == [None, None]
    (hook,) = webhook.wait_for(1)
    assert hook.json["test"] is True and hook.json["alert"] == "busy"
    (mail,) = smtp.wait_for(1)
    assert mail.subject.startswith("[test] [footfall] FIRING: busy")
    assert mail.message["from"] == "footfall@example.org"
    (entry,) = list_history(meta, rule="busy")
    assert (entry.kind, entry.actor) == ("test", "cli:ops")


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with openssl."""
    openssl = require_binary("openssl")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


def test_email_over_starttls_with_a_login(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    key, cert = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    receiver = SmtpReceiver(tls=context, credentials=("footfall", "hunter2hunter2")).start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the test's certificate
    try:
        config = SmtpConfig(
            "127.0.0.1",
            receiver.port,
            "starttls",
            sender="footfall@example.org",
            username="footfall",
            password="hunter2hunter2",
        )
        send_email(config, "ops@example.org", "Hello", "plain body", "<p>html body</p>")
        (mail,) = receiver.wait_for(1)
        assert mail.login == "footfall"
        assert mail.part("plain").strip() == "plain body"
        assert mail.part("html").strip() == "<p>html body</p>"
        wrong = SmtpConfig(
            "127.0.0.1",
            receiver.port,
            "starttls",
            sender="f@example.org",
            username="footfall",
            password="wrong",
        )
        with pytest.raises(DeliveryError, match="refused the login") as caught:
            send_email(wrong, "ops@example.org", "Hello", "body")
        assert "wrong" not in str(caught.value)
        # Without the test certificate trusted, TLS fails and says so.
        monkeypatch.delenv("SSL_CERT_FILE")
        with pytest.raises(DeliveryError, match=r"SSL|certificate"):
            send_email(config, "ops@example.org", "Hello", "body")
    finally:
        receiver.stop()


def test_smtp_errors_become_delivery_errors(smtp: SmtpReceiver) -> None:
    closed = SmtpConfig("127.0.0.1", 9, "none", sender="f@example.org", timeout=2)
    with pytest.raises(DeliveryError, match=r"ConnectionRefused|Errno"):
        send_email(closed, "ops@example.org", "s", "t")
    no_tls = SmtpConfig("127.0.0.1", smtp.port, "starttls", sender="f@example.org")
    with pytest.raises(DeliveryError, match=r"STARTTLS|starttls"):
        send_email(no_tls, "ops@example.org", "s", "t")
    assert smtplib.SMTP  # the real client, not a stand-in
