"""The OpenAPI 3.1 document of footfall's JSON HTTP API, as Python data.

Served at ``GET /api/docs/openapi.json`` and rendered at ``GET /api/docs``. Limits and
names come from the modules that enforce them, so the document follows the code; a test
checks that every API route is described here and that the real app answers as described
(schemathesis, tests/web/api/test_openapi.py).
"""

from __future__ import annotations

import copy
from typing import Any

from footfall import __version__
from footfall.meta.keys import SCOPES
from footfall.stats.v1 import V1_METRICS
from footfall.web.api.imports import MAX_IMPORT_BYTES
from footfall.web.api.openapi_admin import admin_paths, probe_paths
from footfall.web.api.openapi_alerts import alert_paths
from footfall.web.api.openapi_components import (
    HEADERS,
    NUMBER,
    PARAMETERS,
    RATE_HEADERS,
    RESPONSES,
    SCHEMAS,
    SITE,
    Schema,
    error,
    header,
    json_content,
    param_ref,
    query,
    ref,
    response_ref,
    too_large,
)
from footfall.web.api.openapi_lifecycle import lifecycle_paths
from footfall.web.api.openapi_sites import sites_paths
from footfall.web.bodies import QUERY_BYTES

_V1_COMMON = [param_ref(name) for name in ("SiteId", "Period", "Date", "Metrics", "Filters")]


def _stats_operation(
    summary: str,
    description: str,
    parameters: list[Schema],
    result: Schema,
    *,
    extra: dict[str, Schema] | None = None,
) -> Schema:
    return {
        "tags": ["Stats API"],
        "summary": summary,
        "description": description + " Needs a key with the `stats:read` scope.",
        "parameters": parameters,
        "responses": {
            "200": json_content(result, "The answer.", headers=RATE_HEADERS),
            "400": error("A missing or invalid parameter (Plausible's message)."),
            "401": response_ref("Unauthorized"),
            "429": response_ref("TooManyRequests"),
            "503": response_ref("Unavailable"),
            **(extra or {}),
        },
    }


def _results(schema: Schema) -> Schema:
    return {
        "type": "object",
        "required": ["results"],
        "properties": {"results": schema},
        "additionalProperties": False,
    }


_METRIC_NAMES: Schema = {"enum": list(V1_METRICS)}
_BREAKDOWN_ROW: Schema = {
    "type": "object",
    "description": "The property's value under its name without prefix (`source`, `page`, a "
    "custom property's name; `visit:browser_version` adds `browser`), and each metric.",
    "properties": {
        "comparison": {
            "type": "object",
            "description": "With `compare`: the previous period's values and the changes.",
            "properties": {"change": {"type": "object", "additionalProperties": NUMBER}},
            "additionalProperties": NUMBER,
        }
    },
    "additionalProperties": {"type": ["string", "number", "null"]},
}


