"""The command line's alert commands, and the server's own evaluator, against real receivers."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.alerts.receivers import SmtpReceiver, WebhookReceiver
from tests.cli.test_cli import ff
from tests.conftest import ServerProcess, free_port, post_pageview

pytestmark = pytest.mark.slow


def test_alert_commands_and_run_once_with_the_server_stopped(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    data = tmp_path / "data"
    env = {"FOOTFALL_ALERT_WEBHOOK_SECRET": "s3cret-for-tests"}
    assert ff(data, "site", "add", "example.com").returncode == 0
    added = ff(
        data,
        "alert",
        "add",
        "disk",
        "--metric",
        "ops:disk_free",
        "--below",
        "1e12",
        "--webhook",
        webhook.url + "/ops",
        "--severity",
        "critical",
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout == "alert disk: ops:disk_free over 15 min below 1e+12\n"
    traffic = ff(
        data,
        "alert",
        "add",
        "busy",
        "--site",
        "example.com",
        "--metric",
        "visitors",
        "--window",
        "5",
        "--above",
        "100",
        "--for",
        "10",
        "--webhook",
        webhook.url,
    )
    assert traffic.returncode == 0, traffic.stderr

    # Usage errors exit 2; refusals exit 1 with one line.
    assert ff(data, "alert", "add", "x", "--metric", "visitors", "--log").returncode == 2
    assert ff(data, "alert", "add", "x", "--metric", "visitors", "--above", "1").returncode == 2
    refused = ff(data, "alert", "add", "x", "--metric", "visitors", "--above", "1", "--log")
    assert refused.returncode == 1
    assert refused.stderr == "error: a visitors alert counts one site's traffic: give the site\n"
    assert ff(data, "alert", "delete", "nope").returncode == 1

    first = ff(data, "alert", "run", "--once", env=env)
    assert first.returncode == 0, first.stderr
    assert "evaluated 2 rules: 1 fired" in first.stdout
    (hook,) = webhook.wait_for(1)
    body = hook.json
    assert (body["alert"], body["state"], body["site"], body["metric"]) == (
        "disk",
        "firing",
        None,
        "ops:disk_free",
    )
    assert body["severity"] == "critical" and body["threshold"] == 1e12
    assert hook.headers["x-footfall-signature"].startswith("sha256=")

    again = ff(data, "alert", "run", "--once", env=env)
    assert again.returncode == 0 and "0 notifications queued" in again.stdout
    assert len(webhook.received) == 1  # still firing, inside its re-notify interval

    listed = ff(data, "alert", "list").stdout.splitlines()
    assert listed[0].startswith("busy\tok\texample.com\tvisitors over 5 min above 100, for 10 min")
    assert listed[1].startswith("disk\tfiring\t-\t")
    assert "/ops" not in listed[1]  # a webhook's path is never shown
    as_json = [json.loads(line) for line in ff(data, "alert", "list", "--json").stdout.splitlines()]
    assert as_json[1]["status"] == "firing" and as_json[1]["value"] > 0

    assert ff(data, "alert", "ack", "disk").returncode == 0
    silenced = ff(data, "alert", "silence", "disk", "--minutes", "30")
    assert silenced.returncode == 0 and "silenced until" in silenced.stdout
    assert ff(data, "alert", "ack", "busy").returncode == 1  # not firing

    tested = ff(data, "alert", "test", "busy")
    assert tested.returncode == 0 and "sent" in tested.stdout
    assert webhook.wait_for(2)[1].json["test"] is True

    history = ff(data, "alert", "history", "disk").stdout.splitlines()
    kinds = [line.split("\t")[2] for line in history]
    assert kinds == ["silenced", "acknowledged", "notified", "firing", "pending"]
    assert ff(data, "alert", "deliveries").stdout.count("\tsent\t") == 1  # tests go out at once
    assert ff(data, "alert", "delete", "disk").returncode == 0


def test_the_servers_own_evaluator_delivers_within_an_interval(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    data = tmp_path / "data"
    assert ff(data, "site", "add", "example.com").returncode == 0
    added = ff(
        data,
        "alert",
        "add",
        "first-visit",
        "--site",
        "example.com",
        "--metric",
        "visitors",
        "--window",
        "5",
        "--above",
        "0",
        "--webhook",
        webhook.url,
    )
    assert added.returncode == 0, added.stderr
    server = ServerProcess(
        data_dir=data,
        port=free_port(),
        env={"FOOTFALL_ALERT_INTERVAL_S": "1", "FOOTFALL_APPLY_INTERVAL_MS": "100"},
    )
    try:
        server.start()
        with httpx.Client(timeout=5) as client:
            assert post_pageview(client, server.url, "/", ip="81.2.69.160") == 202
        assert webhook.received or _waited(webhook, server), "no notification arrived"
        (hook,) = webhook.received
        assert hook.json["alert"] == "first-visit" and hook.json["state"] == "firing"
        assert hook.json["value"] == 1
    finally:
        server.stop()


def test_every_alert_and_report_command_has_help() -> None:
    from click.testing import CliRunner

    from footfall.cli.main import main

    runner = CliRunner()
    for group, commands in (
        (
            "alert",
            ("add", "list", "delete", "test", "run", "ack", "silence", "history", "deliveries"),
        ),
        ("report", ("add", "list", "delete", "send")),
    ):
        for command in (None, *commands):
            args = [group, *([command] if command else []), "--help"]
            result = runner.invoke(main, args)
            assert result.exit_code == 0 and "Usage:" in result.output, args


def test_smtp_and_webhook_secrets_come_from_files_and_stay_hidden(tmp_path: Path) -> None:
    password = tmp_path / "smtp-password"
    password.write_text("pw-from-a-file\n")
    env = {
        "FOOTFALL_SMTP_PASSWORD_FILE": str(password),
        "FOOTFALL_ALERT_WEBHOOK_SECRET": "hook-secret-value",
    }
    listed = ff(tmp_path / "data", "settings", env=env)
    assert listed.returncode == 0
    assert "FOOTFALL_SMTP_PASSWORD=********" in listed.stdout
    assert "FOOTFALL_ALERT_WEBHOOK_SECRET=********" in listed.stdout
    assert "pw-from-a-file" not in listed.stdout and "hook-secret-value" not in listed.stdout
    from footfall.settings import load_settings

    settings = load_settings({}, environ=env)
    assert settings.smtp_password == "pw-from-a-file"
    assert "pw-from-a-file" not in repr(settings)


def test_report_commands_send_through_smtp(tmp_path: Path, smtp: SmtpReceiver) -> None:
    data = tmp_path / "data"
    env = {
        "FOOTFALL_SMTP_HOST": "127.0.0.1",
        "FOOTFALL_SMTP_PORT": str(smtp.port),
        "FOOTFALL_SMTP_SECURITY": "none",
        "FOOTFALL_SMTP_FROM": "footfall@example.org",
    }
    assert ff(data, "site", "add", "example.com").returncode == 0
    assert ff(data, "report", "add", "--site", "example.com").returncode == 2
    added = ff(
        data, "report", "add", "--site", "example.com", "--weekly", "--email", "o@example.org"
    )
    assert added.stdout == "weekly report of example.com to o@example.org\n"
    assert ff(data, "report", "list").stdout.startswith("example.com\tweekly\to@example.org\t")
    sent = ff(data, "report", "send", "--site", "example.com", "--weekly", env=env)
    assert sent.returncode == 0, sent.stderr
    assert "queued 1 report emails; 1 sent" in sent.stdout
    (mail,) = smtp.wait_for(1)
    assert mail.subject.startswith("Weekly report for example.com: week of ")
    assert "Unique visitors" in mail.part("plain")
    assert ff(data, "report", "send", "--site", "example.com", "--monthly").returncode == 1
    assert ff(data, "report", "delete", "--site", "example.com", "--weekly").returncode == 0
    assert ff(data, "report", "list").stdout == ""
    # Without SMTP settings the delivery fails, is kept, and can be retried.
    ff(data, "report", "add", "--site", "example.com", "--monthly", "--email", "o@example.org")
    failed = ff(data, "report", "send", "--site", "example.com", "--monthly")
    assert failed.returncode == 1 and "1 to retry" in failed.stdout
    listed = ff(data, "alert", "deliveries").stdout
    assert "FOOTFALL_SMTP_HOST" in listed
    assert ff(data, "alert", "deliveries", "--retry", "1").returncode == 1  # sent, not failed


def _waited(webhook: WebhookReceiver, server: ServerProcess) -> bool:
    """Waits for one notification; on failure, shows what the server logged."""
    try:
        webhook.wait_for(1, timeout=60)
    except AssertionError as exc:
        log = server.log.read_text()[-3000:] if server.log else ""
        raise AssertionError(f"{exc}; the server logged:\n{log}") from None
    return True
