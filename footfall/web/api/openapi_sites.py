"""The OpenAPI paths of Plausible's Sites API: sites, teams, links, goals, properties, guests."""

from __future__ import annotations

from typing import Any

from footfall.web.api import sites_common
from footfall.web.api.openapi_components import (
    SCHEMAS,
    SITE,
    Schema,
    error,
    json_content,
    param_ref,
    query,
    ref,
    response_ref,
    too_large,
)

_TAG = ["Sites API"]
_READ = "Needs the `stats:read` or `sites:write` scope; a viewer's key sees its sites only."
_WRITE = "Needs the `sites:write` scope."
_CURSOR = {"type": "string", "pattern": r"^[0-9]{1,18}(\.[0-9]{1,18}){0,2}$"}
_STATUSES: dict[str, Schema] = {
    "401": response_ref("Unauthorized"),
    "403": response_ref("Forbidden"),
    "404": error("The site does not exist or is out of the key's reach."),
    "503": response_ref("Unavailable"),
}
_BODY_STATUSES: dict[str, Schema] = {
    "413": too_large(sites_common.MAX_BODY_BYTES),
    "415": error("The body is neither JSON nor form-encoded."),
}
_DELETED = json_content(
    {
        "type": "object",
        "required": ["deleted"],
        "properties": {"deleted": {"const": True}},
        "additionalProperties": False,
    },
    "Deleted (also when there was nothing to delete, where the operation says so).",
)
_SITE: Schema = {
    "type": "object",
    "required": ["domain", "timezone", "custom_properties"],
    "properties": {
        "domain": {"type": "string"},
        "timezone": {"type": "string"},
        "custom_properties": {"type": "array", "items": {"type": "string"}},
        # footfall's own: Plausible has no retention.
        "retention_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 36500},
    },
    "additionalProperties": False,
}
_GUEST: Schema = {
    "type": "object",
    "required": ["email", "role", "status"],
    "properties": {
        "email": {"type": "string"},
        "role": {"const": "viewer"},
        "status": {"enum": ["accepted", "invited"]},
    },
    "additionalProperties": False,
}


def _object(**properties: Schema) -> Schema:
    return {
        "type": "object",
        "required": list(properties),
        "properties": properties,
        "additionalProperties": False,
    }


def _list(name: str, item: Schema, what: str) -> Schema:
    meta = _object(
        after={"type": ["string", "null"]},
        before={"type": ["string", "null"]},
        limit={"type": "integer"},
    )
    return json_content(_object(**{name: {"type": "array", "items": item}}, meta=meta), what)


def _paging(what: str) -> list[Schema]:
    return [
        query(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": sites_common.MAX_LIMIT},
            f"{what} per page (default {sites_common.DEFAULT_LIMIT}).",
        ),
        query("after", _CURSOR, "`meta.after` of the previous page."),
        query("before", _CURSOR, "`meta.before` of the next page."),
    ]


def _body(schema: Schema, example: dict[str, Any]) -> Schema:
    """A JSON or form body; parameters may also come from the query string (the body wins)."""
    return {
        "required": True,
        "content": {
            "application/json": {"schema": schema, "example": example},
            "application/x-www-form-urlencoded": {"schema": schema},
        },
    }


def _request(**properties: Schema) -> Schema:
    return {"type": "object", "required": list(properties), "properties": properties}


def _path(name: str, description: str, example: str, *, pattern: str | None = None) -> Schema:
    schema: Schema = {"type": "string"}
    if pattern:
        schema["pattern"] = pattern
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
        "example": example,
    }


