"""The shared parts of footfall's OpenAPI document: helpers, schemas, headers, responses.

footfall.web.api.openapi assembles the paths from these; limits and names come from the modules
that enforce them.
"""

from __future__ import annotations

from typing import Any

from footfall.meta import audit
from footfall.stats.v1 import V1_METRICS
from footfall.stats.v2 import V2_METRICS
from footfall.web.bodies import describe_limit

Schema = dict[str, Any]

SITE = "example.com"
NUMBER: Schema = {"type": ["number", "null"]}
DATE: Schema = {"type": "string", "format": "date"}
_CUSTOM_RANGE = r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*,\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*$"


def ref(name: str) -> Schema:
    """A reference to the shared schema `name`."""
    return {"$ref": f"#/components/schemas/{name}"}


def response_ref(name: str) -> Schema:
    """A reference to the shared response `name`."""
    return {"$ref": f"#/components/responses/{name}"}


def json_content(schema: Schema, description: str, **extra: Any) -> Schema:
    """A response (or body) whose JSON follows `schema`; `extra` adds keys such as headers."""
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        **extra,
    }


def error(description: str) -> Schema:
    """A response with the ``{"error": message}`` body."""
    return json_content(ref("Error"), description)


def too_large(limit: int) -> Schema:
    """The 413 answer of an endpoint whose body may hold at most `limit` bytes."""
    return error(f"The body is larger than {describe_limit(limit)}.")


def query(
    name: str, schema: Schema, description: str, *, required: bool = False, example: Any = None
) -> Schema:
    """A query parameter."""
    parameter: Schema = {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }
    if example is not None:
        parameter["example"] = example
    return parameter


def param_ref(name: str) -> Schema:
    """A reference to the shared parameter `name`."""
    return {"$ref": f"#/components/parameters/{name}"}


def header(description: str, schema: Schema, *, required: bool = False) -> Schema:
    """A response header (`required`: always sent with that response)."""
    return {"description": description, "required": required, "schema": schema}


# -- shared schemas --------------------------------------------------------------------------

_GOAL_PROPERTIES: Schema = {
    "id": {"type": "integer", "minimum": 1},
    "display_name": {"type": "string"},
    "goal_type": {"enum": ["event", "page"]},
    "event_name": {"type": ["string", "null"]},
    "page_path": {"type": ["string", "null"]},
}

