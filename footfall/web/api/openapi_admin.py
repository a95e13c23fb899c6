"""The OpenAPI paths of the administration and probe endpoints: Sites API, audit, debug, health."""

from __future__ import annotations

from footfall.meta import audit
from footfall.monitoring import tracing
from footfall.web.api.openapi_components import (
    DATE,
    Schema,
    error,
    header,
    json_content,
    query,
    ref,
    response_ref,
)
from footfall.web.middleware import profiling


def admin_paths() -> dict[str, Schema]:
    """The audit log and the debug endpoints."""
    return {
        "/api/v1/audit": {
            "get": {
                "tags": ["Administration"],
                "summary": "Audit log",
                "description": "Administrative changes and sign-ins, newest first. Needs the "
                "`admin` scope.",
                "parameters": [
                    query(
                        "since",
                        {"anyOf": [DATE, {"type": "string", "format": "date-time"}]},
                        "ISO 8601 date or date-time (UTC unless it has an offset).",
                        example="2026-11-01",
                    ),
                    query("actor", {"type": "string"}, "Only this actor.", example="cli:alice"),
                    query("action", {"type": "string"}, "Only this action.", example="goal.add"),
                    query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": audit.MAX_LIMIT},
                        f"At most this many entries (default {audit.DEFAULT_LIMIT}).",
                    ),
                ],
                "responses": {
                    "200": json_content(
                        {
                            "type": "object",
                            "required": ["entries"],
                            "properties": {
                                "entries": {"type": "array", "items": ref("AuditEntry")}
                            },
                            "additionalProperties": False,
                        },
                        "The entries.",
                    ),
                    "400": error("An invalid parameter."),
                    "401": response_ref("Unauthorized"),
                    "503": response_ref("Unavailable"),
                },
            }
        },
        "/api/v1/debug/memory": {
            "get": {
                "tags": ["Administration"],
                "summary": "Memory allocation snapshot diff",
                "description": "The first call starts `tracemalloc` and takes a baseline; each "
                "later call answers the allocation sites that grew most since the call before. "
                "Tracing slows the server: use it while investigating, then restart. Needs the "
                "`admin` scope.",
                "parameters": [
                    query(
                        "top",
                        {"type": "integer", "minimum": 1, "maximum": tracing.MAX_TOP},
                        f"At most this many sites (default {tracing.DEFAULT_TOP}).",
                    ),
                ],
                "responses": {
                    "200": json_content(_MEMORY_REPORT, "A baseline, or the growing sites."),
                    "400": error("An invalid parameter."),
                    "401": response_ref("Unauthorized"),
                    "503": response_ref("Unavailable"),
                },
            }
        },
        "/api/v1/debug/profile": {
            "get": {
                "tags": ["Administration"],
                "summary": "Profile the event loop",
                "description": "Samples everything the server's event loop runs for `seconds` "
                "with pyinstrument, then answers the report. Work in other threads (database "
                "queries) shows only as the time the loop waited for it. One profile at a time "
                "(this or a request's `?profile=1`). Needs the `admin` scope.",
                "parameters": [
                    query(
                        "seconds",
                        {"type": "integer", "minimum": 1, "maximum": profiling.MAX_SECONDS},
                        f"How long to sample (default {profiling.DEFAULT_SECONDS}).",
                        example=1,
                    ),
                    query(
                        "format",
                        {"enum": list(profiling.FORMATS)},
                        "pyinstrument's HTML page (default), its text tree, or a speedscope.app "
                        "document.",
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "The report, never cached.",
                        "headers": {
                            "Cache-Control": header(
                                "Always `no-store`.", {"const": "no-store"}, required=True
                            )
                        },
                        "content": {
                            "text/html": {"schema": {"type": "string"}},
                            "text/plain": {"schema": {"type": "string"}},
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "description": "speedscope's file format.",
                                    "required": ["$schema", "profiles"],
                                }
                            },
                        },
                    },
                    "400": error("An invalid parameter."),
                    "401": response_ref("Unauthorized"),
                    "409": error("Another profile is running."),
                    "503": response_ref("Unavailable"),
                },
            }
        },
    }


