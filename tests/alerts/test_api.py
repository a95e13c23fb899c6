"""The alerts admin API over the app in-process."""

from __future__ import annotations

from pathlib import Path

from footfall.meta.audit import list_entries
from footfall.meta.keys import create_key
from tests.alerts.harness import alert_harness, alert_settings
from tests.alerts.receivers import WebhookReceiver
from tests.alerts.test_traffic_rules import T0, minutes


def test_rules_are_managed_over_the_api(tmp_path: Path, webhook: WebhookReceiver) -> None:
    settings = alert_settings(tmp_path / "data")
    with alert_harness(settings, now=T0) as (harness, services):
        admin = create_key(services.meta, name="ops", scopes=("admin",))[1]
        auth = {"authorization": f"Bearer {admin}"}
        client = harness.client
        assert (
            client.get(
                "/api/v1/alerts", headers={"authorization": f"Bearer {harness.key}"}
            ).status_code
            == 401
        )
        body = {
            "name": "busy",
            "site_id": "example.com",
            "metric": "visitors",
            "window": 10,
            "above": 0,
            "channels": [{"kind": "webhook", "target": webhook.url + "/secret-path"}],
        }
        created = client.post("/api/v1/alerts", json=body, headers=auth)
        assert created.status_code == 201, created.text
        alert = created.json()["alert"]
        assert alert["name"] == "busy" and alert["status"] == "ok" and alert["threshold"] == 0
        assert "secret-path" not in created.text
        assert client.post("/api/v1/alerts", json=body, headers=auth).status_code == 400
        missing = client.post(
            "/api/v1/alerts", json={**body, "name": "x", "site_id": "nope.example"}, headers=auth
        )
        assert missing.status_code == 404
        assert (
            client.post(
                "/api/v1/alerts", json={**body, "name": "y", "above": "1"}, headers=auth
            ).status_code
            == 400
        )
        assert [a["name"] for a in client.get("/api/v1/alerts", headers=auth).json()["alerts"]] == [
            "busy"
        ]

        harness.send(T0, "/", ip="81.2.69.1")
        harness.flush(minutes(1))
        services.alerting().run_round()
        (hook,) = webhook.wait_for(1)
        assert hook.json["state"] == "firing"
        assert (
            client.post("/api/v1/alerts/busy/acknowledge", headers=auth).json()["alert"][
                "acknowledged_by"
            ]
            == "key:ops"
        )
        silenced = client.post("/api/v1/alerts/busy/silence", json={"minutes": 30}, headers=auth)
        assert silenced.json()["alert"]["silenced_until"] == "2026-11-02T10:31:00Z"
        lifted = client.post("/api/v1/alerts/busy/silence", json={"lift": True}, headers=auth)
        assert lifted.json()["alert"]["silenced_until"] is None
        detail = client.get("/api/v1/alerts/busy", headers=auth).json()
        assert [h["kind"] for h in detail["history"]][:3] == [
            "unsilenced",
            "silenced",
            "acknowledged",
        ]
        assert detail["history"][0]["actor"] == "key:ops"

        queued = client.post("/api/v1/alerts/busy/test", headers=auth)
        assert queued.status_code == 202
        services.alerting().deliver()
        assert webhook.wait_for(2)[1].json["test"] is True
        sent = client.get("/api/v1/alerts/deliveries?status=sent", headers=auth).json()[
            "deliveries"
        ]
        assert len(sent) == 2 and all("secret-path" not in d["channel"] for d in sent)

        assert client.delete("/api/v1/alerts/busy", headers=auth).json() == {"deleted": True}
        assert client.get("/api/v1/alerts/busy", headers=auth).status_code == 404
        assert client.post("/api/v1/alerts/busy/acknowledge", headers=auth).status_code == 404
        actions = {e.action for e in list_entries(services.meta)}
        assert {"alert.add", "alert.acknowledge", "alert.silence", "alert.delete"} <= actions


def test_the_api_refuses_what_it_cannot_use(tmp_path: Path) -> None:
    settings = alert_settings(tmp_path / "data")
    with alert_harness(settings, now=T0) as (harness, services):
        admin = create_key(services.meta, name="ops", scopes=("admin",))[1]
        auth = {"authorization": f"Bearer {admin}"}
        client = harness.client
        hook = [{"kind": "log"}]
        cases = [
            (b"not json", "not valid JSON"),
            (b"[1]", "must be a JSON object"),
            (b'{"name": "x"}', "are required"),
            (
                b'{"name": "x", "metric": "visitors", "above": 1, "below": 2, "channels": []}',
                "only one",
            ),
            (b'{"name": "x", "metric": "visitors", "channels": []}', "give a condition"),
            (
                b'{"name": "x", "metric": "ops:rss", "above": true, "channels": []}',
                "must be a number",
            ),
            (
                b'{"name": "x", "metric": "ops:rss", "above": 1, "channels": "log"}',
                "must be a list",
            ),
            (
                b'{"name": "x", "metric": "ops:rss", "above": 1, "channels": [1]}',
                "`kind` and `target`",
            ),
            (
                b'{"name": "x", "metric": "ops:rss", "above": 1, "window": 1.5, "channels": []}',
                "whole number",
            ),
            (b'{"name": 1, "metric": "ops:rss"}', "must be a string"),
        ]
        for body, message in cases:
            answer = client.post("/api/v1/alerts", content=body, headers=auth)
            assert answer.status_code == 400 and message in answer.json()["error"], body
        ready = client.post(
            "/api/v1/alerts",
            json={"name": "ready", "metric": "ops:ready", "channels": hook},
            headers=auth,
        )
        assert ready.status_code == 201 and ready.json()["alert"]["comparison"] == "below"
        assert client.post("/api/v1/alerts/ready/acknowledge", headers=auth).status_code == 409
        for body in ({}, {"minutes": 0}, {"until": "yesterday"}, {"until": "2020-01-01"}):
            answer = client.post("/api/v1/alerts/ready/silence", json=body, headers=auth)
            assert answer.status_code == 400, body
        until = client.post(
            "/api/v1/alerts/ready/silence", json={"until": "2026-11-03"}, headers=auth
        )
        assert until.json()["alert"]["silenced_until"] == "2026-11-03T00:00:00Z"
        assert client.get("/api/v1/alerts/ready?limit=0", headers=auth).status_code == 400
        assert client.get("/api/v1/alerts/deliveries?status=lost", headers=auth).status_code == 400
        assert client.get("/api/v1/alerts/deliveries?limit=x", headers=auth).status_code == 400
        assert client.post("/api/v1/alerts/nope/test", headers=auth).status_code == 404
        assert (
            client.post(
                "/api/v1/alerts/nope/silence", json={"lift": True}, headers=auth
            ).status_code
            == 404
        )
        assert client.delete("/api/v1/alerts/nope", headers=auth).status_code == 404
