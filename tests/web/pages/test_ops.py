"""Ops monitoring in-process: the history store, interval timings, slow queries, error groups,
query shapes, and the admin-only ops pages fed by the real sampler.
(The browser test is in test_ops_browser.py.)"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from footfall.meta.keys import create_key
from footfall.meta.users import add_user
from footfall.monitoring.errors import ErrorTracker, location_of, scrub
from footfall.monitoring.history import History
from footfall.monitoring.timings import IntervalTimings, SlowQueries, percentile
from footfall.services import Services, open_meta
from footfall.settings import Settings
from footfall.stats.model import And, Condition, Query
from footfall.stats.shape import query_shape
from footfall.web.app import create_app
from tests.conftest import CHROME_UA, PASSWORD, sign_in

METRICS_TOKEN = "metrics-token-for-the-ops-tests-0123456789"
API_KEY = "ff_" + "A1b2C3d4E5" * 4 + "xyz"

# -- the history store ----------------------------------------------------------------------


def test_history_keeps_fine_samples_for_its_window_and_coarse_means_and_maxima() -> None:
    history = History(interval=10, fine_seconds=100, coarse_step=60, coarse_seconds=600)
    for i in range(30):  # 300 s of samples, values 0..29
        history.add(1_000_020 + i * 10, {"rss": float(i)})
    assert len(history) == 10  # bounded: only the last 100 s
    now = 1_000_020 + 290
    fine = history.samples(now - 50, now)
    assert [s.values["rss"] for s in fine] == [24.0, 25.0, 26.0, 27.0, 28.0, 29.0]
    coarse = history.samples(now - 400, now)
    assert len(coarse) == 5  # 1_000_020 starts a 60-s bucket: six samples in each
    first = coarse[0]
    assert first.values["rss"] == pytest.approx(sum(range(6)) / 6)
    assert first.values["rss:max"] == 5.0
    assert coarse[-1].values["rss:max"] == 29.0


def test_history_drops_non_finite_values_and_backward_steps() -> None:
    history = History(interval=1)
    history.add(100, {"a": 1.0, "b": float("nan"), "c": float("inf")})
    history.add(99, {"a": 2.0})
    assert len(history) == 1
    latest = history.latest()
    assert latest is not None and dict(latest.values) == {"a": 1.0}
    assert history.names() == {"a"}


def test_history_survives_a_restart_through_its_file(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    history = History(interval=10, fine_seconds=3600)
    now = time.time()
    for i in range(5):
        history.add(now - 50 + i * 10, {"rss_bytes": 100.0 + i})
    history.dump(path)
    restored = History(interval=10, fine_seconds=3600)
    assert restored.load(path, now=now + 5) == 5
    assert [s.values["rss_bytes"] for s in restored.samples(now - 3600, now)] == [
        100.0,
        101.0,
        102.0,
        103.0,
        104.0,
    ]
    # Samples older than the fine window are not brought back.
    assert History(interval=10, fine_seconds=20).load(path, now=now) == 2


@pytest.mark.parametrize("content", ["", "not json", "[]", '{"format": 99}', '{"format": 1}'])
def test_a_bad_history_file_is_ignored(tmp_path: Path, content: str) -> None:
    path = tmp_path / "history.json"
    path.write_text(content)
    history = History()
    assert history.load(path, now=time.time()) == 0
    assert history.load(tmp_path / "missing.json", now=time.time()) == 0


# -- interval timings and slow queries ------------------------------------------------------


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([], 0.5) == 0.0


def test_interval_timings_summarise_and_reset() -> None:
    timings = IntervalTimings()
    for ms in range(1, 101):
        timings.record("/a", ms / 1000, 200)
    timings.record("/a", 0.5, 404)
    timings.record("/a", 0.2, 503)
    summary = timings.drain()["/a"]
    assert summary.count == 102
    assert (summary.client_errors, summary.server_errors) == (1, 1)
    assert summary.p50 == pytest.approx(0.051)
    assert summary.max == 0.5
    assert timings.drain() == {}


def test_interval_timings_stay_bounded() -> None:
    timings = IntervalTimings(reservoir_size=50, max_keys=3, rng=random.Random(1))
    for i in range(10_000):
        timings.record(f"/r{i % 5}", i / 10_000)
    summaries = timings.drain()
    assert set(summaries) == {"/r0", "/r1", "/r2", "other"}
    assert summaries["other"].count == 4000
    # A uniform sample of 0..1 keeps its median near 0.5 with 50 values kept.
    assert 0.3 < summaries["/r0"].p50 < 0.7
    assert summaries["/r0"].max == pytest.approx(0.9995)


def test_slow_queries_keep_the_slowest_of_the_window() -> None:
    now = [1000.0]
    slow = SlowQueries(keep=3, window_seconds=100, clock=lambda: now[0])
    for ms in (5, 50, 1, 30, 40, 2):
        slow.record("/api/v1/stats/aggregate", f"shape{ms}", ms / 1000)
    assert [q.shape for q in slow.slowest()] == ["shape50", "shape40", "shape30"]
    now[0] += 101
    slow.record("/x", "late", 0.001)
    assert [q.shape for q in slow.slowest()] == ["late"]


# -- error groups -----------------------------------------------------------------------------


def _raise(message: str) -> BaseException:
    try:
        raise ValueError(message)
    except ValueError as exc:
        return exc


def test_errors_are_grouped_by_type_and_location_and_scrubbed() -> None:
    now = [100.0]
    tracker = ErrorTracker(clock=lambda: now[0])
    first = tracker.record(_raise("boom"), route="/a", error_id="e1")
    now[0] = 200.0
    secret = f"key {API_KEY} password=hunter2 from 203.0.113.9 postgresql://u:pw@db/x"
    second = tracker.record(_raise(secret), route="/b", error_id="e2")
    assert first.location == second.location
    assert second.location.startswith("tests/web/pages/test_ops.py:")
    assert "in _raise" in second.location
    groups = tracker.groups()
    assert len(groups) == 1
    group = groups[0]
    assert (group.count, group.first_seen, group.last_seen) == (2, 100.0, 200.0)
    assert (group.last_route, group.last_error_id) == ("/b", "e2")
    assert group.error_type == "builtins.ValueError"
    for leaked in (API_KEY, "hunter2", "203.0.113.9", ":pw@"):
        assert leaked not in group.last_traceback
        assert leaked not in group.last_message
    assert "Traceback" in group.last_traceback


def test_error_groups_are_bounded() -> None:
    tracker = ErrorTracker(max_groups=2)
    errors: list[BaseException] = []
    for cls in (KeyError, TypeError, OSError):
        try:
            raise cls("x")
        except Exception as exc:
            errors.append(exc)
    for exc in errors:
        tracker.record(exc, route="/", error_id="x")
    assert [g.error_type for g in tracker.groups()] == ["builtins.OSError", "builtins.TypeError"]
    assert (tracker.total, tracker.evictions) == (3, 1)


def test_scrub_masks_ipv6_bearer_and_secret_names() -> None:
    text = scrub("from 2001:db8::1:2:3 Authorization: Bearer abc.def token='t0k' x=1 at 10:00:00")
    assert "2001:db8" not in text and "abc.def" not in text and "t0k" not in text
    assert "x=1" in text and "10:00:00" in text
    assert location_of(Exception("never raised")) == "unknown"


# -- query shapes ---------------------------------------------------------------------------


def test_query_shape_names_the_question_without_its_values() -> None:
    query = Query(
        site_id=7,
        timezone="UTC",
        start=dt.datetime(2026, 11, 1),
        end=dt.datetime(2026, 11, 30, 23, 59, 59),
        metrics=("visitors", "pageviews"),
        filters=(
            And(
                (
                    Condition("is", "visit:source", ("Google",)),
                    Condition("contains", "event:props:secret_plan", ("pro",)),
                )
            ),
        ),
        dimensions=("event:page",),
    )
    shape = query_shape(query)
    assert shape == (
        "metrics=visitors,pageviews; dimensions=event:page; "
        "filters=event:props:* contains, visit:source is; range=30d"
    )
    hour = query_shape(
        Query(7, "UTC", dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 1, 0, 30), ("visits",))
    )
    assert hour == "metrics=visits; range=30min"


# -- the pages, with the real sampler --------------------------------------------------------


async def _boom(request: Request) -> Response:
    raise RuntimeError(f"deliberate failure with {API_KEY}")


@pytest.fixture
def ops_client(settings: Settings) -> Iterator[TestClient]:
    fast = settings.replace(
        ops_sample_seconds=0.05, login_rate_limit="", metrics_token=METRICS_TOKEN
    )
    meta = open_meta(fast)
    add_user(meta, email="admin@example.com", role="admin", password=PASSWORD)
    add_user(meta, email="viewer@example.com", role="viewer", password=PASSWORD)
    _, key = create_key(meta, name="reader", scopes=("stats:read",))
    meta.dispose()
    app = create_app(fast)
    app.router.routes.append(Route("/boom", _boom))
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["x-test-key"] = key
        yield client


def _wait_for_samples(client: TestClient, count: int) -> Services:
    state: Services = client.app.state.footfall  # type: ignore[attr-defined]
    seen = len(state.history)
    deadline = time.monotonic() + 10
    while len(state.history) < seen + count:
        assert time.monotonic() < deadline, "the sampler did not run"
        time.sleep(0.02)
    return state


def test_ops_pages_are_for_admins_only(ops_client: TestClient) -> None:
    assert ops_client.get("/ops/performance", follow_redirects=False).status_code == 303
    sign_in(ops_client, "viewer@example.com")
    assert ops_client.get("/ops/performance").status_code == 404
    assert ops_client.get("/ops/resources").status_code == 404
    sign_in(ops_client, "admin@example.com")
    assert ops_client.get("/ops/nothing").status_code == 404
    assert ops_client.get("/ops", follow_redirects=False).headers["location"] == "/ops/performance"


def test_ops_dashboards_show_sampled_traffic_queries_and_errors(ops_client: TestClient) -> None:
    key = ops_client.headers["x-test-key"]
    for i in range(5):
        ops_client.post(
            "/api/event",
            json={"name": "pageview", "url": f"https://example.com/p{i}", "domain": "example.com"},
            headers={"user-agent": CHROME_UA, "x-forwarded-for": f"8.8.8.{i}"},
        )
    stats = ops_client.get(
        "/api/v1/stats/aggregate",
        params={"site_id": "example.com", "period": "30d", "metrics": "visitors"},
        headers={"authorization": f"Bearer {key}"},
    )
    assert stats.status_code == 200
    assert ops_client.get("/boom").status_code == 500
    state = _wait_for_samples(ops_client, 2)

    sign_in(ops_client, "admin@example.com")
    performance = ops_client.get("/ops/performance?range=1h")
    assert performance.status_code == 200
    assert performance.headers["cache-control"] == "no-store"
    html = performance.text
    assert "Latency of /api/v1/stats/aggregate" in html
    routes = html[html.index('id="ops-routes"') :]
    assert "<code>/api/v1/stats/aggregate</code>" in routes
    slow = html[html.index('id="ops-slow-queries"') :]
    assert "metrics=visitors; range=" in slow
    assert "/api/v1/stats/aggregate" in slow

    resources = ops_client.get("/ops/resources?range=6h").text
    assert "Resident memory (RSS)" in resources
    assert "no leak suspected" in resources
    assert resources.count("<svg") >= 8

    errors = ops_client.get("/ops/errors?range=24h").text
    exceptions = errors[errors.index('id="ops-exceptions"') :]
    assert "builtins.RuntimeError" in exceptions
    assert "tests/web/pages/test_ops.py:" in exceptions and "in _boom" in exceptions
    assert API_KEY not in errors
    by_route = errors[errors.index('id="ops-error-routes"') :]
    assert "<code>/boom</code>" in by_route

    values = [s.values for s in state.history.samples(0, time.time())]
    assert any(v.get("errors_5xx_per_s:/boom", 0) > 0 for v in values)
    assert all(v["rss_bytes"] > 0 for v in values)
    assert any("query_p95_ms:/api/v1/stats/aggregate" in v for v in values)

    metrics = ops_client.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"}).text
    assert 'footfall_unhandled_errors_total{type="RuntimeError"} 1.0' in metrics
    assert 'footfall_query_duration_seconds_count{endpoint="/api/v1/stats/aggregate"}' in metrics


def test_history_is_written_at_shutdown_and_read_at_start(settings: Settings) -> None:
    fast = settings.replace(ops_sample_seconds=0.05)
    with TestClient(create_app(fast)) as client:
        _wait_for_samples(client, 2)
    saved = json.loads((fast.data_dir / "ops-history.json").read_text())
    assert len(saved["fine"]) >= 2
    with TestClient(create_app(fast)) as client:
        state: Services = client.app.state.footfall  # type: ignore[attr-defined]
        assert len(state.history) >= len(saved["fine"])
