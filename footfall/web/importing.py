"""`POST /api/import?site_id=DOMAIN`: NDJSON history, for a key with the `events:import` scope."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.errors import NotFoundError
from footfall.importer import import_ndjson
from footfall.meta.keys import authenticate
from footfall.meta.sites import get_site
from footfall.web.state import AppState

MISSING_KEY = "Missing API key. Please use a valid Plausible API key as a Bearer Token."
INVALID_KEY = (
    "Invalid API key or site ID. Please make sure you're using a valid API key with access "
    "to the site you've requested."
)
MISSING_SITE = "Missing site ID. Please provide the required site_id parameter with your request."
# Imports are bulk: allow far more than a single event, still bounded.
MAX_IMPORT_BYTES = 1 << 30


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def import_events(request: Request) -> Response:
    """Imports the NDJSON body; answers with the import report (400 when nothing was usable)."""
    state: AppState = request.app.state.footfall
    services = state.services
    token = _bearer(request)
    if token is None:
        return JSONResponse({"error": MISSING_KEY}, status_code=401)
    key = await asyncio.to_thread(authenticate, services.meta, token, now=services.clock.now())
    if key is None:
        return JSONResponse({"error": INVALID_KEY}, status_code=401)
    if not key.allows("events:import"):
        return JSONResponse(
            {"error": "This API key lacks the events:import scope."}, status_code=403
        )
    domain = request.query_params.get("site_id")
    if not domain:
        return JSONResponse({"error": MISSING_SITE}, status_code=400)
    try:
        site = await asyncio.to_thread(get_site, services.meta, domain)
    except NotFoundError:
        return JSONResponse({"error": INVALID_KEY}, status_code=401)
    fd, name = tempfile.mkstemp(prefix="import-", suffix=".ndjson", dir=state.settings.data_dir)
    path = Path(name)
    try:
        size = 0
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_IMPORT_BYTES:
                    return JSONResponse(
                        {
                            "error": f"import body larger than {MAX_IMPORT_BYTES} bytes; "
                            "split it into several requests"
                        },
                        status_code=413,
                    )
                out.write(chunk)
        report = await asyncio.to_thread(import_ndjson, services, site=site, path=path)
    finally:
        path.unlink(missing_ok=True)
    status = 400 if report.rejected and not report.stored and not report.dropped else 200
    return JSONResponse(report.as_dict(), status_code=status)