def _stats_paths() -> dict[str, Schema]:
    return {
        "/api/v1/stats/realtime/visitors": {
            "get": _stats_operation(
                "Current visitors",
                "Visitors in the last five minutes, as a bare number.",
                [param_ref("SiteId")],
                {"type": "integer", "minimum": 0},
            )
        },
        "/api/v1/stats/aggregate": {
            "get": _stats_operation(
                "Aggregate",
                "Metrics over the whole period.",
                [*_V1_COMMON, param_ref("Compare"), param_ref("WithImported")],
                _results(
                    {
                        "type": "object",
                        "propertyNames": _METRIC_NAMES,
                        "additionalProperties": ref("MetricValue"),
                    }
                ),
            )
        },
        "/api/v1/stats/timeseries": {
            "get": _stats_operation(
                "Timeseries",
                "Metrics per time bucket, oldest first, every bucket of the period present.",
                [
                    *_V1_COMMON,
                    query(
                        "interval",
                        {"enum": ["day", "month", "date"]},
                        "Bucket size (default: hour for `day`, month for `6mo`/`12mo`, else "
                        "day; `date` means `day`).",
                    ),
                    param_ref("WithImported"),
                ],
                _results(
                    {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["date"],
                            "properties": {
                                "date": {
                                    "type": "string",
                                    "description": "`YYYY-MM-DD`, or `YYYY-MM-DD HH:00:00`.",
                                }
                            },
                            "propertyNames": {"enum": ["date", *V1_METRICS]},
                            "additionalProperties": NUMBER,
                        },
                    }
                ),
            )
        },
        "/api/v1/stats/breakdown": {
            "get": _stats_operation(
                "Breakdown",
                "Metrics per value of one property, best first.",
                [
                    *_V1_COMMON,
                    query(
                        "property",
                        {"type": "string"},
                        "`event:page`, `visit:source`, `event:props:<name>`, ...",
                        required=True,
                        example="event:page",
                    ),
                    query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 1000},
                        "Rows per page (default 100).",
                    ),
                    query("page", {"type": "integer", "minimum": 1}, "1-based page."),
                    param_ref("Compare"),
                    param_ref("WithImported"),
                ],
                _results({"type": "array", "items": _BREAKDOWN_ROW}),
            )
        },
        "/api/v2/query": {
            "post": {
                **_stats_operation(
                    "Query (v2)",
                    "Plausible's Stats API v2: any metrics by any dimensions.",
                    [],
                    ref("V2Response"),
                    extra={"413": too_large(QUERY_BYTES)},
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": ref("V2Query"),
                            "example": {
                                "site_id": SITE,
                                "metrics": ["visitors", "pageviews"],
                                "date_range": "7d",
                                "dimensions": ["event:page"],
                            },
                        }
                    },
                },
            }
        },
    }


