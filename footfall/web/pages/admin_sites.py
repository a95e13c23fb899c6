"""Site administration for admins: add a site, delete one by typing its domain.

``GET /admin/sites`` lists the sites with a form to add one; a new site opens on its settings
page, where the tracking snippet is. ``GET /admin/sites/{domain}/delete`` explains what a
deletion removes and asks for the domain to be typed; the POST deletes through
`footfall.lifecycle.deletion.delete_site`, the same path as ``footfall site delete``: the
site's events and sessions, then its goals, shared links and grants, audited as
``site.delete``. Everyone but an admin gets the not-found page.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.errors import ConflictError, InvalidInputError, NotFoundError
from footfall.lifecycle.deletion import delete_site
from footfall.meta.sites import Site, add_site, get_site, list_sites, normalise_domain
from footfall.meta.users import User
from footfall.web.pages.accounts import not_found, redirect, render_page
from footfall.web.pages.forms import Posted, admin_page, posted_form, sentence, services_of
from footfall.web.pages.site_settings import settings_url, time_zones

PAGE = "/admin/sites"
DONE = {"site-deleted": "Site deleted, with all its events."}
MISTYPED = "The domain you typed is not {domain}: nothing was deleted."


async def _show(
    request: Request,
    user: User,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    sites = await asyncio.to_thread(list_sites, services_of(request).meta)
    context: dict[str, Any] = {
        "user": user,
        "sites": sites,
        "time_zones": time_zones(),
        "values": {"domain": "", "timezone": "UTC", **(values or {})},
        "done": DONE.get(request.query_params.get("done", "")) if error is None else None,
        "error": {"section": "add", "message": error} if error else None,
    }
    return render_page(request, "admin_sites.html", context, status_code=400 if error else 200)


@admin_page
async def sites_page(request: Request, user: User) -> Response:
    """GET /admin/sites: every site, and the form to add one."""
    return await _show(request, user)


@posted_form(page=PAGE, admin=True)
async def add_site_form(posted: Posted) -> Response:
    """POST /admin/sites: registers a site and opens its settings (the tracking snippet)."""
    domain = posted.field("domain", 300)
    timezone = posted.field("timezone", 64) or "UTC"
    try:
        site = await asyncio.to_thread(
            add_site, posted.engine, domain=domain, timezone=timezone, actor=posted.actor
        )
    except (InvalidInputError, ConflictError) as exc:
        values = {"domain": domain, "timezone": timezone}
        return await _show(posted.request, posted.user, error=sentence(str(exc)), values=values)
    # The ingest side learns of the site at once, not at its next reload.
    await asyncio.to_thread(posted.services.sites.reload)
    return redirect(settings_url(site, "site-added", "tracking"))


async def _site(request: Request) -> Site | None:
    try:
        return await asyncio.to_thread(
            get_site, services_of(request).meta, request.path_params["domain"]
        )
    except NotFoundError:
        return None


def _confirmation(
    request: Request, user: User, site: Site, *, error: str | None = None
) -> Response:
    context = {"user": user, "site": site, "error": error, "pattern": _pattern(site.domain)}
    return render_page(
        request, "admin_site_delete.html", context, status_code=400 if error else 200
    )


def _pattern(domain: str) -> str:
    """An HTML ``pattern`` matching exactly `domain` (only ``.`` needs escaping in a domain)."""
    return domain.replace(".", "\\.")


@admin_page
async def delete_page(request: Request, user: User) -> Response:
    """GET /admin/sites/{domain}/delete: what the deletion removes, and the confirmation."""
    site = await _site(request)
    if site is None:
        return not_found(request)
    return _confirmation(request, user, site)


@posted_form(page=PAGE, admin=True)
async def delete_site_form(posted: Posted) -> Response:
    """POST /admin/sites/{domain}/delete: deletes the site once its domain was typed."""
    site = await _site(posted.request)
    if site is None:
        return not_found(posted.request)
    typed = posted.field("confirm_domain", 300)
    try:
        matches = normalise_domain(typed) == site.domain
    except InvalidInputError:
        matches = False
    if not matches:
        message = MISTYPED.format(domain=site.domain)
        return _confirmation(posted.request, posted.user, site, error=message)
    try:
        await asyncio.to_thread(delete_site, posted.services, site.domain, actor=posted.actor)
    except NotFoundError:  # deleted meanwhile, by another admin or the command line
        return not_found(posted.request)
    return redirect(f"{PAGE}?done=site-deleted")


ROUTES = [
    Route(PAGE, sites_page, methods=["GET"]),
    Route(PAGE, add_site_form, methods=["POST"]),
    Route(f"{PAGE}/{{domain}}/delete", delete_page, methods=["GET"]),
    Route(f"{PAGE}/{{domain}}/delete", delete_site_form, methods=["POST"]),
]