def _site_paths() -> dict[str, Schema]:
    site_id = _path("site_id", "The site's domain, or the one it was renamed from.", SITE)
    # The changing operations' example names no site of the document's other examples.
    other_site = _path(
        "site_id", "The site's domain, or the one it was renamed from.", "retired.example.com"
    )
    return {
        "/api/v1/sites": {
            "get": {
                "tags": _TAG,
                "summary": "List sites",
                "description": "The sites the key reaches, newest first. `team_id` is accepted "
                "and ignored: every site is in the one team. " + _READ,
                "parameters": [
                    *_paging("Sites"),
                    query("team_id", {"type": "string"}, "Ignored."),
                ],
                "responses": {
                    "200": _list(
                        "sites",
                        _object(domain={"type": "string"}, timezone={"type": "string"}),
                        "One page of sites.",
                    ),
                    "400": error("A bad `limit` or cursor."),
                    **_STATUSES,
                },
            },
            "post": {
                "tags": _TAG,
                "summary": "Create a site",
                "description": "`timezone` defaults to `Etc/UTC`. " + _WRITE,
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["domain"],
                        "properties": {
                            "domain": {"type": "string"},
                            "timezone": {"type": "string"},
                            "team_id": {"type": "string", "description": "Ignored."},
                        },
                    },
                    {"domain": "new.example.com", "timezone": "Europe/London"},
                ),
                "responses": {
                    "200": json_content(_SITE, "The new site."),
                    "400": error("A missing or invalid domain or time zone, or a taken domain."),
                    **_STATUSES,
                    **_BODY_STATUSES,
                },
            },
        },
        "/api/v1/sites/teams": {
            "get": {
                "tags": _TAG,
                "summary": "List teams",
                "description": "The installation's one team. " + _READ,
                "parameters": _paging("Teams"),
                "responses": {
                    "200": _list(
                        "teams",
                        _object(
                            id={"type": "string"},
                            name={"type": "string"},
                            api_available={"type": "boolean"},
                        ),
                        "The team.",
                    ),
                    "400": error("A bad `limit` or cursor."),
                    **_STATUSES,
                },
            }
        },
        "/api/v1/sites/{site_id}": {
            "get": {
                "tags": _TAG,
                "summary": "Get a site",
                "description": _READ,
                "parameters": [site_id],
                "responses": {"200": json_content(_SITE, "The site."), **_STATUSES},
            },
            "put": {
                "tags": _TAG,
                "summary": "Rename a site or change its retention",
                "description": "The old domain keeps naming a renamed site, for the API and for "
                "events. `retention_days` (footfall's own) keeps today and that many whole days "
                "before it, in the site's time zone: older events are deleted at once and then "
                "daily; null keeps every event. `tracker_script_configuration` is accepted and "
                "ignored. " + _WRITE,
                "parameters": [other_site],
                "requestBody": _body(
                    {
                        "type": "object",
                        "properties": {
                            "domain": {"type": "string"},
                            "tracker_script_configuration": {"type": "object"},
                            "retention_days": {
                                "type": ["integer", "null"],
                                "minimum": 1,
                                "maximum": 36500,
                            },
                        },
                    },
                    {"domain": "renamed.example.com"},
                ),
                "responses": {
                    "200": json_content(_SITE, "The site."),
                    "400": error(
                        "Nothing to change, an invalid, unchanged or taken domain, or an "
                        "invalid retention."
                    ),
                    **_STATUSES,
                    **_BODY_STATUSES,
                },
            },
            "delete": {
                "tags": _TAG,
                "summary": "Delete a site",
                "description": "With its goals, shared links, grants, invitations and every "
                "stored event, as `footfall site delete` does; audited. " + _WRITE,
                "parameters": [other_site],
                "responses": {"200": _DELETED, **_STATUSES},
            },
        },
        "/api/v1/sites/shared-links": {
            "put": {
                "tags": _TAG,
                "summary": "Find or create a shared link",
                "description": "By name; the answer gives the link's address. " + _WRITE,
                "requestBody": _body(
                    _request(site_id={"type": "string"}, name={"type": "string"}),
                    {"site_id": SITE, "name": "WordPress"},
                ),
                "responses": {
                    "200": json_content(
                        _object(name={"type": "string"}, url={"type": "string"}), "The link."
                    ),
                    "400": error("A missing or invalid parameter."),
                    "409": error("A link of that name was made and removed meanwhile; retry."),
                    **_STATUSES,
                    **_BODY_STATUSES,
                },
            }
        },
    }


def _goal_paths() -> dict[str, Schema]:
    form = {k: v for k, v in SCHEMAS["GoalRequest"].items() if k != "properties"}
    form["properties"] = {
        k: v for k, v in SCHEMAS["GoalRequest"]["properties"].items() if k != "custom_props"
    }
    goal_statuses = {**_STATUSES, "404": error("The site or the goal does not exist.")}
    return {
        "/api/v1/sites/goals": {
            "put": {
                "tags": _TAG,
                "summary": "Find or create a goal",
                "description": "Returns the identical goal if it exists. " + _WRITE,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": ref("GoalRequest"),
                            "example": {
                                "site_id": SITE,
                                "goal_type": "event",
                                "event_name": "Signup",
                            },
                        },
                        "application/x-www-form-urlencoded": {"schema": form},
                    },
                },
                "responses": {
                    "200": json_content(ref("SiteGoal"), "The goal."),
                    "400": error("A missing or invalid parameter, or a conflicting goal."),
                    **goal_statuses,
                    **_BODY_STATUSES,
                },
            },
            "get": {
                "tags": _TAG,
                "summary": "List goals",
                "description": "A site's goals, newest first. " + _READ,
                "parameters": [param_ref("SiteId"), *_paging("Goals")],
                "responses": {
                    "200": _list("goals", ref("Goal"), "One page of goals."),
                    "400": error("A missing or invalid parameter."),
                    **goal_statuses,
                },
            },
        },
        "/api/v1/sites/goals/{goal_id}": {
            "delete": {
                "tags": _TAG,
                "summary": "Delete a goal",
                "description": "`site_id` may also come in a JSON or form body. " + _WRITE,
                "parameters": [
                    {
                        "name": "goal_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                        "example": 1,
                    },
                    param_ref("SiteId"),
                ],
                "responses": {
                    "200": _DELETED,
                    "400": error("`site_id` is missing, or the body is malformed."),
                    **goal_statuses,
                    **_BODY_STATUSES,
                },
            }
        },
    }


