"""The OpenAPI paths of the data lifecycle endpoints: backup, export, site reset, retention."""

from __future__ import annotations

from footfall.lifecycle.export import FORMATS
from footfall.web.api.openapi_components import (
    DATE,
    SITE,
    Schema,
    error,
    json_content,
    query,
    response_ref,
)

_SOCKET = (
    " On the control socket (`<data-dir>/control.sock`) no key is needed: the socket's file "
    "permissions decide who may connect. On the port it needs the `admin` scope."
)
_STATUSES: dict[str, Schema] = {
    "401": response_ref("Unauthorized"),
    "403": error("The key lacks the `admin` scope."),
    "413": error("The request has a body: these endpoints take none."),
    "503": error("The event store or the metadata database failed; the message says why."),
}
_BINARY: Schema = {"type": "string", "format": "binary"}
_DELETED: Schema = {"type": "integer", "minimum": 0}


def _download(media_types: tuple[str, ...], description: str) -> Schema:
    return {
        "description": description,
        "content": {media: {"schema": _BINARY} for media in media_types},
    }


def lifecycle_paths() -> dict[str, Schema]:
    """The admin endpoints that `footfall backup`, `export`, `site reset` and `site set` use."""
    retention_item: Schema = {
        "type": "object",
        "required": ["site", "retention_days", "before", "events", "sessions", "bytes_freed"],
        "properties": {
            "site": {"type": "string"},
            "retention_days": {"type": "integer", "minimum": 1},
            "before": {"type": "string", "format": "date-time"},
            "events": _DELETED,
            "sessions": _DELETED,
            "bytes_freed": {"type": ["integer", "null"], "minimum": 0},
            "summary": {"type": "string"},
        },
    }
    return {
        "/api/v1/admin/backup": {
            "post": {
                "tags": ["Administration"],
                "summary": "Backup archive",
                "description": "A consistent backup of the whole data directory, taken while "
                "the server serves: the event store's snapshot, the metadata database without "
                "its salts, and a manifest with versions, counts and SHA-256 checksums, as a "
                "tar stream of exact `Content-Length`." + _SOCKET,
                "parameters": [
                    query(
                        "metadata",
                        {"enum": ["true", "false"]},
                        "`false` leaves the metadata database out.",
                    ),
                    query(
                        "to",
                        {"type": "string"},
                        "Where the caller keeps the archive, for the audit log.",
                    ),
                ],
                "responses": {
                    "200": _download(("application/x-tar",), "The archive."),
                    **_STATUSES,
                },
            }
        },
        "/api/v1/admin/export": {
            "get": {
                "tags": ["Administration"],
                "summary": "Export a site",
                "description": "`csv`: Plausible's export zip (`imported_*` tables of daily "
                "aggregates); `ndjson`, `parquet`: the raw events in footfall's import format, "
                "without IP addresses or User-Agents (never stored). Streamed." + _SOCKET,
                "parameters": [
                    query("site_id", {"type": "string"}, "The site.", required=True, example=SITE),
                    query(
                        "format",
                        {"enum": list(FORMATS)},
                        "The format.",
                        required=True,
                        example="csv",
                    ),
                    query("from", DATE, "First day (site time zone); the first with events."),
                    query("to", DATE, "Last day, inclusive; the last with events."),
                ],
                "responses": {
                    "200": _download(
                        (
                            "application/zip",
                            "application/x-ndjson",
                            "application/vnd.apache.parquet",
                        ),
                        "The export.",
                    ),
                    "400": error("A missing or invalid parameter."),
                    "404": error("No such site."),
                    **_STATUSES,
                },
            }
        },
        "/api/v1/admin/sites/{domain}/reset": {
            "post": {
                "tags": ["Administration"],
                "summary": "Delete a site's events",
                "description": "Deletes every event and visit of the site; the site and its "
                "settings stay. Audited as `site.reset`." + _SOCKET,
                "parameters": [
                    {
                        "name": "domain",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "example": SITE,
                    }
                ],
                "responses": {
                    "200": json_content(
                        {
                            "type": "object",
                            "required": ["site", "events", "sessions"],
                            "properties": {
                                "site": {"type": "string"},
                                "events": _DELETED,
                                "sessions": _DELETED,
                            },
                            "additionalProperties": False,
                        },
                        "What was deleted.",
                    ),
                    "400": error("An invalid domain."),
                    "404": error("No such site."),
                    **_STATUSES,
                },
            }
        },
        "/api/v1/admin/retention": {
            "post": {
                "tags": ["Administration"],
                "summary": "Apply retention now",
                "description": "Deletes, for every site with a retention (or `site_id`), the "
                "events older than it keeps, as the hourly job does. Audited as "
                "`site.retention` where anything was deleted." + _SOCKET,
                "parameters": [
                    query("site_id", {"type": "string"}, "Only this site.", example=SITE)
                ],
                "responses": {
                    "200": json_content(
                        {
                            "type": "object",
                            "required": ["sites"],
                            "properties": {"sites": {"type": "array", "items": retention_item}},
                            "additionalProperties": False,
                        },
                        "One entry per site with a retention.",
                    ),
                    "400": error("An invalid domain."),
                    "404": error("No such site."),
                    **_STATUSES,
                },
            }
        },
    }
