"""The OpenAPI paths of the alerts admin API (footfall.web.api.alerts)."""

from __future__ import annotations

from footfall.alerts.model import CHANNEL_KINDS, SEVERITIES
from footfall.web.api.openapi_components import (
    SITE,
    Schema,
    error,
    json_content,
    query,
    response_ref,
    too_large,
)
from footfall.web.bodies import SITES_API_BYTES

_NAME: Schema = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "The alert's name.",
    "schema": {"type": "string", "minLength": 1},
    "example": "busy",
}
_TIME: Schema = {"type": ["string", "null"], "format": "date-time"}
ALERT: Schema = {
    "type": "object",
    "required": ["name", "metric", "status", "channels", "threshold"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "site": {"type": ["string", "null"]},
        "metric": {"type": "string", "description": "visitors, pageviews, events or ops:<name>."},
        "comparison": {"enum": ["above", "below", "spike", "drop", "stalled"]},
        "threshold": {"type": "number"},
        "window_minutes": {"type": "integer"},
        "for_minutes": {"type": "integer"},
        "renotify_minutes": {"type": "integer"},
        "severity": {"enum": list(SEVERITIES)},
        "goal": {"type": ["string", "null"]},
        "route": {"type": ["string", "null"]},
        "channels": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Each channel as shown: a URL without its path, which may be secret.",
        },
        "condition": {"type": "string"},
        "enabled": {"type": "boolean"},
        "status": {"enum": ["ok", "pending", "firing"]},
        "since": _TIME,
        "value": {"type": ["number", "null"]},
        "evaluated_at": _TIME,
        "notified_at": _TIME,
        "acknowledged_by": {"type": ["string", "null"]},
        "acknowledged_at": _TIME,
        "silenced_until": _TIME,
        "silenced_by": {"type": ["string", "null"]},
        "error": {"type": ["string", "null"]},
    },
}
_ONE: Schema = {
    "type": "object",
    "required": ["alert"],
    "properties": {"alert": ALERT},
}
_AUTH: dict[str, Schema] = {
    "401": response_ref("Unauthorized"),
    "503": response_ref("Unavailable"),
}
_BODY: dict[str, Schema] = {
    "400": error("A parameter is missing or invalid, or the body is not a JSON object."),
    "413": too_large(SITES_API_BYTES),
}
_REQUEST: Schema = {
    "type": "object",
    "required": ["name", "metric", "channels"],
    "properties": {
        "name": {"type": "string", "example": "busy"},
        "site_id": {"type": "string", "description": "The site of a traffic rule."},
        "metric": {"type": "string", "example": "visitors"},
        "above": {"type": "number"},
        "below": {"type": "number"},
        "spike": {"type": "number", "description": "Percent against a week earlier."},
        "drop": {"type": "number", "description": "Percent against a week earlier."},
        "window": {"type": "integer", "minimum": 1, "description": "Minutes (default 15)."},
        "for": {"type": "integer", "minimum": 0, "description": "Minutes (default 0)."},
        "renotify": {"type": "integer", "minimum": 1, "description": "Minutes (default 60)."},
        "severity": {"enum": list(SEVERITIES)},
        "goal": {"type": "string"},
        "route": {"type": "string"},
        "channels": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kind"],
                "properties": {"kind": {"enum": list(CHANNEL_KINDS)}, "target": {"type": "string"}},
            },
        },
    },
}


