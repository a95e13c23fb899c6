"""``GET /api/v1/debug/memory``: allocation sites that grew since the previous call (admin).

The first call starts `tracemalloc` (unless it runs) and takes a baseline; each later call
snapshots again and answers the ``top`` sites (default 20, at most 500) whose allocated size
grew since the call before. Tracing stops when the app shuts down.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.monitoring.tracing import DEFAULT_TOP, MAX_TOP
from footfall.services import Services
from footfall.web.api.auth import ApiError, authorize_key


def _top(value: str | None) -> int:
    if value is None:
        return DEFAULT_TOP
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_TOP:
        raise ApiError(f"Parameter `top` must be a whole number from 1 to {MAX_TOP}")
    return int(value)


async def memory(request: Request) -> Response:
    """A baseline on the first call, then the top growing allocation sites."""
    state: Services = request.app.state.footfall
    try:
        await authorize_key(request, "admin")
        top = _top(request.query_params.get("top"))
    except ApiError as exc:
        return exc.response()
    report = await asyncio.to_thread(state.tracer.step, top)
    return JSONResponse(report)
