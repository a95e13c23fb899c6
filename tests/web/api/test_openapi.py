"""The OpenAPI document: valid, complete, rendered, and true of the running app.

schemathesis generates requests from the document (its examples, boundary cases and random
data, valid and invalid) and sends them to the real app on a real data directory, with a key
that may do everything: no answer may be a 500, every answer must have a documented status,
content type, headers and body, and an operation that needs a key must refuse the request
without one or with a wrong one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.meta.goals import add_goal
from footfall.meta.keys import create_key
from footfall.meta.sites import add_site
from footfall.services import open_meta
from footfall.settings import Settings, load_settings
from footfall.web.api.openapi import openapi_document
from footfall.web.app import FootfallApp, create_app
from footfall.web.middleware.security import CONTENT_SECURITY_POLICY

DOCUMENT_PATH = "/api/docs/openapi.json"
DOCS_PATHS = {"/api/docs", DOCUMENT_PATH}
# Outside /api/ only the probes belong to the JSON API; pages and assets are not in it.
PROBES = {"/healthz", "/readyz", "/metrics"}
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
NOW = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
CHECKS = [
    not_a_server_error,
    ignored_auth,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@schemathesis.serializer("application/x-ndjson")
def _ndjson(context: schemathesis.SerializationContext, value: Any) -> bytes:
    """Import bodies are text, one JSON object per line."""
    return value.encode() if isinstance(value, str) else str(value).encode()


def _settings(tmp_path: Path) -> Settings:
    # No rate limits: thousands of generated requests would otherwise hit them.
    return load_settings(
        {"data_dir": tmp_path / "data", "ingest_rate_limit": "", "stats_api_hourly_limit": 0},
        environ={},
    )


def _routes(app: FootfallApp) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        if isinstance(route, Mount):
            continue
        assert isinstance(route, Route)
        # A path converter (``{property:path}``) is Starlette's; OpenAPI names the parameter.
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for method in route.methods or ():
            if method != "HEAD":  # Starlette adds HEAD to every GET route
                found.add((method, path))
    return found


def _documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    methods = ("get", "put", "post", "delete", "options", "patch")
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in methods
        if method in item
    }


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _schemas(node: Any) -> Iterator[dict[str, Any]]:
    """Every schema object in the document (request, response, parameter, header, shared)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "schema" and isinstance(value, dict):
                yield value
            elif key == "schemas" and isinstance(value, dict):
                yield from value.values()
            else:
                yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


def test_the_document_is_valid_openapi_3_1() -> None:
    document = openapi_document()
    assert document["openapi"] == "3.1.0"
    schema = schemathesis.openapi.from_dict(document)
    schema.validate()  # the OpenAPI 3.1 meta-schema; raises on any violation
    # The 3.1 meta-schema does not look inside schema objects: check each against JSON Schema.
    schemas = list(_schemas(document))
    assert len(schemas) > 40
    for each in schemas:
        jsonschema_rs.meta.validate({"$schema": DRAFT_2020_12, **each})
    # Every reference points at something that exists.
    for ref in set(_refs(document)):
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            assert part in node, ref
            node = node[part]


def test_every_api_route_is_documented_and_nothing_else(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path))
    served = {
        (method, path)
        for method, path in _routes(app)
        if (path.startswith("/api/") or path in PROBES) and path not in DOCS_PATHS
    }
    documented = _documented(openapi_document())
    assert served - documented == set(), "routes missing from footfall/web/api/openapi.py"
    assert documented - served == set(), "documented operations the app does not serve"


def test_authenticated_operations_name_their_scope() -> None:
    document = openapi_document()
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if operation.get("security") == []:
                continue
            assert re.search(r"`(stats:read|sites:write|events:import|admin)`", str(operation))
            statuses = operation["responses"]
            assert "401" in statuses, (method, path)
            if path.startswith("/api/v1/stats") or path == "/api/v2/query":
                assert statuses["429"] == {"$ref": "#/components/responses/TooManyRequests"}
    too_many = document["components"]["responses"]["TooManyRequests"]
    assert too_many["headers"]["Retry-After"] == {"$ref": "#/components/headers/Retry-After"}
    assert document["components"]["headers"]["Retry-After"]["required"] is True


def test_the_document_and_its_page_are_served_without_a_key(tmp_path: Path) -> None:
    with TestClient(create_app(_settings(tmp_path))) as client:
        raw = client.get(DOCUMENT_PATH)
        assert raw.status_code == 200
        assert raw.headers["content-type"] == "application/json"
        assert raw.json() == openapi_document()

        page = client.get("/api/docs")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    html = page.text
    # Nothing the policy would block: no script, no inline style, nothing from elsewhere.
    assert "<script" not in html and "style=" not in html and "<style" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert f'href="{DOCUMENT_PATH}"' in html
    # Every operation, with its parameters, bodies and responses, is on the page.
    for method, path in _documented(openapi_document()):
        assert re.search(rf">{method}</span> <code>{re.escape(path)}</code></h2>", html), path
    for name in ("site_id", "period", "metrics", "goal_id", "since"):
        assert f"<code>{name}</code>" in html
    assert "<code>application/x-ndjson</code>" in html
    assert "<code>Retry-After</code>" in html
    assert 'href="#schema-MetricValue"' in html and 'id="schema-MetricValue"' in html
    # Text from the document is escaped, not markup.
    assert "Plausible&#39;s" in html and "<code>stats:read</code>" in html


