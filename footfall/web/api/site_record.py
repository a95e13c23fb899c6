"""One site in Plausible's Sites API: ``GET`` and ``PUT /api/v1/sites/{site_id}``.

The answer holds the site's ``domain`` and ``timezone`` as Plausible's does, and footfall's
``retention_days`` (null: every event is kept). ``PUT`` sets ``retention_days`` (a whole number
of days, or null) and deletes what it no longer keeps at once; renaming a site (Plausible's
``domain`` parameter) is not supported here. Reading needs ``stats:read`` or ``sites:write``,
changing ``sites:write``; a site out of the key's reach is answered as one that does not exist.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.errors import InvalidInputError, NotFoundError
from footfall.meta.sites import Site, set_site_retention
from footfall.services import Services
from footfall.web.api.audit import request_actor
from footfall.web.api.auth import ApiError, authorize_key
from footfall.web.api.sites import (
    NO_READ_SCOPE,
    NO_WRITE_SCOPE,
    SITE_NOT_FOUND,
    reachable_site,
    request_params,
)

_MISSING = object()


def site_json(site: Site) -> dict[str, Any]:
    """A site as the Sites API shows it."""
    return {"domain": site.domain, "timezone": site.timezone, "retention_days": site.retention_days}


async def get_site_record(request: Request) -> Response:
    """GET /api/v1/sites/{site_id}: the site's settings."""
    try:
        _, rights = await authorize_key(
            request, ("stats:read", "sites:write"), lacking_scope=ApiError(NO_READ_SCOPE, 403)
        )
        site = await reachable_site(request, str(request.path_params["site_id"]), rights)
    except ApiError as exc:
        return exc.response()
    return JSONResponse(site_json(site))


async def put_site_record(request: Request) -> Response:
    """PUT /api/v1/sites/{site_id}: changes the site's retention (``retention_days``)."""
    services: Services = request.app.state.footfall
    try:
        key, rights = await authorize_key(
            request, "sites:write", lacking_scope=ApiError(NO_WRITE_SCOPE, 403)
        )
        site = await reachable_site(request, str(request.path_params["site_id"]), rights)
        params = await request_params(request)
        domain = params.get("domain")
        if domain is not None and domain != site.domain:
            raise ApiError(
                "Renaming a site is not supported: the parameter `domain` must be omitted"
            )
        days = params.get("retention_days", _MISSING)
        if days is _MISSING:
            raise ApiError("Parameter `retention_days` is required (a number of days, or null)")
        if isinstance(days, str):
            days = None if days in ("", "null") else int(days) if days.isdigit() else days
        updated = await asyncio.to_thread(
            set_site_retention,
            services.meta,
            site.domain,
            days,
            actor=request_actor(request, key),
        )
    except ApiError as exc:
        return exc.response()
    except InvalidInputError as exc:
        return ApiError(f"Parameter `retention_days`: {exc}").response()
    except NotFoundError:
        return ApiError(SITE_NOT_FOUND, 404).response()
    if updated.retention_days is not None:
        services.wake_retention()
    return JSONResponse(site_json(updated))
