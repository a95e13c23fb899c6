"""Plausible's Sites API guest endpoints, on footfall's viewer grants and invitations.

``GET``/``PUT /api/v1/sites/guests`` and ``DELETE /api/v1/sites/guests/{email}``. A guest is a
viewer granted the site (``accepted``) or an address invited to it (``invited``, until a user
with that address is added); see `footfall.meta.guests`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.errors import InvalidInputError, NotFoundError
from footfall.meta.guests import Guest, invite_guest, list_guests, remove_guest
from footfall.services import Services
from footfall.web.api.audit import request_actor
from footfall.web.api.auth import ApiError
from footfall.web.api.sites_common import (
    SITE_NOT_FOUND,
    cursors,
    find_site,
    page,
    reader,
    request_params,
    required,
    text_param,
    writer,
)

ROLE_REQUIRED = (
    "Parameter `role` is required to create guest. Possible values: `viewer` or `editor`"
)
NO_EDITORS = (
    "footfall has no editor role: a guest can be a `viewer`, who reads the site's dashboard"
)


def guest_json(guest: Guest) -> dict[str, Any]:
    """A guest as the Sites API shows one."""
    return {"email": guest.email, "role": guest.role, "status": guest.status}


def _key(guest: Guest) -> tuple[int, ...]:
    """The guest's place in the list, newest first, as cursor numbers."""
    micros = int(guest.since.timestamp() * 1_000_000)
    return (micros, 1 if guest.status == "accepted" else 0, guest.id)


async def list_site_guests(request: Request) -> Response:
    """The guests of ``site_id``, newest first, in pages of ``limit`` (100)."""
    state: Services = request.app.state.footfall
    query = request.query_params
    try:
        _, rights = await reader(request)
        # Plausible's own wording, copied from its goal listing.
        domain = required(query, "site_id", "list goals")
        paging = cursors(query, width=3)
        site = await find_site(request, domain, rights)
    except ApiError as exc:
        return exc.response()
    guests = await asyncio.to_thread(list_guests, state.meta, site.id)
    chosen, meta = page(guests, _key, paging)
    return JSONResponse({"guests": [guest_json(g) for g in chosen], "meta": meta})


async def put_guest(request: Request) -> Response:
    """Finds the guest ``email`` of ``site_id``, or grants or invites it as a ``viewer``."""
    state: Services = request.app.state.footfall
    try:
        key, rights = await writer(request)
        params = await request_params(request)
        domain = required(params, "site_id", "create guest")
        email = required(params, "email", "create guest")
        role = text_param(params, "role")
        if role not in ("viewer", "editor"):
            raise ApiError(ROLE_REQUIRED)
        site = await find_site(request, domain, rights)
        if role == "editor":
            raise ApiError(NO_EDITORS)
        guest = await asyncio.to_thread(
            invite_guest, state.meta, site, email, actor=request_actor(request, key)
        )
    except ApiError as exc:
        return exc.response()
    except InvalidInputError as exc:
        return ApiError(str(exc)).response()
    except NotFoundError:
        return ApiError(SITE_NOT_FOUND, 404).response()
    return JSONResponse(guest_json(guest))


async def delete_guest(request: Request) -> Response:
    """Withdraws the invitation or the grant of ``email`` on ``site_id``; idempotent."""
    state: Services = request.app.state.footfall
    try:
        key, rights = await writer(request)
        params = await request_params(request)
        domain = required(params, "site_id", "delete a guest")
        email = str(request.path_params["email"])
        site = await find_site(request, domain, rights)
        await asyncio.to_thread(
            remove_guest, state.meta, site, email, actor=request_actor(request, key)
        )
    except ApiError as exc:
        return exc.response()
    return JSONResponse({"deleted": True})
