"""Plausible's Sites API custom property endpoints: a site's declared property names.

``GET``/``PUT /api/v1/sites/custom-props`` and ``DELETE /api/v1/sites/custom-props/{property}``
(the name may hold slashes). Plausible uses the list to limit which properties its Enterprise
Edition reports; footfall stores it and shows it in the site's ``custom_properties``, and
reports every property whether declared or not.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.errors import InvalidInputError, NotFoundError
from footfall.meta.sites import allow_prop, disallow_prop
from footfall.services import Services
from footfall.web.api.audit import request_actor
from footfall.web.api.auth import ApiError
from footfall.web.api.sites_common import (
    SITE_NOT_FOUND,
    find_site,
    reader,
    request_params,
    required,
    writer,
)


async def list_props(request: Request) -> Response:
    """The custom properties declared for ``site_id``, in the order they were declared."""
    try:
        _, rights = await reader(request)
        domain = required(request.query_params, "site_id", "list custom properties")
        site = await find_site(request, domain, rights)
    except ApiError as exc:
        return exc.response()
    return JSONResponse({"custom_properties": [{"property": p} for p in site.custom_props]})


async def put_prop(request: Request) -> Response:
    """Declares custom property ``property`` for ``site_id`` (idempotent)."""
    state: Services = request.app.state.footfall
    try:
        key, rights = await writer(request)
        params = await request_params(request)
        domain = required(params, "site_id", "create a custom property")
        name = required(params, "property", "create a custom property")
        site = await find_site(request, domain, rights)
        await asyncio.to_thread(
            allow_prop, state.meta, site.id, name, actor=request_actor(request, key)
        )
    except ApiError as exc:
        return exc.response()
    except InvalidInputError as exc:
        return ApiError(str(exc)).response()
    except NotFoundError:
        return ApiError(SITE_NOT_FOUND, 404).response()
    return JSONResponse({"created": True})


async def delete_prop(request: Request) -> Response:
    """Removes custom property ``property`` (the rest of the path) of ``site_id``; idempotent."""
    state: Services = request.app.state.footfall
    try:
        key, rights = await writer(request)
        params = await request_params(request)
        domain = required(params, "site_id", "delete a custom property")
        site = await find_site(request, domain, rights)
        await asyncio.to_thread(
            disallow_prop,
            state.meta,
            site.id,
            str(request.path_params["property"]),
            actor=request_actor(request, key),
        )
    except ApiError as exc:
        return exc.response()
    except NotFoundError:
        return ApiError(SITE_NOT_FOUND, 404).response()
    return JSONResponse({"deleted": True})
