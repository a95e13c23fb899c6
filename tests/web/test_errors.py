"""Error responses, CORS and security headers, through the app `create_app` builds.

Real endpoints raise where they can; the stats engine is swapped for one that fails the way
the real one would, and a few routes added to the test app raise the remaining errors.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    QueryTimeoutError,
    StoreBusyError,
    StoreError,
)
from footfall.meta.keys import create_key
from footfall.services import open_meta
from footfall.settings import Settings, load_settings
from footfall.stats.cache import NullCache
from footfall.web.app import create_app
from footfall.web.middleware.security import CONTENT_SECURITY_POLICY
from tests.conftest import CHROME_UA

ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://evil.example"
SECRET = "hunter2"
RAISED: dict[str, Exception] = {
    "invalid": InvalidInputError("domain 'x y' is not a domain name"),
    "not-found": NotFoundError("no site named other.example"),
    "conflict": ConflictError("site example.com already exists"),
    "busy": StoreBusyError(f"/data/{SECRET}/events.duckdb is locked by process 42"),
    "store": StoreError(f"postgresql://footfall:{SECRET}@db/footfall refused the connection"),
}


async def _raise(request: Request) -> Response:
    raise RAISED[request.path_params["kind"]]


async def _page(request: Request) -> Response:
    return HTMLResponse("<!doctype html><title>footfall</title>")


def _app(settings: Settings, clock: FixedClock) -> Starlette:
    app = create_app(settings, clock=clock)
    # Test-only routes: errors no real endpoint lets through, and an HTML page.
    app.router.routes.append(Route("/test/raise/{kind}", _raise))
    app.router.routes.append(Route("/test/page", _page))
    return app


@pytest.fixture
def app_client(settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    # Only what a client receives counts, so exceptions the server would see are not raised.
    with TestClient(_app(settings, clock), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def cors_client(settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    configured = settings.replace(cors_origins=ORIGIN)
    with TestClient(_app(configured, clock), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def stats_key(settings: Settings) -> str:
    return create_key(open_meta(settings), name="reader", scopes=("stats:read",))[1]


class FailingStats:
    """Stands in for the stats engine; every query raises `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.cache = NullCache()  # what a stopping server keeps for its next start

    def realtime_visitors(self, *args: Any) -> int:
        raise self.error


def realtime(client: TestClient, key: str, **headers: str) -> Any:
    return client.get(
        "/api/v1/stats/realtime/visitors",
        params={"site_id": "example.com"},
        headers={"authorization": f"Bearer {key}", **headers},
    )


def fail_stats_with(client: TestClient, error: Exception) -> None:
    client.app.state.footfall.stats = FailingStats(error)  # type: ignore[attr-defined]


# -- error mapping -------------------------------------------------------------------------


def test_api_error_keeps_its_status_and_message(app_client: TestClient) -> None:
    response = app_client.get("/api/v1/stats/aggregate", params={"site_id": "example.com"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.content == (
        b'{"error":"Missing API key. Please use a valid Plausible API key as a Bearer Token."}'
    )


def test_stats_query_error_keeps_its_status_and_message(
    app_client: TestClient, stats_key: str
) -> None:
    response = app_client.get(
        "/api/v1/stats/aggregate",
        params={"site_id": "example.com", "period": "bogus"},
        headers={"authorization": f"Bearer {stats_key}"},
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("Error parsing `period` parameter")


def test_v2_body_errors_are_raised_and_mapped(app_client: TestClient, stats_key: str) -> None:
    auth = {"authorization": f"Bearer {stats_key}"}
    bad_json = app_client.post("/api/v2/query", content=b"{nope", headers=auth)
    assert (bad_json.status_code, bad_json.content) == (
        400,
        b'{"error":"Invalid JSON body: expected a JSON object."}',
    )
    not_object = app_client.post("/api/v2/query", content=b"[1]", headers=auth)
    assert (not_object.status_code, not_object.content) == (
        400,
        b'{"error":"#: Type mismatch. Expected Object but got list."}',
    )


def test_query_timeout_is_503_with_the_advice(app_client: TestClient, stats_key: str) -> None:
    fail_stats_with(
        app_client, QueryTimeoutError("the query took longer than 0.2 s and was stopped")
    )
    response = realtime(app_client, stats_key)
    assert response.status_code == 503
    assert response.json() == {
        "error": "Query timed out: the query took longer than 0.2 s and was stopped. "
        "Try a shorter period or fewer filters."
    }


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        ("invalid", 400, "domain 'x y' is not a domain name"),
        ("not-found", 404, "no site named other.example"),
        ("conflict", 409, "site example.com already exists"),
        ("busy", 503, "the event store is busy, retry shortly"),
        ("store", 503, "storage is unavailable, retry shortly"),
    ],
)
def test_footfall_errors_map_to_statuses(
    app_client: TestClient, kind: str, status: int, message: str
) -> None:
    response = app_client.get(f"/test/raise/{kind}")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": message}
    assert SECRET not in response.text


def test_store_error_from_a_real_endpoint_is_generic(
    app_client: TestClient, stats_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    fail_stats_with(app_client, StoreError(f"cannot open /srv/{SECRET}/events.duckdb"))
    with caplog.at_level(logging.WARNING, logger="footfall.web.errors"):
        response = realtime(app_client, stats_key)
    assert response.status_code == 503
    assert response.json() == {"error": "storage is unavailable, retry shortly"}
    # The detail is for the operator.
    assert any(SECRET in record.getMessage() for record in caplog.records)


def test_unexpected_error_is_500_with_an_error_id_that_is_logged(
    app_client: TestClient, stats_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    fail_stats_with(app_client, RuntimeError(f"SELECT * FROM keys WHERE secret = '{SECRET}'"))
    with caplog.at_level(logging.ERROR, logger="footfall.web.errors"):
        response = realtime(app_client, stats_key)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "error_id"}
    assert body["error"] == "internal server error"
    assert re.fullmatch(r"[0-9a-f]{12}", body["error_id"])
    for leak in ("Traceback", SECRET, "SELECT", ".py", "RuntimeError"):
        assert leak not in response.text
    # Logged once, with the id, the request and the traceback.
    logged = [r for r in caplog.records if r.exc_info is not None]
    assert len(logged) == 1
    assert body["error_id"] in logged[0].getMessage()
    assert "/api/v1/stats/realtime/visitors" in logged[0].getMessage()
    assert caplog.text.count("Traceback") == 1
    assert SECRET in caplog.text


def test_unexpected_error_is_answered_not_reraised(
    settings: Settings, clock: FixedClock, stats_key: str
) -> None:
    """The 500 is the app's last word: no server (or test client) sees the exception again."""
    with TestClient(_app(settings, clock)) as client:
        fail_stats_with(client, RuntimeError("boom"))
        response = realtime(client, stats_key)
    assert response.status_code == 500
    assert response.json()["error"] == "internal server error"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_error_ids_differ(app_client: TestClient, stats_key: str) -> None:
    fail_stats_with(app_client, RuntimeError("boom"))
    ids = {realtime(app_client, stats_key).json()["error_id"] for _ in range(3)}
    assert len(ids) == 3


# -- CORS ----------------------------------------------------------------------------------


def preflight(client: TestClient, path: str, origin: str, method: str = "POST") -> Any:
    return client.options(
        path,
        headers={
            "origin": origin,
            "access-control-request-method": method,
            "access-control-request-headers": "authorization, content-type",
        },
    )


def test_cors_is_closed_by_default(app_client: TestClient, stats_key: str) -> None:
    response = realtime(app_client, stats_key, origin=ORIGIN)
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    answer = preflight(app_client, "/api/v2/query", ORIGIN)
    assert "access-control-allow-origin" not in answer.headers
    assert answer.status_code == 405


def test_cors_answers_a_configured_origin(cors_client: TestClient, stats_key: str) -> None:
    response = realtime(cors_client, stats_key, origin=ORIGIN)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in response.headers["vary"]
    assert "access-control-allow-credentials" not in response.headers
    # Errors carry it too, so the browser lets the page read them.
    refused = cors_client.get("/api/v1/stats/aggregate", headers={"origin": ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == ORIGIN


def test_cors_preflight_for_a_configured_origin(cors_client: TestClient) -> None:
    answer = preflight(cors_client, "/api/v2/query", ORIGIN)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in answer.headers["access-control-allow-methods"]
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed
    assert "content-type" in allowed
    assert "Origin" in answer.headers["vary"]
    put = preflight(cors_client, "/api/v1/sites/goals", ORIGIN, method="PUT")
    assert put.headers["access-control-allow-origin"] == ORIGIN


def test_cors_ignores_other_origins(cors_client: TestClient, stats_key: str) -> None:
    response = realtime(cors_client, stats_key, origin=OTHER_ORIGIN)
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    answer = preflight(cors_client, "/api/v2/query", OTHER_ORIGIN)
    assert "access-control-allow-origin" not in answer.headers


def test_cors_origins_setting() -> None:
    settings = load_settings(
        environ={"FOOTFALL_CORS_ORIGINS": " https://App.example.com, http://localhost:3000 ,"}
    )
    assert settings.cors_origin_list == ("https://app.example.com", "http://localhost:3000")
    assert load_settings(environ={}).cors_origin_list == ()
    for bad in ("*", "null", "https://app.example.com/", "app.example.com", "https://a:x"):
        with pytest.raises(Exception, match="FOOTFALL_CORS_ORIGINS"):
            load_settings(environ={"FOOTFALL_CORS_ORIGINS": bad})


# -- security headers ----------------------------------------------------------------------


def test_security_headers_on_json(app_client: TestClient, stats_key: str) -> None:
    response = realtime(app_client, stats_key)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "content-security-policy" not in response.headers
    assert "x-frame-options" not in response.headers
    assert "strict-transport-security" not in response.headers
    plain = app_client.get("/healthz")
    assert plain.headers["x-content-type-options"] == "nosniff"


def test_security_headers_on_html(app_client: TestClient) -> None:
    response = app_client.get("/test/page")
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_hsts_only_over_https(settings: Settings, clock: FixedClock) -> None:
    with TestClient(_app(settings, clock), base_url="https://testserver") as client:
        secure = client.get("/healthz")
    assert secure.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    with TestClient(_app(settings, clock)) as client:
        plain = client.get("/healthz", headers={"x-forwarded-proto": "https"})
    # No proxy is trusted: a header anyone can send does not switch HSTS on.
    assert "strict-transport-security" not in plain.headers


def test_security_headers_on_errors(app_client: TestClient) -> None:
    for path in ("/test/raise/conflict", "/no/such/path"):
        response = app_client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


# -- ingest is unaffected ------------------------------------------------------------------


def send_event(client: TestClient, origin: str) -> Any:
    return client.post(
        "/api/event",
        content=orjson.dumps(
            {"name": "pageview", "url": "https://example.com/", "domain": "example.com"}
        ),
        headers={
            "content-type": "application/json",
            "user-agent": CHROME_UA,
            "x-forwarded-for": "81.2.69.142",
            "origin": origin,
        },
    )


@pytest.mark.parametrize("fixture", ["app_client", "cors_client"])
def test_ingest_keeps_its_permissive_cors(fixture: str, request: pytest.FixtureRequest) -> None:
    client: TestClient = request.getfixturevalue(fixture)
    for origin in (ORIGIN, OTHER_ORIGIN):
        response = send_event(client, origin)
        assert response.status_code == 202
        assert response.text == "ok"
        assert response.headers["access-control-allow-origin"] == "*"
        # The hot path is passed through untouched.
        assert "referrer-policy" not in response.headers
        assert "vary" not in response.headers
        answer = preflight(client, "/api/event", origin)
        assert answer.status_code == 204
        assert answer.headers["access-control-allow-origin"] == "*"
        assert answer.headers["access-control-allow-methods"] == "POST, OPTIONS"


def test_the_favicon_is_served_by_footfall_itself(client: TestClient) -> None:
    answer = client.get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/x-icon"
    assert "max-age=" in answer.headers["cache-control"]
    icon = answer.content
    # An ICO directory of one 32x32 image, which is a PNG.
    assert icon[:6] == b"\x00\x00\x01\x00\x01\x00" and icon[6:8] == b"\x20\x20"
    assert icon[22:30] == b"\x89PNG\r\n\x1a\n"
    page = client.get("/login")
    assert '<link rel="icon" href="/favicon.ico">' in page.text