# -- schemathesis against the running app ----------------------------------------------------


@dataclass
class Probe:
    """The app on a seeded data directory, and a key with every scope."""

    app: FootfallApp
    key: str


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Probe:
    # One app for every operation: each test starts its lifespan again on the same data.
    settings = _settings(tmp_path_factory.mktemp("probe"))
    meta = open_meta(settings)
    site = add_site(meta, domain="example.com", timezone="UTC")
    add_site(meta, domain="other.example", timezone="America/New_York")
    # Goals to list, filter by and delete (ids 1 and 2, as the document's examples).
    add_goal(meta, site.id, event_name="Signup")
    add_goal(meta, site.id, page_path="/pricing")
    key = create_key(meta, name="probe", scopes=("admin",))[1]
    return Probe(create_app(settings, clock=FixedClock(NOW)), key)


# Generated from the document itself; the requests go to the app of the module's `probe`. A loop
# profile lasts its `seconds` (up to a minute): tests/web/middleware/test_profiling.py sends that
# operation its one-second cases and checks them the same way.
api = schemathesis.openapi.from_dict(openapi_document()).exclude(path="/api/v1/debug/profile")


def _call(case: schemathesis.Case, probe: Probe) -> schemathesis.Response:
    """Sends `case` to the probe's app with the key, and runs every check on the answer.

    The checks' own requests (the same request without the key, or with a wrong one) go to the
    same app. The first request starts the app's lifespan; schemathesis' pytest plugin ends it
    after the test.
    """
    case.operation.schema.app = case.operation.app = probe.app
    return case.call_and_validate(headers={"Authorization": f"Bearer {probe.key}"}, checks=CHECKS)


@api.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    # The same cases every run: a failure here is a regression, never a lucky draw.
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_app_answers_as_documented(case: schemathesis.Case, probe: Probe) -> None:
    _call(case, probe)


def test_the_first_and_last_days_of_the_calendar_are_answered(probe: Probe) -> None:
    """Dates at the ends of year 1 and 9999 once answered 500 (found probing the edges)."""
    for since in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        response = _call(api["/api/v1/audit"]["GET"].Case(query={"since": since}), probe)
        assert response.status_code == 400
        assert "outside the years 1 to 9999" in response.json()["error"]

    timeseries = api["/api/v1/stats/timeseries"]["GET"].Case(
        query={"site_id": "example.com", "period": "day", "date": "9999-12-31"}
    )
    hours = _call(timeseries, probe).json()["results"]
    assert [row["date"] for row in hours][-2:] == ["9999-12-31 22:00:00", "9999-12-31 23:00:00"]
    assert len(hours) == 24

    query = api["/api/v2/query"]["POST"].Case(
        body={
            # In New York the calendar ends at 18:59:59 on 9999-12-31 (23:59:59 UTC).
            "site_id": "other.example",
            "metrics": ["visitors"],
            "date_range": ["9999-12-31", "9999-12-31"],
            "dimensions": ["time:hour"],
            "include": {"time_labels": True},
        },
        media_type="application/json",
    )
    answer = _call(query, probe)
    assert answer.status_code == 200
    labels = answer.json()["meta"]["time_labels"]
    assert (labels[0], labels[-1], len(labels)) == (
        "9999-12-31 00:00:00",
        "9999-12-31 18:00:00",
        19,
    )


def test_body_limits_read_in_sizes_people_know() -> None:
    document = openapi_document()
    text = str(document)
    responses = {
        path: item[method]["responses"]["413"]["description"]
        for path, item in document["paths"].items()
        for method in item
        if "413" in item[method]["responses"]
    }
    assert responses["/api/import"] == "The body is larger than 1 GiB."
    assert responses["/api/v2/query"] == "The body is larger than 256 KiB."
    assert responses["/api/v1/sites/goals"] == "The body is larger than 64 KiB."
    assert "1073741824" not in text and "65536" not in text


def test_the_metrics_endpoint_is_documented_and_answers_as_documented(tmp_path: Path) -> None:
    operation = openapi_document()["paths"]["/metrics"]["get"]
    assert operation["security"] == [] and set(operation["responses"]) == {"200", "401", "403"}
    token = "t" * 40
    settings = _settings(tmp_path).replace(metrics_token=token)
    with TestClient(create_app(settings)) as client:
        refused = client.get("/metrics")  # the test client is no loopback peer
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        allowed = client.get("/metrics", headers={"authorization": f"Bearer {token}"})
        assert allowed.status_code == 200 and allowed.headers["content-type"].startswith("text/")
        page = client.get("/api/docs").text
    assert "<code>/metrics</code>" in page
