"""The alerts page in-process: who may see it, refusals, reports and failed deliveries."""

from __future__ import annotations

from pathlib import Path

from footfall.alerts.model import Channel
from footfall.meta import deliveries
from footfall.meta.alerts import add_rule
from footfall.meta.reports import list_subscriptions
from footfall.meta.users import add_user
from tests.alerts.harness import alert_harness, alert_settings
from tests.alerts.test_traffic_rules import T0
from tests.conftest import PASSWORD, csrf_of, sign_in


def test_the_page_is_for_admins_and_manages_reports_and_deliveries(tmp_path: Path) -> None:
    settings = alert_settings(tmp_path / "data")
    with alert_harness(settings, now=T0) as (harness, services):
        add_user(services.meta, email="admin@example.com", role="admin", password=PASSWORD)
        add_user(services.meta, email="viewer@example.com", role="viewer", password=PASSWORD)
        client = harness.client
        assert client.get("/settings/alerts", follow_redirects=False).status_code == 303
        sign_in(client, "viewer@example.com")
        assert client.get("/settings/alerts").status_code == 404
        client.cookies.clear()
        sign_in(client, "admin@example.com")
        page = client.get("/settings/alerts")
        assert page.status_code == 200 and "No alerts yet." in page.text
        token = csrf_of(page.text)

        refused = client.post(
            "/settings/alerts",
            data={
                "csrf_token": token,
                "name": "x",
                "metric": "visitors",
                "condition": "above",
                "threshold": "one",
                "window": "5",
                "for": "0",
                "renotify": "60",
                "log": "on",
            },
        )
        assert refused.status_code == 400 and "is not a number" in refused.text
        assert client.post("/settings/alerts", data={"name": "x"}).status_code == 403  # no token

        saved = client.post(
            "/settings/alerts/reports",
            data={
                "csrf_token": token,
                "report_site": "example.com",
                "report_period": "monthly",
                "report_emails": "a@example.org; b@example.org",
            },
            follow_redirects=False,
        )
        assert saved.status_code == 303
        (report,) = list_subscriptions(services.meta)
        assert report.recipients == ("a@example.org", "b@example.org")
        assert report.last_sent == "2026-10"  # the first report comes when November ends
        bad = client.post(
            "/settings/alerts/reports",
            data={
                "csrf_token": token,
                "report_site": "example.com",
                "report_period": "weekly",
                "report_emails": "nobody",
            },
        )
        assert bad.status_code == 400 and "not an email address" in bad.text

        rule = add_rule(
            services.meta,
            name="busy",
            site="example.com",
            metric="visitors",
            comparison="above",
            threshold=1,
            window_minutes=5,
            channels=[Channel("webhook", "http://127.0.0.1:9/x")],
        )
        with services.meta.begin() as conn:
            deliveries.enqueue(
                conn,
                subject=rule.name,
                kind="alert",
                channel=rule.channels[0],
                payload={"alert": "busy"},
                now=T0,
            )
        (item,) = deliveries.list_deliveries(services.meta)
        deliveries.record_attempt(
            services.meta, item.id, now=T0, error="HTTP 500", next_attempt_at=None
        )
        page = client.get("/settings/alerts")
        assert 'data-status="failed"' in page.text and "HTTP 500" in page.text
        retried = client.post(
            f"/settings/alerts/deliveries/{item.id}/retry",
            data={"csrf_token": token},
            follow_redirects=False,
        )
        assert retried.status_code == 303
        assert deliveries.list_deliveries(services.meta)[0].status == "pending"
        again = client.post(
            f"/settings/alerts/deliveries/{item.id}/retry", data={"csrf_token": token}
        )
        assert again.status_code == 400

        ack = client.post("/settings/alerts/busy/acknowledge", data={"csrf_token": token})
        assert ack.status_code == 400 and "not firing" in ack.text
        silence = client.post(
            "/settings/alerts/busy/silence", data={"csrf_token": token, "minutes": "x"}
        )
        assert silence.status_code == 400
        missing = client.post("/settings/alerts/nope/delete", data={"csrf_token": token})
        assert missing.status_code == 400

        stopped = client.post(
            "/settings/alerts/reports/delete",
            data={"csrf_token": token, "site": "example.com", "period": "monthly"},
            follow_redirects=False,
        )
        assert stopped.status_code == 303 and list_subscriptions(services.meta) == []