def _event_paths() -> dict[str, Schema]:
    example = {"name": "pageview", "url": f"https://{SITE}/pricing", "domain": SITE}
    return {
        "/api/event": {
            "post": {
                "tags": ["Events API"],
                "summary": "Record an event",
                "description": "Plausible's Events API: what the tracker sends. No key. The "
                "event is acknowledged once it is durable.",
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": ref("EventRequest"), "example": example},
                        "text/plain": {
                            "schema": {
                                "type": "string",
                                "description": "The same JSON object as text (the tracker "
                                "sends this, avoiding a CORS preflight).",
                            },
                            "example": '{"n":"pageview","u":"https://example.com/","d":"example.com"}',
                        },
                    },
                },
                "responses": {
                    "202": {
                        "description": "Accepted and durable, or dropped (bots, unknown "
                        "sites): the body is `ok` either way.",
                        "headers": {
                            "x-plausible-dropped": header(
                                "How many of the event's sites dropped it.",
                                {"type": "integer", "minimum": 1},
                            )
                        },
                        "content": {"text/plain": {"schema": {"const": "ok"}}},
                    },
                    "400": {
                        "description": "Invalid event (every failing field listed), or a body "
                        "that is not JSON.",
                        "content": {
                            "application/json": {
                                "schema": {"anyOf": [ref("EventFieldErrors"), ref("BadJson")]}
                            }
                        },
                    },
                    "406": {
                        "description": "The Accept header excludes JSON.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    "413": json_content(
                        ref("EventFieldErrors"),
                        "The body is larger than the "
                        "configured limit (`max_body_bytes`, 1 MB by default).",
                    ),
                    "429": {
                        "description": "Too many events from this client address.",
                        "headers": {
                            "Retry-After": {"$ref": "#/components/headers/Retry-After"},
                            **RATE_HEADERS,
                        },
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    "503": json_content(
                        ref("Error"),
                        "The ingest queue is full or the store failed; retry.",
                        headers={"Retry-After": {"$ref": "#/components/headers/Retry-After"}},
                    ),
                },
            },
            "options": {
                "tags": ["Events API"],
                "summary": "CORS preflight",
                "description": "Any origin may post events.",
                "security": [],
                "parameters": [
                    {
                        "name": "Access-Control-Request-Headers",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "204": {
                        "description": "Allowed.",
                        "headers": {
                            "Access-Control-Allow-Origin": header(
                                "Always `*`.", {"const": "*"}, required=True
                            ),
                            "Access-Control-Allow-Methods": header(
                                "`POST, OPTIONS`.", {"type": "string"}, required=True
                            ),
                        },
                    }
                },
            },
        },
        "/api/import": {
            "post": {
                "tags": ["Events API"],
                "summary": "Import historical events",
                "description": "One JSON object per line: `timestamp`, `name` and `url` "
                "required; `referrer`, `user_agent`, `ip` or `visitor_id`, `props` optional. "
                "Events go through the live enrichment and session rules at their own times. "
                "Bad lines are reported by number; good lines are kept. Needs a key with the "
                "`events:import` scope. A body that was already imported into the site "
                "is refused (409), so that its events are not counted twice, unless "
                "`force=true`.",
                "parameters": [
                    param_ref("SiteId"),
                    query(
                        "force",
                        {"type": "string", "enum": ["true"]},
                        "`true` imports the body even if the same body was imported into "
                        "the site before (its events are then counted twice).",
                    ),
                ],
                "requestBody": {
                    "required": False,
                    "description": "An empty body imports nothing.",
                    "content": {
                        "application/x-ndjson": {
                            "schema": {"type": "string"},
                            "example": '{"timestamp": "2026-11-01T10:00:00Z", "name": '
                            '"pageview", "url": "https://example.com/a", "visitor_id": "v1"}\n',
                        }
                    },
                },
                "responses": {
                    "200": json_content(
                        ref("ImportReport"), "Imported; some lines may have been rejected."
                    ),
                    "400": json_content(
                        {"anyOf": [ref("ImportReport"), ref("Error")]},
                        "No line was usable (the report), or `site_id` is missing.",
                    ),
                    "401": response_ref("Unauthorized"),
                    "403": response_ref("Forbidden"),
                    "409": error(
                        "The same body was already imported into the site; the message says "
                        "when, and how many events it stored."
                    ),
                    "413": too_large(MAX_IMPORT_BYTES),
                    "503": response_ref("Unavailable"),
                },
            }
        },
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document describing every JSON API endpoint footfall serves.

    Returns:
        A fresh JSON-ready dict (callers may modify it).
    """
    document: dict[str, Any] = copy.deepcopy(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "footfall API",
                "version": __version__,
                "description": (
                    "Self-hosted web analytics compatible with Plausible's Events and Stats APIs. "
                    "Authenticated endpoints take an API key as `Authorization: Bearer <key>` "
                    "(create one with `footfall key create --scope ...`; scopes: "
                    + ", ".join(f"`{s}`" for s in SCOPES)
                    + ', where `admin` holds every scope). Errors are `{"error": message}`; an '
                    "unexpected failure answers 500 with an `error_id` that is also in the log."
                ),
                "license": {"name": "MIT", "identifier": "MIT"},
            },
            "tags": [
                {"name": "Events API", "description": "Recording events."},
                {"name": "Stats API", "description": "Plausible's Stats API v1 and v2."},
                {
                    "name": "Sites API",
                    "description": "Sites, their settings, goals, properties, guests.",
                },
                {
                    "name": "Administration",
                    "description": "The audit log, backups, exports, retention and deletion, "
                    "and memory diagnostics.",
                },
                {"name": "Alerts", "description": "Alert rules, their state and deliveries."},
                {"name": "Operations", "description": "Probes for orchestrators."},
            ],
            "security": [{"bearerAuth": []}],
            "paths": {
                **_event_paths(),
                **_stats_paths(),
                **sites_paths(),
                **admin_paths(),
                **alert_paths(),
                **lifecycle_paths(),
                **probe_paths(),
            },
            "components": {
                "securitySchemes": {
                    "bearerAuth": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "An API key; each operation names the scope it needs.",
                    }
                },
                "schemas": SCHEMAS,
                "parameters": PARAMETERS,
                "headers": HEADERS,
                "responses": RESPONSES,
            },
        }
    )
    return document