_MEMORY_REPORT: Schema = {
    "type": "object",
    "required": ["baseline", "interval_seconds", "sites"],
    "properties": {
        "baseline": {
            "type": "boolean",
            "description": "True when this call took the first snapshot (`sites` is empty).",
        },
        "interval_seconds": {"type": ["number", "null"], "minimum": 0},
        "sites": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["site", "size_diff", "count_diff", "size", "count"],
                "properties": {
                    "site": {"type": "string", "description": "`file:line`."},
                    "size_diff": {"type": "integer", "description": "Bytes gained."},
                    "count_diff": {"type": "integer", "description": "Blocks gained."},
                    "size": {"type": "integer", "minimum": 0},
                    "count": {"type": "integer", "minimum": 0},
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}


def _check(**details: Schema) -> Schema:
    return {
        "type": "object",
        "required": ["ok", *details],
        "properties": {"ok": {"type": "boolean"}, **details},
    }


_COUNT = {"type": "integer", "minimum": 0}
_OPTIONAL_COUNT = {"type": ["integer", "null"], "minimum": 0}


def probe_paths() -> dict[str, Schema]:
    """Liveness, readiness and the Prometheus metrics."""
    checks = {
        "metadata": _check(),
        "event_store": _check(writable={"type": "boolean"}, recent_failures={"type": "boolean"}),
        "disk": _check(free_bytes=_OPTIONAL_COUNT, min_free_bytes=_COUNT),
        "ingest_queue": _check(depth=_COUNT, limit=_COUNT, draining={"type": "boolean"}),
        "memory": _check(
            leak_suspected={"type": "boolean"},
            slope_bytes_per_s={"type": "number"},
            window={"type": "number"},
            samples=_COUNT,
        ),
    }
    ready = {
        "type": "object",
        "required": ["ready", "checks"],
        "properties": {
            "ready": {"type": "boolean"},
            "checks": {
                "type": "object",
                "required": list(checks),
                "properties": checks,
                "description": "Each check has `ok` and its details; a failing one may add "
                "`error`. The memory check is always ok (a suspected leak is reported only).",
            },
        },
        "additionalProperties": False,
    }
    return {
        "/healthz": {
            "get": {
                "tags": ["Operations"],
                "summary": "Liveness",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The process answers.",
                        "content": {"text/plain": {"schema": {"const": "ok"}}},
                    }
                },
            }
        },
        "/readyz": {
            "get": {
                "tags": ["Operations"],
                "summary": "Readiness",
                "description": "The metadata store answers, the event store is writable, the "
                "disk has `min_free_disk_mb` free and the ingest queue has room and drains.",
                "security": [],
                "responses": {
                    "200": json_content(ready, "Ready."),
                    "503": json_content(ready, "Not ready; `checks` says why."),
                },
            }
        },
        "/metrics": {
            "get": {
                "tags": ["Operations"],
                "summary": "Prometheus metrics",
                "description": "The Prometheus text exposition (every metric is listed in "
                "docs/metrics.md). Open to direct connections from `metrics_allow` (loopback "
                "by default; never a request a proxy relays), and to anyone sending "
                "`Authorization: Bearer <metrics_token>` when that setting is set. The token "
                "is not an API key: API keys are not accepted here.",
                "security": [],
                "responses": {
                    "200": _plain("The exposition (text format 0.0.4)."),
                    "401": {
                        **_plain("A token is configured and was not sent (or is wrong)."),
                        "headers": {
                            "WWW-Authenticate": header(
                                "`Bearer`.", {"const": "Bearer"}, required=True
                            )
                        },
                    },
                    "403": _plain("No token is configured and the peer is not allowed."),
                },
            }
        },
    }


def _plain(description: str) -> Schema:
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}
