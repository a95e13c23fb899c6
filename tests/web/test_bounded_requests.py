"""Work one request can cause is bounded: date ranges, bodies, nested filters.

Each case here took gigabytes or a 500 before (the hardening probes); now it is refused early
with a clear message.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from footfall.meta.keys import create_key
from footfall.meta.shared_links import create_link
from footfall.services import open_meta
from footfall.settings import Settings
from footfall.stats.v2 import MAX_FILTER_DEPTH
from footfall.web.bodies import FORM_BYTES, QUERY_BYTES, SITES_API_BYTES

ALL_TIME = "0001-01-01,9999-12-31"


@pytest.fixture
def key(settings: Settings) -> str:
    return create_key(open_meta(settings), name="reader", scopes=("admin",))[1]


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """A body sent chunked (no Content-Length), as a client hiding its size would."""
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b"a" * piece


def test_a_timeseries_over_every_date_is_refused_before_any_work(
    client: TestClient, key: str
) -> None:
    answer = client.get(
        "/api/v1/stats/timeseries",
        params={"site_id": "example.com", "period": "custom", "date": ALL_TIME},
        headers={"authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 400
    assert "more than the 10,000 a time series may have" in answer.json()["error"]
    v2 = client.post(
        "/api/v2/query",
        json={
            "site_id": "example.com",
            "metrics": ["visitors"],
            "date_range": ["0001-01-01", "9999-12-31"],
            "dimensions": ["time:day"],
        },
        headers={"authorization": f"Bearer {key}"},
    )
    assert v2.status_code == 400 and "Choose a shorter date range" in v2.json()["error"]


def test_an_aggregate_over_every_date_is_answered(client: TestClient, key: str) -> None:
    answer = client.get(
        "/api/v1/stats/aggregate",
        params={"site_id": "example.com", "period": "custom", "date": ALL_TIME},
        headers={"authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 200
    assert answer.json()["results"]["visitors"] == {"value": 0}


def test_a_shared_dashboard_over_every_date_shows_a_message(
    client: TestClient, settings: Settings
) -> None:
    link = create_link(open_meta(settings), "example.com", name="public")
    page = client.get(f"/share/{link.slug}", params={"period": "custom", "date": ALL_TIME})
    assert page.status_code in (200, 400)
    assert "Choose a shorter date range" in page.text


def test_deeply_nested_filters_are_refused_with_a_message(client: TestClient, key: str) -> None:
    # Written as text: 500 levels are more than JSON encoders follow.
    nested = '["not",' * 500 + '["is","event:page",["/"]]' + "]" * 500
    body = '{"site_id":"example.com","metrics":["visitors"],"date_range":"day","filters":['
    answer = client.post(
        "/api/v2/query",
        content=body + nested + "]}",
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
    )
    assert answer.status_code == 400
    assert f"nested at most {MAX_FILTER_DEPTH} levels deep" in answer.json()["error"]


def test_a_huge_query_body_is_refused_while_it_streams(client: TestClient, key: str) -> None:
    answer = client.post(
        "/api/v2/query",
        content=_chunks(QUERY_BYTES * 8),
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
    )
    assert answer.status_code == 413


def test_a_huge_chunked_form_is_refused(client: TestClient) -> None:
    form = client.get("/login")
    assert form.status_code == 200
    answer = client.post(
        "/login",
        content=_chunks(FORM_BYTES * 64),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413


def test_every_endpoint_that_reads_a_body_refuses_an_oversized_one(
    client: TestClient, key: str
) -> None:
    """Whatever reads a body is bounded; the rest answer without reading one."""
    largest = max(FORM_BYTES, QUERY_BYTES, SITES_API_BYTES) * 4
    app = client.app
    checked = 0
    for route in app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, Route) or "{" in route.path or route.path == "/api/import":
            continue
        for method in sorted((route.methods or set()) - {"GET", "HEAD", "OPTIONS"}):
            answer = client.request(
                method,
                route.path,
                content=_chunks(largest),
                headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
                follow_redirects=False,
            )
            # Refused for its size, or refused before reading (no auth, not a form, a signed-in
            # page's form sent to sign in): never read whole and then processed.
            if answer.status_code == 303:
                assert answer.headers["location"].startswith("/login?"), (route.path, method)
            else:
                assert answer.status_code in (400, 401, 403, 404, 405, 413, 415), (
                    route.path,
                    method,
                )
            checked += 1
    assert checked >= 5
