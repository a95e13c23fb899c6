"""Plausible's Sites API for sites: list, create, get, rename and delete; teams; shared links.

``GET``/``POST /api/v1/sites``, ``GET /api/v1/sites/teams``, ``GET``/``PUT``/``DELETE
/api/v1/sites/{site_id}`` and ``PUT /api/v1/sites/shared-links``, with Plausible's shapes
(`extra/lib/plausible_web/controllers/api/external_sites_controller.ex`). footfall has one
team, the installation's (`footfall.meta.team`); sites are listed newest first.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.lifecycle.deletion import delete_site
from footfall.meta.shared_links import create_link, list_links
from footfall.meta.sites import (
    Site,
    add_site,
    change_domain,
    list_sites,
    set_site_retention,
    validate_timezone,
)
from footfall.meta.team import the_team
from footfall.services import Services
from footfall.web.api.audit import request_actor
from footfall.web.api.auth import ApiError
from footfall.web.api.sites_common import (
    DEFAULT_LIMIT,
    MAX_BODY_BYTES,
    MAX_LIMIT,
    SITE_NOT_FOUND,
    cursors,
    find_site,
    page,
    reader,
    request_params,
    required,
    writer,
)

__all__ = ["DEFAULT_LIMIT", "MAX_BODY_BYTES", "MAX_LIMIT"]

# Plausible's default for a site created without a time zone.
DEFAULT_TIMEZONE = "Etc/UTC"
DOMAIN_TAKEN = "domain: This domain has already been taken"
NO_CHANGES = (
    "Payload must contain at least one of the parameters 'domain', 'tracker_script_configuration'"
)


def site_json(site: Site) -> dict[str, Any]:
    """A site as the Sites API shows one: domain, time zone and declared custom properties.

    ``retention_days`` is footfall's own (Plausible has no retention): how many days of events
    the site keeps, or null for all of them.
    """
    return {
        "domain": site.domain,
        "timezone": site.timezone,
        "custom_properties": list(site.custom_props),
        "retention_days": site.retention_days,
    }


def _retention_param(value: object) -> int | None:
    """``retention_days`` as sent in JSON or a form: a whole number of days, or null."""
    if isinstance(value, str):
        if value in ("", "null"):
            return None
        if value.isdigit():
            return int(value)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise ApiError("retention_days: must be a whole number of days, or null")


def _changeset_error(field: str, exc: InvalidInputError) -> ApiError:
    """Plausible's `serialize_errors`: the field, a colon, and the first message."""
    return ApiError(f"{field}: {exc}")


async def list_all_sites(request: Request) -> Response:
    """The sites the key reaches, newest first, in pages of ``limit`` (100).

    ``team_id`` is accepted and ignored: every site is in the one team.
    """
    state: Services = request.app.state.footfall
    try:
        _, rights = await reader(request)
        paging = cursors(request.query_params)
    except ApiError as exc:
        return exc.response()
    found = await asyncio.to_thread(list_sites, state.meta)
    reachable = sorted((s for s in found if rights.reaches(s.id)), key=lambda s: -s.id)
    chosen, meta = page(reachable, lambda s: (s.id,), paging)
    sites = [{"domain": s.domain, "timezone": s.timezone} for s in chosen]
    return JSONResponse({"sites": sites, "meta": meta})


async def list_teams(request: Request) -> Response:
    """The installation's one team, with the API available."""
    state: Services = request.app.state.footfall
    try:
        await reader(request)
        paging = cursors(request.query_params)
    except ApiError as exc:
        return exc.response()
    team = await asyncio.to_thread(the_team, state.meta)
    entry = {"id": team.identifier, "name": team.name, "api_available": True}
    # One team: any cursor points past it.
    teams = [] if paging.after is not None or paging.before is not None else [entry]
    meta = {"after": None, "before": None, "limit": paging.limit}
    return JSONResponse({"teams": teams, "meta": meta})


async def create_site(request: Request) -> Response:
    """Registers a site: ``domain`` and optionally ``timezone`` (``Etc/UTC``)."""
    state: Services = request.app.state.footfall
    try:
        key, rights = await writer(request)
        params = await request_params(request)
        domain = params.get("domain")
        if domain is None or domain == "":
            raise ApiError("domain: can't be blank")
        if not isinstance(domain, str):
            raise ApiError("domain: is invalid")
        timezone = params.get("timezone") or DEFAULT_TIMEZONE
        if not isinstance(timezone, str):
            raise ApiError("timezone: is invalid")
        try:
            validate_timezone(timezone)
        except InvalidInputError:
            raise ApiError("timezone: is invalid") from None
        if rights.sites is not None:
            raise ApiError("This API key reaches only some sites and cannot add one.", 403)
        site = await asyncio.to_thread(
            add_site,
            state.meta,
            domain=domain,
            timezone=timezone,
            actor=request_actor(request, key),
        )
    except ApiError as exc:
        return exc.response()
    except InvalidInputError as exc:
        return _changeset_error("domain", exc).response()
    except ConflictError:
        return ApiError(DOMAIN_TAKEN).response()
    await asyncio.to_thread(state.sites.reload)
    return JSONResponse(site_json(site))


