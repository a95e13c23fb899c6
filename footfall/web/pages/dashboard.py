"""The dashboard pages: the sites list, a site's dashboard, and its public shared version.

Pages are rendered on the server from `footfall.web.pages.dashboard_data`; links carry the whole
state in the URL, so a dashboard can be shared by its address and the back button works
without any script. The only script, ``dashboard.js``, refreshes the current-visitors count.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.meta.access import readable_site, sites_for_user
from footfall.meta.goals import list_goals
from footfall.meta.shared_links import check_link_password, find_link
from footfall.meta.sites import Site, list_sites
from footfall.meta.users import User, has_users
from footfall.security.ratelimit import rate_limit_headers
from footfall.services import Services
from footfall.web.middleware.clients import request_is_https, trusted_client_ip
from footfall.web.pages import charts, formatting
from footfall.web.pages.accounts import (
    FormRefused,
    current_user,
    form_field,
    login_redirect,
    not_found,
    read_form,
    redirect,
    refused,
    render_page,
)
from footfall.web.pages.dashboard_data import (
    PERIODS,
    TOP_STATS,
    DashboardState,
    build_dashboard,
    sparkline,
)

SHARE_COOKIE = "footfall_share"
_SHARE_PURPOSE = "share"
# An unlocked shared dashboard stays unlocked this long in that browser.
SHARE_UNLOCK_SECONDS = 24 * 3600
UNLOCK_REFUSED = "The password is not correct."


def _state(request: Request) -> Services:
    state: Services = request.app.state.footfall
    return state


def _readable(request: Request, user: User, domain: str) -> Site | None:
    return readable_site(_state(request).meta, user.id, domain)


async def sites_page(request: Request) -> Response:
    """GET /: every site the user may read, with 24-hour visitors and a sparkline."""
    user = await current_user(request)
    if user is None:
        if not await asyncio.to_thread(has_users, _state(request).meta):
            return redirect("/setup")
        return login_redirect(request)
    rows = await asyncio.to_thread(_site_rows, request, user)
    return render_page(request, "sites.html", {"user": user, "sites": rows})


def _site_rows(request: Request, user: User) -> list[dict[str, Any]]:
    state = _state(request)
    meta = state.meta
    allowed = sites_for_user(meta, user.id)
    now = state.clock.now()
    rows = []
    for site in list_sites(meta):
        if allowed is not None and site.id not in allowed:
            continue
        points, total = sparkline(state.stats, site, now)
        rows.append(
            {
                "site": site,
                "visitors": total,
                "sparkline": charts.sparkline(points, label=f"Visitors to {site.domain}, 24 h"),
            }
        )
    return rows


def _board_state(request: Request) -> DashboardState:
    params = dict(request.query_params)
    if params.get("period") == "custom" and params.get("from") and params.get("to"):
        params["date"] = f"{params['from']},{params['to']}"
    return DashboardState.from_query(params, request.query_params.getlist("f"))


async def _render_dashboard(
    request: Request, site: Site, *, base: str, user: User | None, shared: bool
) -> Response:
    state = _state(request)
    board_state = _board_state(request)
    goals = tuple(await asyncio.to_thread(list_goals, state.meta, site.id))
    board = await asyncio.to_thread(
        build_dashboard, state.stats, site, goals, board_state, state.clock.now()
    )
    monthly = board_state.period in ("6mo", "12mo")
    chart = charts.line_chart(
        board.chart,
        compare=board.chart_compare,
        title=f"Visitors to {site.domain}, {board.range_label}",
        label_formatter=formatting.month if monthly else formatting.bucket,
    )
    context = {
        "site": site,
        "board": board,
        "board_state": board_state,
        "chart": chart,
        "periods": PERIODS,
        "top_stat_names": dict(TOP_STATS),
        "base": base,
        "user": user,
        "shared": shared,
        "bar": charts.bar_svg,
        "hidden_state": [
            (k, v) for k, v in board_state.params() if k not in ("period", "date", "prop")
        ],
    }
    return render_page(request, "dashboard.html", context)


async def site_dashboard(request: Request) -> Response:
    """GET /sites/{domain}: the dashboard of one site."""
    user = await current_user(request)
    if user is None:
        return login_redirect(request)
    site = await asyncio.to_thread(_readable, request, user, request.path_params["domain"])
    if site is None:
        return not_found(request)
    return await _render_dashboard(
        request, site, base=f"/sites/{site.domain}", user=user, shared=False
    )


async def _realtime(request: Request, site: Site) -> Response:
    state = _state(request)
    now = state.clock.now()
    count = await asyncio.to_thread(state.stats.realtime_visitors, site.id, now)
    return Response(
        orjson.dumps({"visitors": count}),
        media_type="application/json",
        headers={"cache-control": "no-store"},
    )


async def site_realtime(request: Request) -> Response:
    """GET /sites/{domain}/realtime: ``{"visitors": N}`` for the signed-in dashboard."""
    user = await current_user(request)
    site = None
    if user is not None:
        site = await asyncio.to_thread(_readable, request, user, request.path_params["domain"])
    if site is None:
        return Response(b'{"error":"not found"}', 404, media_type="application/json")
    return await _realtime(request, site)


# -- shared links -------------------------------------------------------------------------


def _unlocked(request: Request, slug: str) -> bool:
    cookie = request.cookies.get(SHARE_COOKIE)
    if not cookie:
        return False
    value = _state(request).signer.unsign(_SHARE_PURPOSE, cookie, max_age=SHARE_UNLOCK_SECONDS)
    return value is not None and secrets.compare_digest(value, slug)


async def _shared_site(request: Request) -> tuple[Any, Site] | None:
    slug = request.path_params["slug"]
    if len(slug) > 64:
        return None
    return await asyncio.to_thread(find_link, _state(request).meta, slug)


async def shared_dashboard(request: Request) -> Response:
    """GET/POST /share/{slug}: the read-only public dashboard, behind its password if any."""
    found = await _shared_site(request)
    if found is None:
        return not_found(request)
    link, site = found
    base = f"/share/{link.slug}"
    if link.has_password and not _unlocked(request, link.slug):
        if request.method == "POST":
            return await _unlock(request, link.slug, site)
        return render_page(request, "share_password.html", {"site": site, "error": None})
    if request.method == "POST":
        return redirect(base)
    return await _render_dashboard(request, site, base=base, user=None, shared=True)


async def _unlock(request: Request, slug: str, site: Site) -> Response:
    state = _state(request)
    try:
        form = await read_form(request)
    except FormRefused as exc:
        return refused(request, exc)
    limits = state.rate_limits
    address = trusted_client_ip(request) or "-"
    # Per address, and per link from every address together: rotating addresses does not
    # buy more guesses at one link's password.
    for limit, key in ((limits.login_ip, ("share", address)), (limits.shared_link, ("link", slug))):
        if limit is None:
            continue
        decision = await limits.limiter.hit_async(limit, *key)
        if not decision.allowed:
            headers = rate_limit_headers(decision)
            message = f"Too many attempts. Try again in {headers['Retry-After']} seconds."
            context = {"site": site, "error": message}
            return render_page(
                request, "share_password.html", context, status_code=429, headers=headers
            )
    password = form_field(form, "password", 4096)
    if not await asyncio.to_thread(check_link_password, state.meta, slug, password):
        context = {"site": site, "error": UNLOCK_REFUSED}
        return render_page(request, "share_password.html", context, status_code=400)
    response = redirect(f"/share/{slug}")
    response.set_cookie(
        SHARE_COOKIE,
        state.signer.sign(_SHARE_PURPOSE, slug),
        max_age=SHARE_UNLOCK_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request_is_https(request),
        path=f"/share/{slug}",
    )
    return response


async def shared_realtime(request: Request) -> Response:
    """GET /share/{slug}/realtime: the current-visitors count of a shared dashboard."""
    found = await _shared_site(request)
    if found is None or (found[0].has_password and not _unlocked(request, found[0].slug)):
        return Response(b'{"error":"not found"}', 404, media_type="application/json")
    return await _realtime(request, found[1])


ROUTES = [
    Route("/", sites_page, methods=["GET"]),
    Route("/sites/{domain}", site_dashboard, methods=["GET"]),
    Route("/sites/{domain}/realtime", site_realtime, methods=["GET"]),
    Route("/share/{slug}", shared_dashboard, methods=["GET", "POST"]),
    Route("/share/{slug}/realtime", shared_realtime, methods=["GET"]),
]
