"""The admin endpoints of the data lifecycle: backup, export, site reset, retention now.

Reached on the control socket (`footfall.lifecycle.control`; the commands of the same names use
them when a server holds the data directory) or on the port with a key holding ``admin``. On
the socket, the ``X-Footfall-Actor`` header names who asked (``cli:alice``) for the audit log;
on the port, the key does. Errors are ``{"error": message}``.

- ``POST /api/v1/admin/backup[?metadata=false][&to=PATH]``: the backup archive
  (``application/x-tar``, exact ``Content-Length``); ``to`` says where the caller keeps it, for
  the audit entry;
- ``GET /api/v1/admin/export?site_id=&format=csv|ndjson|parquet[&from=&to=]``: the export;
- ``POST /api/v1/admin/sites/{domain}/reset``: deletes the site's events, answers the counts;
- ``POST /api/v1/admin/retention[?site_id=]``: applies retention now, answers what it did.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.errors import FootfallError
from footfall.lifecycle.control import ACTOR_HEADER, is_control_connection
from footfall.lifecycle.export import parse_date, plan_export
from footfall.lifecycle.reset import reset_site
from footfall.meta.audit import Actor
from footfall.meta.sites import get_site
from footfall.services import Services
from footfall.web.api.audit import request_actor
from footfall.web.api.auth import ApiError, authorize_key
from footfall.web.bodies import has_body
from footfall.web.downloads import backup_response, export_response, refusal

_NO_ADMIN_SCOPE = ApiError("This API key lacks the admin scope.", 403)


def _services(request: Request) -> Services:
    state: Services = request.app.state.footfall
    return state


async def admin_actor(request: Request) -> Actor:
    """Who asks: the control socket's named caller, or the ``admin`` key of the request.

    These endpoints take their parameters from the query string only: a request body is
    refused unread (413), never read and ignored.

    Raises:
        ApiError: On the port, without a key holding ``admin`` (401 or 403); a body (413).
    """
    if has_body(request.headers):
        raise ApiError("this endpoint takes no request body; pass parameters in the query", 413)
    if is_control_connection(request.scope.get("server")):
        name = request.headers.get(ACTOR_HEADER, "").strip() or "control-socket"
        return Actor(name[:255])
    key, _ = await authorize_key(request, "admin", lacking_scope=_NO_ADMIN_SCOPE)
    return request_actor(request, key)


async def backup(request: Request) -> Response:
    """Streams a backup archive of this server's data directory."""
    try:
        actor = await admin_actor(request)
    except ApiError as exc:
        return exc.response()
    metadata = request.query_params.get("metadata", "true").lower() != "false"
    where = request.query_params.get("to", "") or "download"
    return await backup_response(_services(request), metadata=metadata, actor=actor, where=where)


async def export(request: Request) -> Response:
    """Streams an export of one site."""
    services = _services(request)
    params = request.query_params
    try:
        actor = await admin_actor(request)
        domain = params.get("site_id")
        if not domain:
            raise ApiError("Parameter `site_id` is required to export a site")
        site = await asyncio.to_thread(get_site, services.meta, domain)
        plan = await asyncio.to_thread(
            plan_export,
            services.store,
            site,
            fmt=params.get("format", ""),
            first=parse_date(params.get("from"), "from"),
            last=parse_date(params.get("to"), "to"),
            now=services.clock.now(),
        )
    except ApiError as exc:
        return exc.response()
    except FootfallError as exc:
        return refusal(exc)
    return await export_response(services, plan, actor=actor)


async def reset(request: Request) -> Response:
    """Deletes every event of the site in the path; answers the counts."""
    services = _services(request)
    try:
        actor = await admin_actor(request)
        site, done = await asyncio.to_thread(
            reset_site, services, str(request.path_params["domain"]), actor=actor
        )
    except ApiError as exc:
        return exc.response()
    except FootfallError as exc:
        return refusal(exc)
    return JSONResponse({"site": site.domain, "events": done.events, "sessions": done.sessions})


async def retention(request: Request) -> Response:
    """Applies every site's retention (or ``site_id``'s) now; answers what was deleted."""
    services = _services(request)
    try:
        actor = await admin_actor(request)
        domain = request.query_params.get("site_id") or None
        if domain is not None:
            domain = (await asyncio.to_thread(get_site, services.meta, domain)).domain
        results = await asyncio.to_thread(services.enforce_retention, domain=domain, actor=actor)
    except ApiError as exc:
        return exc.response()
    except FootfallError as exc:
        return refusal(exc)
    return JSONResponse(
        {
            "sites": [
                {
                    "site": r.site.domain,
                    "retention_days": r.site.retention_days,
                    "before": r.before.isoformat() + "Z",
                    "events": r.deletion.events,
                    "sessions": r.deletion.sessions,
                    "bytes_freed": r.deletion.bytes_freed,
                    "summary": r.describe(),
                }
                for r in results
            ]
        }
    )
