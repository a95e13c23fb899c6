"""The dashboard pages: the sites list, a site's dashboard, and its public shared version.

Pages are rendered on the server from `footfall.web.pages.dashboard_data`; links carry the whole
state in the URL, so a dashboard can be shared by its address and the back button works
without any script. The only script, ``dashboard.js``, refreshes the current-visitors count
(and the realtime view). `viewer_of` decides who may see a dashboard's pages, signed in at
``/sites/<domain>/...`` or through a shared link at ``/share/<slug>/...``.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
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
from footfall.web.pages.dashboard_data import build_dashboard, sparkline
from footfall.web.pages.dashboard_state import (
    INTERVAL_NAMES,
    METRIC_NAMES,
    PERIODS,
    DashboardState,
    prop_label,
)
from footfall.web.pages.places import country_name

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


def board_state(request: Request) -> DashboardState:
    """The dashboard state in the request's query string (a custom range's form included)."""
    params = dict(request.query_params)
    if params.get("period") == "custom" and params.get("from") and params.get("to"):
        params["date"] = f"{params['from']},{params['to']}"
    return DashboardState.from_query(params, request.query_params.getlist("f"))


def filter_label(prop: str, value: str) -> tuple[str, str]:
    """A filter as a chip reads it: (property, value), a country by its name."""
    return prop_label(prop), country_name(value) if prop == "visit:country" else value


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who looks at a site's dashboard, and where its pages live for them."""

    site: Site
    base: str
    user: User | None

    @property
    def shared(self) -> bool:
        """Seen through a shared link, read-only."""
        return self.user is None

    def context(self, request: Request, state: DashboardState) -> dict[str, Any]:
        """What every dashboard page's template needs."""
        return {
            "site": self.site,
            "base": self.base,
            "user": self.user,
            "shared": self.shared,
            "board_state": state,
            "bar": charts.bar_svg,
            "filter_label": filter_label,
        }


async def viewer_of(request: Request) -> Viewer | Response:
    """The viewer of a ``/sites/{domain}/...`` or ``/share/{slug}/...`` page, or the refusal.

    Signed out of a site's page: the sign-in page; a site the user may not read: 404; a
    shared link behind a password not yet given: back to its password form.
    """
    if "slug" in request.path_params:
        found = await _shared_site(request)
        if found is None:
            return not_found(request)
        link, site = found
        if link.has_password and not _unlocked(request, link.slug):
            return redirect(f"/share/{link.slug}")
        return Viewer(site, f"/share/{link.slug}", None)
    user = await current_user(request)
    if user is None:
        return login_redirect(request)
    readable = await asyncio.to_thread(_readable, request, user, request.path_params["domain"])
    if readable is None:
        return not_found(request)
    return Viewer(readable, f"/sites/{readable.domain}", user)


def chart_svg(
    points: list[tuple[str, float | None]],
    compare: list[tuple[str, float | None]] | None,
    *,
    metric: str,
    interval: str,
    title: str,
) -> Any:
    """The graph of `metric` in its unit, buckets labelled for `interval`."""
    value, tick, unit = formatting.chart_formats(metric)
    return charts.line_chart(
        points,
        compare=compare,
        title=title,
        metric=unit,
        label_formatter=formatting.month if interval == "month" else formatting.bucket,
        value_formatter=value,
        tick_formatter=tick,
    )


async def _render_dashboard(request: Request, viewer: Viewer) -> Response:
    state = _state(request)
    site = viewer.site
    current = board_state(request)
    goals = tuple(await asyncio.to_thread(list_goals, state.meta, site.id))
    board = await asyncio.to_thread(
        build_dashboard, state.stats, site, goals, current, state.clock.now()
    )
    chart = chart_svg(
        board.chart,
        board.chart_compare,
        metric=board.metric,
        interval=board.interval,
        title=f"{METRIC_NAMES[board.metric]} of {site.domain}, {board.range_label}",
    )
    context = {
        **viewer.context(request, current),
        "board": board,
        "chart": chart,
        "periods": PERIODS,
        "interval_names": INTERVAL_NAMES,
        "metric_names": METRIC_NAMES,
        "hidden_state": [
            (k, v) for k, v in current.params() if k not in ("period", "date", "prop")
        ],
    }
    return render_page(request, "dashboard.html", context)


async def site_dashboard(request: Request) -> Response:
    """GET /sites/{domain}: the dashboard of one site."""
    viewer = await viewer_of(request)
    if isinstance(viewer, Response):
        return viewer
    return await _render_dashboard(request, viewer)


async def _current_visitors(request: Request, site: Site) -> Response:
    state = _state(request)
    now = state.clock.now()
    count = await asyncio.to_thread(state.stats.realtime_visitors, site.id, now)
    return Response(
        orjson.dumps({"visitors": count}),
        media_type="application/json",
        headers={"cache-control": "no-store"},
    )


async def site_current_visitors(request: Request) -> Response:
    """GET /sites/{domain}/current-visitors: ``{"visitors": N}`` for the signed-in dashboard."""
    user = await current_user(request)
    site = None
    if user is not None:
        site = await asyncio.to_thread(_readable, request, user, request.path_params["domain"])
    if site is None:
        return Response(b'{"error":"not found"}', 404, media_type="application/json")
    return await _current_visitors(request, site)


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
    return await _render_dashboard(request, Viewer(site, base, None))


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


async def shared_current_visitors(request: Request) -> Response:
    """GET /share/{slug}/current-visitors: the current-visitors count of a shared dashboard."""
    found = await _shared_site(request)
    if found is None or (found[0].has_password and not _unlocked(request, found[0].slug)):
        return Response(b'{"error":"not found"}', 404, media_type="application/json")
    return await _current_visitors(request, found[1])


ROUTES = [
    Route("/", sites_page, methods=["GET"]),
    Route("/sites/{domain}", site_dashboard, methods=["GET"]),
    Route("/sites/{domain}/current-visitors", site_current_visitors, methods=["GET"]),
    Route("/share/{slug}", shared_dashboard, methods=["GET", "POST"]),
    Route("/share/{slug}/current-visitors", shared_current_visitors, methods=["GET"]),
]