SCHEMAS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "description": "Every refusal of the JSON APIs but the Events API's field errors.",
        "required": ["error"],
        "properties": {"error": {"type": "string", "description": "What was wrong."}},
        "additionalProperties": False,
    },
    "EventRequest": {
        "type": "object",
        "description": (
            "One event, in Plausible's Events API format. `name` (or `n`) and `url` (or `u`) "
            "are required; `domain` defaults to the URL's host and may list several sites "
            "separated by commas. Short keys win over long ones; unknown keys are ignored."
        ),
        "properties": {
            "name": {
                "type": ["string", "integer"],
                "description": "`pageview`, `engagement` or a custom event name (at most 120 "
                "characters).",
            },
            "n": {"type": ["string", "integer"], "description": "Short for `name`."},
            "url": {"type": "string", "description": "The page URL (at most 2000 bytes)."},
            "u": {"type": "string", "description": "Short for `url`."},
            "domain": {"type": "string", "description": "The site(s), comma-separated."},
            "d": {"type": "string", "description": "Short for `domain`."},
            "referrer": {"type": "string", "description": "The referrer URL."},
            "r": {"type": "string", "description": "Short for `referrer`."},
            "props": {
                "type": ["object", "string"],
                "description": "Custom properties (at most 30): an object, or its JSON text.",
            },
            "p": {"type": ["object", "string"], "description": "Short for `props`."},
            "meta": {"type": ["object", "string"], "description": "Alias of `props`."},
            "m": {"type": ["object", "string"], "description": "Short for `meta`."},
            "interactive": {
                "type": "boolean",
                "description": "False for events that do not end a bounce (default true).",
            },
            "i": {"type": "boolean", "description": "Short for `interactive`."},
            "hashMode": {
                "type": ["integer", "string"],
                "description": "1 when the page routes by URL fragment.",
            },
            "h": {"type": ["integer", "string"], "description": "Short for `hashMode`."},
            "sd": {
                "type": ["integer", "string"],
                "description": "Scroll depth in per cent (engagement events).",
            },
            "e": {
                "type": ["integer", "string"],
                "description": "Engaged time in milliseconds (engagement events).",
            },
        },
    },
    "EventFieldErrors": {
        "type": "object",
        "description": "Plausible's validation answer: every failing field with its messages.",
        "required": ["errors"],
        "properties": {
            "errors": {
                "type": "object",
                "propertyNames": {
                    "enum": ["request", "event_name", "url", "domain", "props", "hash_mode"]
                },
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            }
        },
        "additionalProperties": False,
    },
    "BadJson": {
        "type": "object",
        "description": "An `application/json` body that is not JSON (Phoenix's own answer).",
        "required": ["status", "message"],
        "properties": {"status": {"const": 400}, "message": {"const": "Bad Request"}},
        "additionalProperties": False,
    },
    "ImportReport": {
        "type": "object",
        "description": "What an import did; `errors` lists the first rejected lines.",
        "required": ["lines", "stored", "sessions", "dropped", "rejected", "errors"],
        "properties": {
            "lines": {"type": "integer", "minimum": 0, "description": "Lines read."},
            "stored": {"type": "integer", "minimum": 0, "description": "Events stored."},
            "sessions": {"type": "integer", "minimum": 0, "description": "Sessions built."},
            "dropped": {
                "type": "integer",
                "minimum": 0,
                "description": "Events dropped (bots, excluded traffic), as live ingest "
                "drops them.",
            },
            "rejected": {"type": "integer", "minimum": 0, "description": "Invalid lines."},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["line", "error"],
                    "properties": {
                        "line": {"type": "integer", "minimum": 1},
                        "error": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    },
    "MetricValue": {
        "type": "object",
        "required": ["value"],
        "properties": {
            "value": NUMBER,
            "comparison_value": {**NUMBER, "description": "With `compare`."},
            "change": {
                **NUMBER,
                "description": "With `compare`: per cent, or points for "
                "`bounce_rate` and `conversion_rate`.",
            },
        },
        "additionalProperties": False,
    },
    "V2Query": {
        "type": "object",
        "description": "A Stats API v2 query (Plausible's query schema).",
        "required": ["site_id", "metrics", "date_range"],
        "properties": {
            "site_id": {"type": "string", "description": "The site's domain.", "examples": [SITE]},
            "metrics": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"enum": sorted(V2_METRICS)},
            },
            "date_range": {
                "description": "`day`, `month`, `year`, `all`, `<n>d` (1-5000 days before "
                "today), `<n>mo` (1-100 months before this one), or two ISO dates, or two ISO "
                "date-times with offsets.",
                "anyOf": [
                    {"enum": ["day", "month", "year", "all"]},
                    {"type": "string", "pattern": "^[0-9]{1,4}(d|mo)$"},
                    {
                        "type": "array",
                        "minItems": 2,
                        "maxItems": 2,
                        "items": {"anyOf": [DATE, {"type": "string", "format": "date-time"}]},
                    },
                ],
            },
            "dimensions": {
                "type": "array",
                "uniqueItems": True,
                "items": {"type": "string"},
                "description": "`event:*`, `visit:*`, `event:props:<name>`, `time` or "
                "`time:hour|day|week|month`.",
            },
            "filters": {
                "type": "array",
                "description": "`[operator, dimension, values, modifiers?]`, or `and`/`or` "
                "over a list, `not`, `has_done`/`has_not_done` over one filter.",
                "items": {"type": "array", "minItems": 2, "maxItems": 4},
            },
            "order_by": {
                "type": ["array", "null"],
                "description": "Default (and null): the time dimension ascending, then the "
                "first metric descending.",
                "items": {
                    "type": "array",
                    "prefixItems": [{"type": "string"}, {"enum": ["asc", "desc"]}],
                    "minItems": 2,
                    "maxItems": 2,
                },
            },
            "include": {
                "type": "object",
                "properties": {
                    name: {"type": "boolean"}
                    for name in ("imports", "time_labels", "total_rows", "trim_relative_date_range")
                },
                "additionalProperties": False,
            },
            "pagination": {
                "type": "object",
                "properties": {
                    "limit": {"type": "integer", "minimum": 1, "maximum": 10000},
                    "offset": {"type": "integer", "minimum": 0},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
    "V2Response": {
        "type": "object",
        "required": ["results", "meta", "query"],
        "properties": {
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["metrics", "dimensions"],
                    "properties": {
                        "metrics": {"type": "array", "items": NUMBER},
                        "dimensions": {
                            "type": "array",
                            "items": {"type": ["string", "integer", "null"]},
                        },
                    },
                    "additionalProperties": False,
                },
            },
            "meta": {
                "type": "object",
                "properties": {
                    "time_labels": {"type": "array", "items": {"type": "string"}},
                    "total_rows": {"type": ["integer", "null"]},
                },
                "additionalProperties": False,
            },
            "query": {
                "type": "object",
                "description": "The query as understood, defaults filled in.",
                "required": [
                    "site_id",
                    "metrics",
                    "date_range",
                    "filters",
                    "dimensions",
                    "order_by",
                    "include",
                    "pagination",
                ],
                "properties": {
                    "site_id": {"type": "string"},
                    "metrics": {"type": "array", "items": {"type": "string"}},
                    "date_range": {
                        "type": "array",
                        "items": {"type": "string"},
                        "minItems": 2,
                        "maxItems": 2,
                    },
                    "filters": {"type": "array"},
                    "dimensions": {"type": "array", "items": {"type": "string"}},
                    "order_by": {"type": "array", "items": {"type": "array"}},
                    "include": {"type": "object", "additionalProperties": {"const": True}},
                    "pagination": {
                        "type": "object",
                        "required": ["offset", "limit"],
                        "properties": {
                            "offset": {"type": "integer"},
                            "limit": {"type": ["integer", "null"]},
                        },
                        "additionalProperties": False,
                    },
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
    "GoalRequest": {
        "type": "object",
        "description": "A goal to find or create: an `event_name` for `event` goals, a "
        "`page_path` for `page` goals.",
        "required": ["site_id", "goal_type"],
        "properties": {
            "site_id": {"type": "string", "examples": [SITE]},
            "goal_type": {"enum": ["event", "page"]},
            "event_name": {"type": ["string", "null"], "maxLength": 120},
            "page_path": {
                "type": ["string", "null"],
                "description": "Starts with `/`; `*` and `**` are wildcards.",
            },
            "display_name": {"type": ["string", "null"], "maxLength": 255},
            "custom_props": {
                "type": ["object", "null"],
                "description": "At most 3 properties a conversion must also carry (null: none).",
                "maxProperties": 3,
                "additionalProperties": {"type": "string"},
            },
        },
    },
    "Goal": {
        "type": "object",
        "required": list(_GOAL_PROPERTIES),
        "properties": _GOAL_PROPERTIES,
        "additionalProperties": False,
    },
    "SiteGoal": {
        "type": "object",
        "description": "A goal with its site's domain and its custom properties.",
        "required": ["domain", *_GOAL_PROPERTIES, "custom_props"],
        "properties": {
            "domain": {"type": "string"},
            **_GOAL_PROPERTIES,
            "custom_props": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "additionalProperties": False,
    },
    "AuditEntry": {
        "type": "object",
        "required": ["id", "at", "actor", "action", "target", "ip", "before", "after"],
        "properties": {
            "id": {"type": "integer"},
            "at": {"type": "string", "description": "ISO 8601, UTC."},
            "actor": {"type": "string", "description": "`key:<name>`, `cli:<user>`, ..."},
            "action": {"type": "string", "description": "One of " + ", ".join(audit.ACTIONS)},
            "target": {"type": "string"},
            "ip": {"type": ["string", "null"]},
            "before": {"type": ["object", "null"], "description": "State before the change."},
            "after": {"type": ["object", "null"], "description": "State after the change."},
        },
        "additionalProperties": False,
    },
}

HEADERS: dict[str, Schema] = {
    "Retry-After": header(
        "Seconds to wait before retrying.", {"type": "integer", "minimum": 1}, required=True
    ),
    "RateLimit-Limit": header("Requests allowed per window.", {"type": "integer"}),
    "RateLimit-Remaining": header("Requests left in this window.", {"type": "integer"}),
    "RateLimit-Reset": header("Seconds until the window ends.", {"type": "integer"}),
}
RATE_HEADERS = {
    name: {"$ref": f"#/components/headers/{name}"}
    for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
}

RESPONSES: dict[str, Schema] = {
    "Unauthorized": error(
        "The key is missing, unknown, expired or revoked, or lacks the scope; or the site is "
        "unknown or out of the key's reach (Plausible's wording, the same for both)."
    ),
    "Forbidden": error("The key is valid but lacks the scope this operation needs."),
    "TooManyRequests": json_content(
        ref("Error"),
        "The key is over its hourly Stats API limit.",
        headers={"Retry-After": {"$ref": "#/components/headers/Retry-After"}, **RATE_HEADERS},
    ),
    "Unavailable": error("The store is busy or unavailable, or the query timed out; retry."),
}

# -- parameters ---------------------------------------------------------------------------

PARAMETERS: dict[str, Schema] = {
    "SiteId": query(
        "site_id", {"type": "string"}, "The site's domain.", required=True, example=SITE
    ),
    "Period": query(
        "period",
        {"enum": ["day", "7d", "30d", "month", "6mo", "12mo", "custom"]},
        "Time period (default `30d`); `7d` and `30d` end yesterday.",
    ),
    "Date": query(
        "date",
        {"anyOf": [DATE, {"type": "string", "pattern": _CUSTOM_RANGE}]},
        "`YYYY-MM-DD` the period is relative to (default today, UTC); for `custom`, "
        "`YYYY-MM-DD,YYYY-MM-DD`.",
        example="2026-11-01",
    ),
    "Metrics": query(
        "metrics",
        {"type": "string"},
        "Comma-separated metrics (default `visitors`): " + ", ".join(V1_METRICS) + ".",
        example="visitors,pageviews",
    ),
    "Filters": query(
        "filters",
        {"type": "string"},
        "`property==value;property!=a|b` (`*` wildcards), or a JSON array of v2 filters.",
        example="event:page==/pricing",
    ),
    "Compare": query(
        "compare", {"enum": ["previous_period"]}, "Adds the previous period's values."
    ),
    "WithImported": query(
        "with_imported",
        {"type": "string"},
        "Accepted for compatibility; footfall's imports are ordinary events and always included.",
    ),
}
