"""Bare Starlette baseline for the HTTP ingest benchmark.

One ``POST /api/event`` route that reads the request body and answers ``202 ok`` - the cheapest
possible endpoint on the same stack footfall uses (Starlette on uvicorn with httptools + uvloop).
Run with::

    python -m uvicorn bare_app:app --app-dir bench --http httptools --loop uvloop
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def event(request: Request) -> Response:
    """Reads the body and accepts it, like footfall's ingest endpoint minus the work."""
    await request.body()
    return Response("ok", status_code=202)


app = Starlette(routes=[Route("/api/event", event, methods=["POST"])])
