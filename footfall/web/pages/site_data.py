"""The data section of a site's settings, for admins: retention, and export downloads.

- ``POST /sites/{domain}/settings/retention``: sets how many days of events the site keeps
  (empty keeps every event); older events are deleted at once by the retention job;
- ``GET /sites/{domain}/settings/export?format=csv|ndjson|parquet[&from=&to=]``: downloads an
  export (`footfall.lifecycle.export`), recorded as ``site.export``.

A viewer gets a 403 for both; a site the user may not read, the same 404 as elsewhere.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.errors import FootfallError, InvalidInputError, NotFoundError
from footfall.lifecycle.export import parse_date, plan_export
from footfall.meta.access import readable_site
from footfall.meta.audit import Actor
from footfall.meta.sites import MAX_RETENTION_DAYS, set_site_retention
from footfall.services import Services
from footfall.web.downloads import export_response
from footfall.web.middleware.clients import trusted_client_ip
from footfall.web.pages.accounts import (
    current_user,
    login_redirect,
    not_found,
    redirect,
    render_page,
)
from footfall.web.pages.forms import sentence
from footfall.web.pages.site_settings import (
    ADMINS_ONLY,
    Change,
    settings_form,
    settings_url,
    show_settings,
)

_BASE = "/sites/{domain}/settings"


def _retention(text: str) -> int | None:
    value = text.strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_RETENTION_DAYS:
        raise InvalidInputError(
            f"the retention must be a whole number of days from 1 to {MAX_RETENTION_DAYS}, "
            "or empty to keep every event"
        )
    return int(value)


@settings_form(admin=True)
async def save_retention(change: Change) -> Response:
    """POST /sites/{domain}/settings/retention: sets the site's retention, applied at once."""
    text = change.field("retention_days", 16)
    services: Services = change.request.app.state.footfall
    try:
        days = _retention(text)
        updated = await asyncio.to_thread(
            set_site_retention, change.engine, change.site.domain, days, actor=change.actor
        )
    except (InvalidInputError, NotFoundError) as exc:
        return await show_settings(
            change.request,
            change.user,
            change.site,
            error=("data", sentence(str(exc))),
            values={"retention_days": text},
        )
    if updated.retention_days is None:
        return redirect(settings_url(updated, "retention-cleared", "data"))
    services.wake_retention()
    return redirect(settings_url(updated, "retention-saved", "data"))


async def download_export(request: Request) -> Response:
    """GET /sites/{domain}/settings/export: the site's export, for an admin."""
    user = await current_user(request)
    if user is None:
        return login_redirect(request)
    services: Services = request.app.state.footfall
    site = await asyncio.to_thread(
        readable_site, services.meta, user.id, request.path_params["domain"]
    )
    if site is None:
        return not_found(request)
    if user.role != "admin":
        return render_page(request, "message.html", {"message": ADMINS_ONLY}, status_code=403)
    query = request.query_params
    try:
        plan = await asyncio.to_thread(
            plan_export,
            services.store,
            site,
            fmt=query.get("format", ""),
            first=parse_date(query.get("from"), "the first day"),
            last=parse_date(query.get("to"), "the last day"),
            now=services.clock.now(),
        )
    except FootfallError as exc:
        return render_page(
            request, "message.html", {"message": sentence(str(exc))}, status_code=400
        )
    actor = Actor(f"user:{user.email}", ip=trusted_client_ip(request))
    return await export_response(services, plan, actor=actor)


ROUTES = [
    Route(f"{_BASE}/retention", save_retention, methods=["POST"]),
    Route(f"{_BASE}/export", download_export, methods=["GET"]),
]
