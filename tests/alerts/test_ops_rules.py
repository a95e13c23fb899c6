"""Ops rules: footfall's own figures, from the sampled history and the live process."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest

from footfall.alerts.measure import OpsSource
from footfall.alerts.model import Channel
from footfall.meta.alerts import add_rule, rule_views
from footfall.monitoring.history import History
from footfall.monitoring.sampler import OpsSampler
from tests.alerts.harness import alert_harness, alert_settings
from tests.alerts.receivers import WebhookReceiver

T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
MIB = 1024 * 1024


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


# (metric, condition, threshold, route, figures while breaching, figures once recovered)
HISTORY_CASES: list[tuple[str, str, float, str | None, dict[str, float], dict[str, float]]] = [
    (
        "ops:p95_latency",
        "above",
        500,
        "/api/v1/stats/aggregate",
        {"p95_ms:/api/v1/stats/aggregate": 900.0, "p95_ms:/healthz": 1.0},
        {"p95_ms:/api/v1/stats/aggregate": 40.0, "p95_ms:/healthz": 1.0},
    ),
    (
        "ops:p95_latency",
        "above",
        500,
        None,
        {"p95_ms:/sites/{domain}": 700.0, "p95_ms:/healthz": 1.0},
        {"p95_ms:/sites/{domain}": 70.0, "p95_ms:/healthz": 1.0},
    ),
    (
        "ops:5xx_rate",
        "above",
        5,
        None,
        {"requests_per_s": 10.0, "errors_5xx_per_s": 2.0},
        {"requests_per_s": 10.0, "errors_5xx_per_s": 0.0},
    ),
    ("ops:rss", "above", 400, None, {"rss_bytes": 600.0 * MIB}, {"rss_bytes": 200.0 * MIB}),
    ("ops:queue_depth", "above", 1000, None, {"queue_depth": 5000.0}, {"queue_depth": 3.0}),
    ("ops:memory_leak", "above", 0, None, {"leak_suspected": 1.0}, {"leak_suspected": 0.0}),
]


@pytest.mark.parametrize(
    ("metric", "comparison", "threshold", "route", "bad", "good"), HISTORY_CASES
)
def test_history_rules_fire_and_resolve(
    tmp_path: Path,
    webhook: WebhookReceiver,
    metric: str,
    comparison: str,
    threshold: float,
    route: str | None,
    bad: dict[str, float],
    good: dict[str, float],
) -> None:
    settings = alert_settings(tmp_path / "data")
    with alert_harness(settings, now=T0) as (harness, services):
        add_rule(
            services.meta,
            name="ops",
            metric=metric,
            comparison=comparison,
            threshold=threshold,
            window_minutes=2,
            for_minutes=1,
            route=route,
            channels=[Channel("webhook", webhook.url)],
        )
        # The command line's view: only the sampled history (queue depth and leaks too). A
        # history of its own: the serving process samples itself on the real clock meanwhile.
        history = History(interval=10)
        base = services.alerting()
        ops = dataclasses.replace(
            base.ops, samples=history.samples, queue_depth=None, leak_suspected=None
        )
        alerting = dataclasses.replace(base, ops=ops)
        for second in range(0, 180, 10):  # breaching for three minutes
            history.add(at(second / 60).timestamp(), bad)
        harness.clock.set(at(2))
        alerting.run_round()
        assert rule_views(services.meta)[0].state.status == "pending"
        harness.clock.set(at(3))
        alerting.run_round()
        assert rule_views(services.meta)[0].state.status == "firing"
        for second in range(180, 360, 10):  # then fine
            history.add(at(second / 60).timestamp(), good)
        harness.clock.set(at(6))
        alerting.run_round()
        assert rule_views(services.meta)[0].state.status == "ok"
        states = [h.json["state"] for h in webhook.wait_for(2)]
        assert states == ["firing", "resolved"]
        assert webhook.received[0].json["metric"] == metric


def test_stale_history_is_no_value(tmp_path: Path, webhook: WebhookReceiver) -> None:
    settings = alert_settings(tmp_path / "data")
    with alert_harness(settings, now=T0) as (harness, services):
        add_rule(
            services.meta,
            name="rss",
            metric="ops:rss",
            comparison="above",
            threshold=1,
            window_minutes=5,
            channels=[Channel("webhook", webhook.url)],
        )
        history = History(interval=10)
        history.add(at(0).timestamp(), {"rss_bytes": 900.0 * MIB})
        harness.clock.set(at(30))
        base = services.alerting()
        alerting = dataclasses.replace(
            base, ops=dataclasses.replace(base.ops, samples=history.samples)
        )
        report = alerting.run_round()
        assert report.errors == 1
        (view,) = rule_views(services.meta)
        assert view.state.status == "ok" and "no figure" in (view.error or "")


# (metric, condition, threshold, live figures while breaching, once recovered)
LIVE_CASES: list[tuple[str, str, float, dict[str, Any], dict[str, Any]]] = [
    ("ops:disk_free", "below", 500, {"disk": 100 * MIB}, {"disk": 900 * MIB}),
    ("ops:ready", "below", 1, {"ready": False}, {"ready": True}),
    ("ops:queue_depth", "above", 1000, {"queue": 4000}, {"queue": 0}),
    ("ops:memory_leak", "above", 0, {"leak": True}, {"leak": False}),
]


@pytest.mark.parametrize(("metric", "comparison", "threshold", "bad", "good"), LIVE_CASES)
def test_live_rules_fire_and_resolve(
    tmp_path: Path,
    webhook: WebhookReceiver,
    metric: str,
    comparison: str,
    threshold: float,
    bad: dict[str, Any],
    good: dict[str, Any],
) -> None:
    settings = alert_settings(tmp_path / "data")
    figures: dict[str, Any] = {"disk": 900 * MIB, "ready": True, "queue": 0, "leak": False}
    with alert_harness(settings, now=T0) as (harness, services):
        add_rule(
            services.meta,
            name="live",
            metric=metric,
            comparison=comparison,
            threshold=threshold,
            window_minutes=5,
            channels=[Channel("webhook", webhook.url)],
        )
        source = OpsSource(
            samples=History(interval=10).samples,
            disk_free=lambda: figures["disk"],
            ready=lambda: figures["ready"],
            queue_depth=lambda: figures["queue"],
            leak_suspected=lambda: figures["leak"],
        )
        alerting = dataclasses.replace(services.alerting(), ops=source)
        figures.update(bad)
        alerting.run_round()
        harness.clock.set(at(1))
        figures.update(good)
        alerting.run_round()
        assert [h.json["state"] for h in webhook.wait_for(2)] == ["firing", "resolved"]


def test_a_serving_process_measures_its_real_figures(tmp_path: Path) -> None:
    # The process's own sampler must not drain the request timings before this test does.
    settings = alert_settings(tmp_path / "data", ops_sample_seconds=300.0)
    with alert_harness(settings, now=T0) as (harness, services):
        for name, comparison in (
            ("ready", "below"),
            ("disk_free", "below"),
            ("queue_depth", "above"),
            ("memory_leak", "above"),
            ("p95_latency", "above"),
        ):
            add_rule(
                services.meta,
                name=name,
                metric=f"ops:{name}",
                comparison=comparison,
                threshold=1,
                window_minutes=5,
                channels=[Channel("log")],
            )
        # The real sampler turns the requests into the figures ops rules read.
        sampler = OpsSampler(services.sampled_figures())
        sampler.sample(time.monotonic() - 10)
        for _ in range(5):
            assert harness.client.get("/healthz").status_code == 200
        values = sampler.sample(time.monotonic())
        history = History(interval=10)
        history.add(T0.timestamp(), values)
        base = services.alerting()
        alerting = dataclasses.replace(
            base, ops=dataclasses.replace(base.ops, samples=history.samples)
        )
        measured = {
            view.rule.name: alerting.measure(view.rule, T0).value
            for view in rule_views(services.meta)
        }
        assert measured["ready"] == 1.0
        assert measured["disk_free"] is not None and measured["disk_free"] > 0
        assert measured["queue_depth"] == 0.0
        assert measured["memory_leak"] == 0.0
        assert measured["p95_latency"] is not None and measured["p95_latency"] >= 0