async def get_one_site(request: Request) -> Response:
    """One site by its domain (or the domain it was renamed from)."""
    try:
        _, rights = await reader(request)
        site = await find_site(request, str(request.path_params["site_id"]), rights)
    except ApiError as exc:
        return exc.response()
    return JSONResponse(site_json(site))


async def update_site(request: Request) -> Response:
    """Renames a site (``domain``) or changes its retention (``retention_days``).

    The old domain keeps naming a renamed site. ``tracker_script_configuration`` is accepted
    and ignored: footfall serves its own tracker. A shorter retention deletes the events it no
    longer keeps at once.
    """
    state: Services = request.app.state.footfall
    try:
        key, rights = await writer(request)
        params = await request_params(request)
        domain = params.get("domain")
        with_retention = "retention_days" in params
        if (
            domain is None
            and params.get("tracker_script_configuration") is None
            and not with_retention
        ):
            raise ApiError(NO_CHANGES)
        if domain is not None and not isinstance(domain, str):
            raise ApiError("domain: is invalid")
        days = _retention_param(params.get("retention_days")) if with_retention else None
        site = await find_site(request, str(request.path_params["site_id"]), rights)
        actor = request_actor(request, key)
        if domain is not None:
            site = await asyncio.to_thread(
                change_domain, state.meta, site.domain, domain, actor=actor
            )
            await asyncio.to_thread(state.sites.reload)
        if with_retention:
            try:
                site = await asyncio.to_thread(
                    set_site_retention, state.meta, site.domain, days, actor=actor
                )
            except InvalidInputError as exc:
                raise ApiError(f"retention_days: {exc}") from exc
            if site.retention_days is not None:
                state.wake_retention()
    except ApiError as exc:
        return exc.response()
    except InvalidInputError as exc:
        return _changeset_error("domain", exc).response()
    except ConflictError:
        return ApiError(DOMAIN_TAKEN).response()
    except NotFoundError:
        return ApiError(SITE_NOT_FOUND, 404).response()
    return JSONResponse(site_json(site))


async def delete_one_site(request: Request) -> Response:
    """Deletes a site with its goals, links, grants and every stored event.

    The same path as ``footfall site delete``; the writer is drained first, so no event the
    server acknowledged comes back after the deletion.
    """
    state: Services = request.app.state.footfall
    try:
        key, rights = await writer(request)
        site = await find_site(request, str(request.path_params["site_id"]), rights)
    except ApiError as exc:
        return exc.response()
    actor = request_actor(request, key)

    # Off the event loop: the deletion waits for the writer to store what was acknowledged.
    try:
        await asyncio.to_thread(delete_site, state, site.domain, actor=actor)
    except NotFoundError:
        return ApiError(SITE_NOT_FOUND, 404).response()
    return JSONResponse({"deleted": True})


async def put_shared_link(request: Request) -> Response:
    """Finds or creates the shared link named ``name`` of ``site_id``: its name and address."""
    state: Services = request.app.state.footfall
    try:
        key, rights = await writer(request)
        params = await request_params(request)
        domain = required(params, "site_id", "create a shared link")
        name = required(params, "name", "create a shared link")
        site = await find_site(request, domain, rights)
        links = await asyncio.to_thread(list_links, state.meta, site.id)
        link = next((one for one in links if one.name == name.strip()), None)
        if link is None:
            link = await asyncio.to_thread(
                create_link,
                state.meta,
                site.domain,
                name=name,
                actor=request_actor(request, key),
            )
    except ApiError as exc:
        return exc.response()
    except InvalidInputError as exc:
        return ApiError(str(exc)).response()
    except ConflictError:
        # Created by a concurrent request with the same name: answer with that one.
        links = await asyncio.to_thread(list_links, state.meta, site.id)
        found = next((one for one in links if one.name == name.strip()), None)
        if found is None:  # and deleted again meanwhile
            return ApiError("the shared link changed meanwhile; try again", 409).response()
        link = found
    except NotFoundError:
        return ApiError(SITE_NOT_FOUND, 404).response()
    base = str(request.base_url).rstrip("/")
    return JSONResponse({"name": link.name, "url": f"{base}/share/{link.slug}"})
