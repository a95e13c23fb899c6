"""Traffic rules on data sent through the real ingest pipeline, evaluated on a frozen clock."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path

from footfall.alerts.model import Channel
from footfall.meta.alerts import add_rule, list_history, rule_views
from footfall.meta.deliveries import list_deliveries
from footfall.meta.goals import add_goal
from tests.alerts.harness import SECRET, alert_harness, alert_settings
from tests.alerts.receivers import SmtpReceiver, WebhookReceiver

T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)


def minutes(n: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


def status_of(services: object, name: str) -> str:
    views = {v.rule.name: v for v in rule_views(services.meta)}  # type: ignore[attr-defined]
    return views[name].state.status


def test_a_visitors_rule_goes_pending_fires_once_and_resolves(
    tmp_path: Path, webhook: WebhookReceiver, smtp: SmtpReceiver
) -> None:
    settings = alert_settings(tmp_path / "data", smtp_port=smtp.port)
    with alert_harness(settings, now=T0) as (harness, services):
        add_rule(
            services.meta,
            name="busy",
            site="example.com",
            metric="visitors",
            comparison="above",
            threshold=2,
            window_minutes=10,
            for_minutes=5,
            channels=[
                Channel("webhook", webhook.url + "/hook"),
                Channel("email", "ops@example.org"),
            ],
        )
        for n in range(3):
            harness.send(T0, f"/p{n}", ip=f"81.2.69.{n + 1}")
        harness.flush(minutes(1))
        alerting = services.alerting()

        report = alerting.run_round()
        assert report.evaluated == 1 and report.queued == 0
        assert status_of(services, "busy") == "pending"

        harness.clock.set(minutes(6))
        report = alerting.run_round()
        assert report.fired == 1 and report.queued == 2
        assert report.sent.sent == 2
        (hook,) = webhook.wait_for(1)
        assert hook.path == "/hook"
        assert hook.headers["content-type"] == "application/json"
        body = hook.json
        assert body["alert"] == "busy" and body["state"] == "firing"
        assert body["site"] == "example.com" and body["metric"] == "visitors"
        assert body["value"] == 3 and body["threshold"] == 2
        assert body["at"] == "2026-11-02T10:06:00Z"
        stamp = hook.headers["x-footfall-timestamp"]
        expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + hook.body, hashlib.sha256)
        assert hook.headers["x-footfall-signature"] == "sha256=" + expected.hexdigest()
        (mail,) = smtp.wait_for(1)
        assert mail.recipients == ["ops@example.org"]
        assert "FIRING: busy on example.com" in mail.subject

        # Still firing a minute later: not sent again inside the re-notify interval.
        harness.clock.set(minutes(7))
        assert alerting.run_round().queued == 0
        assert len(webhook.received) == 1

        # The visits leave the window: resolved, and told.
        harness.clock.set(minutes(12))
        report = alerting.run_round()
        assert report.resolved == 1
        hooks = webhook.wait_for(2)
        assert hooks[1].json["state"] == "resolved" and hooks[1].json["value"] == 0
        assert status_of(services, "busy") == "ok"
        kinds = [e.kind for e in reversed(list_history(services.meta, rule="busy"))]
        assert kinds == ["pending", "firing", "notified", "resolved", "notified"]
        assert {d.status for d in list_deliveries(services.meta)} == {"sent"}


def test_a_goal_rule_counts_only_its_conversions(tmp_path: Path, webhook: WebhookReceiver) -> None:
    settings = alert_settings(tmp_path / "data")
    with alert_harness(settings, now=T0) as (harness, services):
        site_id = services.sites.site_id_for("example.com")
        assert site_id is not None
        add_goal(services.meta, site_id, event_name="Signup")
        add_rule(
            services.meta,
            name="signups",
            site="example.com",
            metric="events",
            comparison="above",
            threshold=1,
            window_minutes=30,
            goal="Signup",
            channels=[Channel("webhook", webhook.url)],
        )
        harness.send(T0, "/", ip="81.2.69.1")
        harness.send(T0, "/", ip="81.2.69.2")
        harness.send(T0, "/join", ip="81.2.69.1", name="Signup")
        harness.flush(minutes(1))
        alerting = services.alerting()
        alerting.run_round()
        assert status_of(services, "signups") == "ok"  # one conversion among three events
        harness.send(minutes(1), "/join", ip="81.2.69.2", name="Signup")
        harness.flush(minutes(2))
        alerting.run_round()
        (hook,) = webhook.wait_for(1)
        assert hook.json["value"] == 2 and hook.json["metric"] == "events"


def test_spike_and_drop_compare_with_the_same_window_a_week_earlier(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    settings = alert_settings(tmp_path / "data")
    week = dt.timedelta(days=7)
    with alert_harness(settings, now=T0 - week) as (harness, services):
        for name, comparison in (("spike", "spike"), ("drop", "drop")):
            add_rule(
                services.meta,
                name=name,
                site="example.com",
                metric="pageviews",
                comparison=comparison,
                threshold=50,
                window_minutes=60,
                channels=[Channel("webhook", webhook.url)],
            )
        for n in range(4):  # a week earlier: 4 pageviews
            harness.send(T0 - week, f"/a{n}", ip=f"81.2.69.{n + 1}")
        harness.send(T0, "/now", ip="81.2.69.9")  # now: 1 pageview, a drop of 75 %
        harness.flush(minutes(1))
        alerting = services.alerting()
        alerting.run_round()
        assert status_of(services, "drop") == "firing"
        assert status_of(services, "spike") == "ok"
        (hook,) = webhook.wait_for(1)
        assert hook.json["alert"] == "drop" and hook.json["value"] == -75
        assert hook.json["baseline"] == 4
        for n in range(7):  # now 8 pageviews: a spike of 100 %, and the drop is over
            harness.send(minutes(2), f"/b{n}", ip=f"81.2.69.{n + 20}")
        harness.flush(minutes(3))
        alerting.run_round()
        assert status_of(services, "spike") == "firing"
        assert status_of(services, "drop") == "ok"
        states = sorted((h.json["alert"], h.json["state"]) for h in webhook.wait_for(3))
        assert states == [("drop", "firing"), ("drop", "resolved"), ("spike", "firing")]


def test_ingest_stalled_fires_on_silence_where_there_usually_is_traffic(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    settings = alert_settings(tmp_path / "data")
    week = dt.timedelta(days=7)
    with alert_harness(settings, now=T0 - week) as (harness, services):
        add_rule(
            services.meta,
            name="stalled",
            site="example.com",
            metric="ops:ingest_stalled",
            comparison="stalled",
            threshold=1,
            window_minutes=30,
            channels=[Channel("webhook", webhook.url)],
        )
        harness.send(T0 - week - dt.timedelta(minutes=10), "/", ip="81.2.69.1")
        harness.flush(T0)
        alerting = services.alerting()
        alerting.run_round()
        assert status_of(services, "stalled") == "firing"
        harness.send(minutes(1), "/", ip="81.2.69.2")
        harness.flush(minutes(2))
        alerting.run_round()
        assert status_of(services, "stalled") == "ok"
        states = [h.json["state"] for h in webhook.wait_for(2)]
        assert states == ["firing", "resolved"]


def test_a_rule_on_a_deleted_goal_has_no_value_and_keeps_its_state(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    from footfall.meta.goals import delete_goal

    settings = alert_settings(tmp_path / "data")
    with alert_harness(settings, now=T0) as (_, services):
        site_id = services.sites.site_id_for("example.com")
        assert site_id is not None
        goal = add_goal(services.meta, site_id, event_name="Signup")
        add_rule(
            services.meta,
            name="few",
            site="example.com",
            metric="visitors",
            comparison="below",
            threshold=1,
            window_minutes=30,
            goal="Signup",
            channels=[Channel("webhook", webhook.url)],
        )
        alerting = services.alerting()
        alerting.run_round()
        assert status_of(services, "few") == "firing"
        delete_goal(services.meta, site_id, goal.id)
        report = alerting.run_round()
        assert report.errors == 1
        (view,) = rule_views(services.meta)
        assert view.state.status == "firing" and view.error
