"""The alerts page in a real browser against a real server: add, fire, acknowledge, silence."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from footfall.meta.sites import add_site
from footfall.meta.users import add_user
from footfall.services import open_meta
from footfall.settings import load_settings
from tests.alerts.receivers import WebhookReceiver
from tests.browser import screenshot, sign_in_page
from tests.cli.test_cli import ff
from tests.conftest import PASSWORD, ServerProcess, free_port

pytestmark = pytest.mark.slow


def test_the_alerts_page_adds_fires_acknowledges_and_silences(
    page: Page, tmp_path: Path, webhook: WebhookReceiver, request: pytest.FixtureRequest
) -> None:
    data = tmp_path / "data"
    meta = open_meta(load_settings({"data_dir": data}, environ={}))
    add_site(meta, domain="example.com")
    add_user(meta, email="admin@example.com", role="admin", password=PASSWORD)
    meta.dispose()
    server = ServerProcess(data_dir=data, port=free_port(), env={"FOOTFALL_ALERT_INTERVAL_S": "1"})
    server.start()
    try:
        sign_in_page(page, server.url, "admin@example.com", PASSWORD)
        page.goto(f"{server.url}/settings/alerts")
        expect(page.get_by_text("No alerts yet.")).to_be_visible()

        page.get_by_label("Name", exact=True).fill("disk-low")
        page.get_by_label("Metric", exact=True).select_option("ops:disk_free")
        page.get_by_label("Condition", exact=True).select_option("below")
        page.get_by_label("Threshold", exact=True).fill("1e12")
        page.get_by_label("Window (minutes)").fill("5")
        page.get_by_label("Webhook URLs (comma-separated)").fill(webhook.url + "/secret")
        page.get_by_role("button", name="Add alert").click()
        expect(page.get_by_role("status")).to_contain_text("Alert added.")
        row = page.locator('tr[data-alert="disk-low"]')
        expect(row).to_contain_text("ops:disk_free over 5 min below 1e+12")
        expect(row).not_to_contain_text("/secret")

        # The server's job evaluates within a second: the alert fires and the hook is told.
        assert webhook.received or _waited(webhook, server), "no notification arrived"
        (hook,) = webhook.received
        assert hook.json["alert"] == "disk-low" and hook.json["state"] == "firing"
        page.reload()
        expect(row.locator("[data-status]")).to_have_text("firing")

        row.get_by_role("button", name="Acknowledge disk-low").click()
        expect(page.get_by_role("status")).to_contain_text("Alert acknowledged")
        expect(row).to_contain_text("acknowledged by user:admin@example.com")

        row.get_by_label("Silence disk-low for").select_option("60")
        row.get_by_role("button", name="Silence disk-low").click()
        expect(row).to_contain_text("silenced until")
        row.get_by_role("button", name="Lift the silence of disk-low").click()
        expect(page.get_by_role("status")).to_contain_text("Silence lifted.")

        row.get_by_role("button", name="Send a test of disk-low").click()
        expect(page.get_by_role("status")).to_contain_text("Test notification queued")
        webhook.wait_for(2, timeout=30)
        assert webhook.received[1].json["test"] is True
        page.reload()
        history = page.locator("#history")
        for kind in ("firing", "acknowledged", "silenced", "unsilenced", "test"):
            expect(history).to_contain_text(kind)
        expect(page.locator("#deliveries")).to_contain_text("sent")

        # A refused form keeps what was typed and says why.
        page.get_by_label("Name", exact=True).fill("no site")
        page.get_by_role("button", name="Add alert").click()
        expect(page.locator("#add-error")).to_be_visible()
        expect(page.get_by_label("Name", exact=True)).to_have_value("no site")

        page.locator("#report-emails").fill("owner@example.org")
        page.get_by_role("button", name="Save report").click()
        expect(page.locator("#reports")).to_contain_text("weekly to owner@example.org")
        screenshot(page, request, "alerts-page")

        row.get_by_role("button", name="Delete disk-low").click()
        expect(page.get_by_role("status")).to_contain_text("Alert deleted.")
    finally:
        server.stop()
    listed = ff(data, "report", "list")
    assert listed.stdout.startswith("example.com\tweekly\towner@example.org\t")


def _waited(webhook: WebhookReceiver, server: ServerProcess) -> bool:
    """Waits for one notification; on failure, shows what the server logged."""
    try:
        webhook.wait_for(1, timeout=60)
    except AssertionError as exc:
        log = server.log.read_text()[-3000:] if server.log else ""
        raise AssertionError(f"{exc}; the server logged:\n{log}") from None
    return True
