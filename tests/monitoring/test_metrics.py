"""`GET /metrics`: the exposition parses, counts what happened, is documented and is guarded."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.settings import Settings
from footfall.web.app import create_app
from tests import ROOT
from tests.conftest import CHROME_UA

DOCS = ROOT / "docs" / "metrics.md"
TOKEN = "scrape-token-0123456789abcdef"
SECRET_KEY = "a-secret-key-that-is-long-enough-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def open_client(settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    """The app with /metrics open to the test client (token given on every request)."""
    guarded = settings.replace(metrics_token=TOKEN, secret_key=SECRET_KEY)
    with TestClient(create_app(guarded, clock=clock), headers=AUTH) as test_client:
        yield test_client


def scrape(client: TestClient) -> dict[str, list[Sample]]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {f.name: f.samples for f in text_string_to_metric_families(response.text)}


def value(families: dict[str, list[Sample]], name: str, **labels: str) -> float:
    return sum(
        s.value
        for samples in families.values()
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def post_event(client: TestClient, domain: str) -> None:
    response = client.post(
        "/api/event",
        content=orjson.dumps({"n": "pageview", "u": f"https://{domain}/", "d": domain}),
        headers={
            "content-type": "application/json",
            "user-agent": CHROME_UA,
            "x-forwarded-for": "81.2.69.142",
        },
    )
    assert response.status_code == 202, response.text


def test_requests_are_counted_by_route_template(open_client: TestClient) -> None:
    before = scrape(open_client)
    assert open_client.get("/healthz").status_code == 200
    assert open_client.get("/no/such/page").status_code == 404
    after = scrape(open_client)
    labels = {"method": "GET", "route": "/healthz", "status": "200"}
    assert value(after, "footfall_http_requests_total", **labels) == (
        value(before, "footfall_http_requests_total", **labels) + 1
    )
    other = {"method": "GET", "route": "other", "status": "404"}
    assert value(after, "footfall_http_requests_total", **other) >= 1
    timed = {"method": "GET", "route": "/healthz"}
    assert value(after, "footfall_http_request_duration_seconds_count", **timed) >= 1
    routes = {
        s.labels["route"] for s in after["footfall_http_requests"] if s.name.endswith("_total")
    }
    assert "/no/such/page" not in routes


def test_a_route_with_parameters_is_labelled_by_its_template(open_client: TestClient) -> None:
    open_client.get("/api/v1/sites/goals/123", headers={"Authorization": "Bearer nope"})
    families = scrape(open_client)
    assert value(families, "footfall_http_requests_total", route="/api/v1/sites/goals/{goal_id}")
    routes = {s.labels.get("route") for s in families["footfall_http_requests"]}
    assert "/api/v1/sites/goals/123" not in routes


def test_ingest_counts_accepted_and_dropped_events(open_client: TestClient) -> None:
    before = scrape(open_client)
    post_event(open_client, "example.com")
    post_event(open_client, "unknown.example")
    after = scrape(open_client)
    for name, labels, delta in (
        ("footfall_ingest_requests_total", {"method": "POST"}, 2),
        ("footfall_events_accepted_total", {}, 1),
        ("footfall_events_dropped_total", {"reason": "not_found"}, 1),
        ("footfall_events_dropped_total", {"reason": "bot"}, 0),
    ):
        assert value(after, name, **labels) - value(before, name, **labels) == delta, name
    assert value(after, "footfall_writer_journal_commits_total") >= 1
    assert "footfall_writer_queue_depth" in after
    assert "footfall_writer_failures" in after


def test_cache_storage_and_process_metrics_appear(open_client: TestClient) -> None:
    families = scrape(open_client)
    for name in (
        "footfall_query_cache_hits",
        "footfall_query_cache_misses",
        "footfall_query_cache_errors",
        "footfall_query_cache_evictions",
        "process_resident_memory_bytes",
        "process_cpu_seconds",
        "process_open_fds",
        "footfall_process_threads",
        "python_gc_collections",
        "python_info",
    ):
        assert name in families, name
    assert value(families, "footfall_storage_file_bytes", file="events") > 0
    assert value(families, "footfall_storage_file_bytes", file="metadata") > 0
    assert value(families, "footfall_data_dir_free_bytes") > 0
    generations = {s.labels["generation"] for s in families["python_gc_collections"]}
    assert generations == {"0", "1", "2"}


def test_every_exposed_family_is_documented(open_client: TestClient) -> None:
    documented = DOCS.read_text()
    open_client.get("/healthz")
    for name in scrape(open_client):
        family = name.removesuffix("_created")  # prometheus-client's companion series
        assert f"`{family}`" in documented or f"`{family}_total`" in documented, family


def test_no_secret_reaches_the_exposition(open_client: TestClient) -> None:
    text = open_client.get("/metrics").text
    assert TOKEN not in text
    assert SECRET_KEY not in text


def test_a_peer_outside_the_allowlist_without_a_token_is_refused(client: TestClient) -> None:
    response = client.get("/metrics")  # the test client's peer is "testclient", not an address
    assert response.status_code == 403
    assert "footfall_" not in response.text


def test_the_token_opens_metrics_and_a_wrong_one_is_refused(
    settings: Settings, clock: FixedClock
) -> None:
    app = create_app(settings.replace(metrics_token=TOKEN), clock=clock)
    with TestClient(app) as test_client:
        assert test_client.get("/metrics", headers=AUTH).status_code == 200
        for headers in ({"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {}):
            response = test_client.get("/metrics", headers=headers)
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == "Bearer"


def test_an_allowed_peer_needs_no_token_unless_proxied(
    settings: Settings, clock: FixedClock
) -> None:
    app = create_app(settings.replace(metrics_allow="10.0.0.0/8"), clock=clock)
    with TestClient(app, client=("10.1.2.3", 4000)) as test_client:
        assert test_client.get("/metrics").status_code == 200
        proxied = test_client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert proxied.status_code == 403
    with TestClient(app, client=("192.0.2.1", 4000)) as test_client:
        assert test_client.get("/metrics").status_code == 403


def test_apps_in_one_process_keep_separate_registries(
    settings: Settings, clock: FixedClock
) -> None:
    registries = []
    for _ in range(2):
        app = create_app(settings, clock=clock)
        with TestClient(app):
            registries.append(app.state.footfall.metrics.registry)
    assert registries[0] is not registries[1]