def _people_paths() -> dict[str, Schema]:
    return {
        "/api/v1/sites/custom-props": {
            "get": {
                "tags": _TAG,
                "summary": "List custom properties",
                "description": "The property names declared for a site, in declaration "
                "order. " + _READ,
                "parameters": [param_ref("SiteId")],
                "responses": {
                    "200": json_content(
                        _object(
                            custom_properties={
                                "type": "array",
                                "items": _object(property={"type": "string"}),
                            }
                        ),
                        "The declared properties.",
                    ),
                    "400": error("`site_id` is missing."),
                    **_STATUSES,
                },
            },
            "put": {
                "tags": _TAG,
                "summary": "Declare a custom property",
                "description": "Idempotent; at most 300 per site, names of at most 300 bytes. "
                + _WRITE,
                "requestBody": _body(
                    _request(site_id={"type": "string"}, property={"type": "string"}),
                    {"site_id": SITE, "property": "author"},
                ),
                "responses": {
                    "200": json_content(_object(created={"const": True}), "Declared."),
                    "400": error("A missing parameter, a too long name or too many."),
                    **_STATUSES,
                    **_BODY_STATUSES,
                },
            },
        },
        "/api/v1/sites/custom-props/{property}": {
            "delete": {
                "tags": _TAG,
                "summary": "Remove a custom property",
                "description": "The name may hold slashes; removing an undeclared one "
                "succeeds. `site_id` may also come in a JSON or form body. " + _WRITE,
                "parameters": [
                    _path("property", "The property's name.", "author"),
                    param_ref("SiteId"),
                ],
                "responses": {
                    "200": _DELETED,
                    "400": error("`site_id` is missing, or the body is malformed."),
                    **_STATUSES,
                    **_BODY_STATUSES,
                },
            }
        },
        "/api/v1/sites/guests": {
            "get": {
                "tags": _TAG,
                "summary": "List guests",
                "description": "Viewers granted the site (`accepted`) and addresses invited "
                "to it (`invited`), newest first. " + _READ,
                "parameters": [param_ref("SiteId"), *_paging("Guests")],
                "responses": {
                    "200": _list("guests", _GUEST, "One page of guests."),
                    "400": error("A missing or invalid parameter."),
                    **_STATUSES,
                },
            },
            "put": {
                "tags": _TAG,
                "summary": "Find, grant or invite a guest",
                "description": "An existing guest is answered as it is; a viewer's address is "
                "granted the site; any other address is invited, and becomes a granted viewer "
                "when a user is added with it. Only `viewer` guests exist. " + _WRITE,
                "requestBody": _body(
                    _request(
                        site_id={"type": "string"},
                        email={"type": "string"},
                        role={"enum": ["viewer", "editor"]},
                    ),
                    {"site_id": SITE, "email": "alice@example.com", "role": "viewer"},
                ),
                "responses": {
                    "200": json_content(_GUEST, "The guest."),
                    "400": error(
                        "A missing parameter, an `editor` role, a malformed or admin's address."
                    ),
                    **_STATUSES,
                    **_BODY_STATUSES,
                },
            },
        },
        "/api/v1/sites/guests/{email}": {
            "delete": {
                "tags": _TAG,
                "summary": "Remove a guest",
                "description": "Withdraws the invitation or the grant; succeeds when there is "
                "none. `site_id` may also come in a JSON or form body. " + _WRITE,
                "parameters": [
                    _path("email", "The guest's address.", "alice@example.com"),
                    param_ref("SiteId"),
                ],
                "responses": {
                    "200": _DELETED,
                    "400": error("`site_id` is missing, or the body is malformed."),
                    **_STATUSES,
                    **_BODY_STATUSES,
                },
            }
        },
    }


def sites_paths() -> dict[str, Schema]:
    """Every Sites API operation."""
    return {**_site_paths(), **_goal_paths(), **_people_paths()}