def alert_paths() -> dict[str, Schema]:
    """The alert rules, their state, history and deliveries."""
    admin = "Needs the `admin` scope."
    return {
        "/api/v1/alerts": {
            "get": {
                "tags": ["Alerts"],
                "summary": "List alert rules",
                "description": f"Every rule with its state, by name. {admin}",
                "responses": {
                    "200": json_content(
                        {
                            "type": "object",
                            "required": ["alerts"],
                            "properties": {"alerts": {"type": "array", "items": ALERT}},
                        },
                        "The rules.",
                    ),
                    **_AUTH,
                },
            },
            "post": {
                "tags": ["Alerts"],
                "summary": "Add an alert rule",
                "description": "One condition of `above`, `below`, `spike`, `drop` (ops:"
                f"ingest_stalled, ops:memory_leak and ops:ready have defaults). {admin}",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _REQUEST,
                            "example": {
                                "name": "busy",
                                "site_id": SITE,
                                "metric": "visitors",
                                "window": 15,
                                "above": 100,
                                "channels": [
                                    {"kind": "webhook", "target": "https://hooks.example.org/x"}
                                ],
                            },
                        }
                    },
                },
                "responses": {
                    "201": json_content(_ONE, "The new rule."),
                    **_BODY,
                    "404": error("The site or the goal does not exist."),
                    **_AUTH,
                },
            },
        },
        "/api/v1/alerts/deliveries": {
            "get": {
                "tags": ["Alerts"],
                "summary": "Notification deliveries",
                "description": f"Newest first: pending, sent and failed deliveries. {admin}",
                "parameters": [
                    query("status", {"enum": ["pending", "sent", "failed"]}, "Only these."),
                    query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 1000},
                        "At most this many (default 50).",
                    ),
                ],
                "responses": {
                    "200": json_content(
                        {
                            "type": "object",
                            "required": ["deliveries"],
                            "properties": {
                                "deliveries": {"type": "array", "items": {"type": "object"}}
                            },
                        },
                        "The deliveries.",
                    ),
                    "400": error("An invalid parameter."),
                    **_AUTH,
                },
            }
        },
        "/api/v1/alerts/{name}": {
            "get": {
                "tags": ["Alerts"],
                "summary": "An alert rule and its history",
                "description": f"The rule, its state, and its latest history entries. {admin}",
                "parameters": [
                    _NAME,
                    query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 1000},
                        "At most this many history entries (default 50).",
                    ),
                ],
                "responses": {
                    "200": json_content(
                        {
                            "type": "object",
                            "required": ["alert", "history"],
                            "properties": {
                                "alert": ALERT,
                                "history": {"type": "array", "items": {"type": "object"}},
                            },
                        },
                        "The rule and its history.",
                    ),
                    "400": error("An invalid parameter."),
                    "404": error("No alert has that name."),
                    **_AUTH,
                },
            },
            "delete": {
                "tags": ["Alerts"],
                "summary": "Delete an alert rule",
                "description": f"Its history is kept. {admin}",
                "parameters": [_NAME],
                "responses": {
                    "200": json_content(
                        {
                            "type": "object",
                            "required": ["deleted"],
                            "properties": {"deleted": {"const": True}},
                        },
                        "Deleted.",
                    ),
                    "404": error("No alert has that name."),
                    **_AUTH,
                },
            },
        },
        "/api/v1/alerts/{name}/test": {
            "post": {
                "tags": ["Alerts"],
                "summary": "Send a test notification",
                "description": 'Queues a test notification (`"test": true`) to each channel; '
                f"the alerting job sends it at once. {admin}",
                "parameters": [_NAME],
                "responses": {
                    "202": json_content(
                        {
                            "type": "object",
                            "required": ["queued"],
                            "properties": {
                                "queued": {"type": "array", "items": {"type": "string"}}
                            },
                        },
                        "Queued.",
                    ),
                    "404": error("No alert has that name."),
                    **_AUTH,
                },
            }
        },
        "/api/v1/alerts/{name}/acknowledge": {
            "post": {
                "tags": ["Alerts"],
                "summary": "Acknowledge a firing alert",
                "description": f"No re-notification until it resolves. {admin}",
                "parameters": [_NAME],
                "responses": {
                    "200": json_content(_ONE, "The rule, acknowledged."),
                    "404": error("No alert has that name."),
                    "409": error("The alert is not firing."),
                    **_AUTH,
                },
            }
        },
        "/api/v1/alerts/{name}/silence": {
            "post": {
                "tags": ["Alerts"],
                "summary": "Silence an alert's notifications",
                "description": "Until `minutes` from now or `until` (ISO 8601), or `lift` it. "
                f"The rule is still evaluated. {admin}",
                "parameters": [_NAME],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "minutes": {"type": "integer", "minimum": 1},
                                    "until": {"type": "string", "format": "date-time"},
                                    "lift": {"type": "boolean"},
                                },
                            },
                            "example": {"minutes": 60},
                        }
                    },
                },
                "responses": {
                    "200": json_content(_ONE, "The rule, silenced or not."),
                    **_BODY,
                    "404": error("No alert has that name."),
                    **_AUTH,
                },
            }
        },
    }
