"""The dashboard's other pages: the realtime view, a panel's details and the CSV export.

Each is served for a signed-in reader under ``/sites/<domain>/`` and read-only through a shared
link under ``/share/<slug>/``, with the dashboard's state in the query string.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.meta.goals import list_goals
from footfall.services import Services
from footfall.stats.model import StatsQueryError
from footfall.web.pages.accounts import not_found, render_page
from footfall.web.pages.dashboard import Viewer, board_state, chart_svg, viewer_of
from footfall.web.pages.dashboard_state import METRIC_NAMES, DashboardState
from footfall.web.pages.details_data import build_details, read_paging
from footfall.web.pages.export_data import build_export, export_name, zip_bytes
from footfall.web.pages.realtime_data import Realtime, build_realtime, metrics_for
from footfall.web.pages.templating import render


def _services(request: Request) -> Services:
    services: Services = request.app.state.footfall
    return services


async def _goals(request: Request, viewer: Viewer) -> tuple[Any, ...]:
    return tuple(await asyncio.to_thread(list_goals, _services(request).meta, viewer.site.id))


async def _realtime_context(request: Request, viewer: Viewer) -> dict[str, Any]:
    services = _services(request)
    state = board_state(request)
    goals = await _goals(request, viewer)
    now = services.clock.now()
    view: Realtime = await asyncio.to_thread(
        build_realtime, services.stats, viewer.site, goals, state, now
    )
    chart = chart_svg(
        view.chart,
        None,
        metric=view.metric,
        interval="minute",
        title=f"{METRIC_NAMES[view.metric]} per minute, last 30 minutes",
    )
    here = "/realtime"
    return {
        **viewer.context(request, state),
        "view": view,
        "chart": chart,
        "here": here,
        "rows_base": viewer.base + here,
        "metrics": metrics_for(state),
        "refreshed": now.astimezone(dt.UTC).strftime("%H:%M:%S UTC"),
    }


async def _realtime(request: Request, template: str) -> Response:
    viewer = await viewer_of(request)
    if isinstance(viewer, Response):
        return viewer
    context = await _realtime_context(request, viewer)
    if template.startswith("_"):
        return render(request, template, context)
    return render_page(request, template, context)


async def realtime_page(request: Request) -> Response:
    """GET .../realtime: the last 30 minutes, refreshed every 30 seconds by the script."""
    return await _realtime(request, "realtime.html")


async def realtime_body(request: Request) -> Response:
    """GET .../realtime/body: the realtime view's content alone, for the refresh."""
    return await _realtime(request, "_realtime_body.html")


async def details_page(request: Request) -> Response:
    """GET .../details/{panel}: every row of a panel's tab, searchable, 100 to a page."""
    viewer = await viewer_of(request)
    if isinstance(viewer, Response):
        return viewer
    services = _services(request)
    state = board_state(request)
    search, page = read_paging(request.query_params)
    goals = await _goals(request, viewer)
    key = request.path_params["panel"]
    try:
        details = await asyncio.to_thread(
            build_details,
            services.stats,
            viewer.site,
            goals,
            state,
            services.clock.now(),
            key,
            search=search,
            page=page,
        )
    except LookupError:
        return not_found(request)
    context = {
        **viewer.context(request, state),
        "details": details,
        "panel": details.panel,
        "here": f"/details/{key}",
        "paging": _paging_links(state, search, page),
    }
    return render_page(request, "details.html", context)


def _paging_links(state: DashboardState, search: str, page: int) -> dict[str, str]:
    """Query strings of the previous and next pages, keeping the search."""
    base = state.params()
    if search:
        base.append(("q", search))

    def link(number: int) -> str:
        params = base + ([("page", str(number))] if number > 1 else [])
        return "?" + urlencode(params) if params else ""

    return {"previous": link(page - 1), "next": link(page + 1), "here": link(page)}


async def export_zip(request: Request) -> Response:
    """GET .../export: the current view as a zip of CSV files, Plausible's export layout."""
    viewer = await viewer_of(request)
    if isinstance(viewer, Response):
        return viewer
    services = _services(request)
    state = board_state(request)
    goals = await _goals(request, viewer)
    now = services.clock.now()
    try:
        files = await asyncio.to_thread(
            build_export, services.stats, viewer.site, goals, state, now
        )
        name = export_name(viewer.site, state, now)
    except StatsQueryError as exc:
        context = {"title": "Nothing to export", "message": exc.message}
        return render_page(request, "message.html", context, status_code=400)
    body = await asyncio.to_thread(zip_bytes, files)
    return Response(
        body,
        media_type="application/zip",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "no-store",
        },
    )


ROUTES = [
    route
    for prefix in ("/sites/{domain}", "/share/{slug}")
    for route in (
        Route(f"{prefix}/realtime", realtime_page, methods=["GET"]),
        Route(f"{prefix}/realtime/body", realtime_body, methods=["GET"]),
        Route(f"{prefix}/details/{{panel}}", details_page, methods=["GET"]),
        Route(f"{prefix}/export", export_zip, methods=["GET"]),
    )
]
