"""The Stats API over HTTP: Plausible's v1 endpoints and ``POST /api/v2/query``.

Each handler authenticates, resolves the site, parses the request into a `Query` and runs it
on the stats engine in a worker thread; refusals are raised, with Plausible's messages, and
answered by `footfall.web.errors`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from footfall.meta.goals import list_goals
from footfall.meta.sites import Site
from footfall.stats.model import Goal, StatsQueryError
from footfall.stats.v1 import V1Request, aggregate_json, breakdown_json, timeseries_json
from footfall.stats.v2 import V2Request, response_json
from footfall.web.auth import authorize_key, resolve_site
from footfall.web.state import AppState

REALTIME_WINDOW = dt.timedelta(minutes=5)


class OrjsonResponse(Response):
    """JSON rendered with orjson (several times faster than the standard library)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialises `content`."""
        return orjson.dumps(content)


async def _site_and_goals(request: Request, domain: str | None) -> tuple[Site, tuple[Goal, ...]]:
    await authorize_key(request, "stats:read")
    site = await resolve_site(request, domain)
    state: AppState = request.app.state.footfall
    goals = await asyncio.to_thread(list_goals, state.services.meta, site.id)
    return site, tuple(goals)


def _v1(request: Request, site: Site, goals: tuple[Goal, ...]) -> V1Request:
    state: AppState = request.app.state.footfall
    return V1Request(
        request.query_params,
        site_id=site.id,
        timezone=site.timezone,
        goals=goals,
        now=state.services.clock.now(),
    )


async def realtime_visitors(request: Request) -> Response:
    """``GET /api/v1/stats/realtime/visitors``: visitors in the last five minutes."""
    site, _ = await _site_and_goals(request, request.query_params.get("site_id"))
    state: AppState = request.app.state.footfall
    now = state.services.clock.now().astimezone(dt.UTC).replace(tzinfo=None)
    count = await asyncio.to_thread(state.stats.realtime_visitors, site.id, now - REALTIME_WINDOW)
    return OrjsonResponse(count)


async def aggregate(request: Request) -> Response:
    """``GET /api/v1/stats/aggregate``."""
    site, goals = await _site_and_goals(request, request.query_params.get("site_id"))
    state: AppState = request.app.state.footfall
    query, compare = _v1(request, site, goals).aggregate()
    result = await asyncio.to_thread(state.stats.run, query)
    previous = await asyncio.to_thread(state.stats.run, compare) if compare else None
    return OrjsonResponse(aggregate_json(query, result, previous))


async def timeseries(request: Request) -> Response:
    """``GET /api/v1/stats/timeseries``."""
    site, goals = await _site_and_goals(request, request.query_params.get("site_id"))
    state: AppState = request.app.state.footfall
    query = _v1(request, site, goals).timeseries()
    result = await asyncio.to_thread(state.stats.run, query)
    return OrjsonResponse(timeseries_json(query, result))


async def breakdown(request: Request) -> Response:
    """``GET /api/v1/stats/breakdown``."""
    site, goals = await _site_and_goals(request, request.query_params.get("site_id"))
    state: AppState = request.app.state.footfall
    v1 = _v1(request, site, goals)
    query, compare, _ = v1.breakdown()
    result = await asyncio.to_thread(state.stats.run, query)
    previous = await asyncio.to_thread(state.stats.run, compare) if compare else None
    returned = tuple(request.query_params.get("metrics", "visitors").split(","))
    return OrjsonResponse(breakdown_json(query, result, previous, returned))


async def query_v2(request: Request) -> Response:
    """``POST /api/v2/query``."""
    await authorize_key(request, "stats:read")
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise StatsQueryError("Invalid JSON body: expected a JSON object.") from exc
    if not isinstance(body, dict):
        raise StatsQueryError(
            "#: Type mismatch. Expected Object but got " + type(body).__name__ + "."
        )
    site_id = body.get("site_id")
    if site_id is not None and not isinstance(site_id, str):
        raise StatsQueryError("#/site_id: Type mismatch. Expected String.")
    site, goals = await _site_and_goals(request, site_id)
    state: AppState = request.app.state.footfall
    first = await asyncio.to_thread(state.stats.first_day, site.id, site.timezone)
    v2 = V2Request(
        body,
        site_id=site.id,
        timezone=site.timezone,
        goals=goals,
        now=state.services.clock.now(),
        first_data_day=first,
    )
    query = v2.query()
    result = await asyncio.to_thread(state.stats.run, query)
    return OrjsonResponse(response_json(v2, query, result))
