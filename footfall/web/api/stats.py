"""The Stats API over HTTP: Plausible's v1 endpoints and ``POST /api/v2/query``.

Each handler authenticates, resolves the site, parses the request into a `Query` and runs it
on the stats engine in a worker thread; refusals are raised, with Plausible's messages, and
answered by `footfall.web.errors`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.meta.access import Rights
from footfall.meta.goals import list_goals
from footfall.meta.sites import Site
from footfall.security.ratelimit import Decision, rate_limit_headers
from footfall.services import Services
from footfall.stats.model import Goal, StatsQueryError
from footfall.stats.v1 import V1Request, aggregate_json, breakdown_json, timeseries_json
from footfall.stats.v2 import V2Request, response_json
from footfall.web.api.auth import ApiError, authorize_key, resolve_site
from footfall.web.bodies import QUERY_BYTES, BodyTooLarge, read_body

TOO_MANY_REQUESTS = (
    "Too many API requests. Your API key is limited to {limit} requests per hour. "
    "Please contact us to request more capacity."
)


class RateLimited(ApiError):
    """429 with Plausible's message and the ``RateLimit-*`` and ``Retry-After`` headers."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(TOO_MANY_REQUESTS.format(limit=decision.limit), 429)
        self.decision = decision

    def response(self) -> JSONResponse:
        """The JSON response, with the rate-limit headers."""
        response = super().response()
        response.headers.update(rate_limit_headers(self.decision))
        return response


class OrjsonResponse(Response):
    """JSON rendered with orjson (several times faster than the standard library)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialises `content`."""
        return orjson.dumps(content)


async def _authorize(request: Request) -> Rights:
    """Authenticates the key, then counts the request against its hourly limit, as Plausible.

    Returns:
        The key's rights, which decide the sites the request may read.

    Raises:
        ApiError: The key is refused (401) or over its limit (`RateLimited`, 429).
    """
    key, rights = await authorize_key(request, "stats:read")
    state: Services = request.app.state.footfall
    limit = state.rate_limits.stats_api
    if limit is None:
        return rights
    decision = await state.rate_limits.limiter.hit_async(limit, "stats_api", str(key.id))
    request.state.rate_limit = decision
    if not decision.allowed:
        raise RateLimited(decision)
    return rights


def _answer(request: Request, content: Any) -> Response:
    """The JSON answer, with the ``RateLimit-*`` headers when the Stats API is limited."""
    response = OrjsonResponse(content)
    decision: Decision | None = getattr(request.state, "rate_limit", None)
    if decision is not None:
        response.headers.update(rate_limit_headers(decision))
    return response


async def _site_and_goals(
    request: Request, domain: str | None, rights: Rights
) -> tuple[Site, tuple[Goal, ...]]:
    """The site named by `domain`, if `rights` reach it, and its goals."""
    site = await resolve_site(request, domain, rights)
    state: Services = request.app.state.footfall
    goals = await asyncio.to_thread(list_goals, state.meta, site.id)
    return site, tuple(goals)


async def _v1(request: Request) -> tuple[Site, V1Request]:
    """Authorises a v1 request and parses its parameters for the site it names."""
    rights = await _authorize(request)
    site, goals = await _site_and_goals(request, request.query_params.get("site_id"), rights)
    state: Services = request.app.state.footfall
    return site, V1Request(
        request.query_params,
        site_id=site.id,
        timezone=site.timezone,
        goals=goals,
        now=state.clock.now(),
    )


async def realtime_visitors(request: Request) -> Response:
    """``GET /api/v1/stats/realtime/visitors``: visitors in the last five minutes."""
    rights = await _authorize(request)
    site = await resolve_site(request, request.query_params.get("site_id"), rights)
    state: Services = request.app.state.footfall
    now = state.clock.now()
    count = await asyncio.to_thread(state.stats.realtime_visitors, site.id, now)
    return _answer(request, count)


async def aggregate(request: Request) -> Response:
    """``GET /api/v1/stats/aggregate``."""
    _, v1 = await _v1(request)
    state: Services = request.app.state.footfall
    query, compare = v1.aggregate()
    result = await asyncio.to_thread(state.stats.run, query)
    previous = await asyncio.to_thread(state.stats.run, compare) if compare else None
    return _answer(request, aggregate_json(query, result, previous))


async def timeseries(request: Request) -> Response:
    """``GET /api/v1/stats/timeseries``."""
    _, v1 = await _v1(request)
    state: Services = request.app.state.footfall
    query = v1.timeseries()
    result = await asyncio.to_thread(state.stats.run, query)
    return _answer(request, timeseries_json(query, result))


async def breakdown(request: Request) -> Response:
    """``GET /api/v1/stats/breakdown``."""
    _, v1 = await _v1(request)
    state: Services = request.app.state.footfall
    query, compare, _ = v1.breakdown()
    result = await asyncio.to_thread(state.stats.run, query)
    previous = await asyncio.to_thread(state.stats.run, compare) if compare else None
    returned = tuple(request.query_params.get("metrics", "visitors").split(","))
    return _answer(request, breakdown_json(query, result, previous, returned))


async def query_v2(request: Request) -> Response:
    """``POST /api/v2/query``."""
    rights = await _authorize(request)
    try:
        body = orjson.loads(await read_body(request, QUERY_BYTES))
    except BodyTooLarge as exc:
        raise StatsQueryError(f"{exc}; a query fits in far less", 413) from None
    except orjson.JSONDecodeError as exc:
        raise StatsQueryError("Invalid JSON body: expected a JSON object.") from exc
    if not isinstance(body, dict):
        raise StatsQueryError(
            "#: Type mismatch. Expected Object but got " + type(body).__name__ + "."
        )
    site_id = body.get("site_id")
    if site_id is not None and not isinstance(site_id, str):
        raise StatsQueryError("#/site_id: Type mismatch. Expected String.")
    site, goals = await _site_and_goals(request, site_id, rights)
    state: Services = request.app.state.footfall
    first = None
    if body.get("date_range") == "all":
        # Only "all" needs the first day with data: spare every other query the scan.
        first = await asyncio.to_thread(state.stats.first_day, site.id, site.timezone)
    v2 = V2Request(
        body,
        site_id=site.id,
        timezone=site.timezone,
        goals=goals,
        now=state.clock.now(),
        first_data_day=first,
    )
    query = v2.query()
    result = await asyncio.to_thread(state.stats.run, query)
    return _answer(request, response_json(v2, query, result))
