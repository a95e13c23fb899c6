"""`POST /api/import?site_id=DOMAIN`: NDJSON history, for a key with the `events:import` scope."""

from __future__ import annotations

import asyncio
import hashlib

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.lifecycle.importing import DIGEST, AlreadyImportedError, import_ndjson
from footfall.lifecycle.spool import spool
from footfall.services import Services
from footfall.web.api.auth import ApiError, authorize_key, resolve_site
from footfall.web.bodies import (
    IMPORT_BYTES,
    BodyTooLarge,
    check_declared_length,
    describe_limit,
    limited_chunks,
)

_NO_IMPORT_SCOPE = ApiError("This API key lacks the events:import scope.", 403)
# Imports are bulk: allow far more than a single event, still bounded.
MAX_IMPORT_BYTES = IMPORT_BYTES


async def import_events(request: Request) -> Response:
    """Imports the NDJSON body; answers with the import report (400 when nothing was usable).

    The same body imported into the site before is refused with a 409 unless ``force=true``.
    """
    state: Services = request.app.state.footfall
    services = state
    try:
        _, rights = await authorize_key(request, "events:import", lacking_scope=_NO_IMPORT_SCOPE)
        site = await resolve_site(request, request.query_params.get("site_id"), rights)
    except ApiError as exc:
        return exc.response()
    force = request.query_params.get("force") == "true"
    digest = hashlib.new(DIGEST)
    with spool(state.settings.data_dir) as (path, out):
        try:
            check_declared_length(request.headers.get("content-length"), MAX_IMPORT_BYTES)
            async for chunk in limited_chunks(request.stream(), MAX_IMPORT_BYTES):
                out.write(chunk)
                digest.update(chunk)
        except BodyTooLarge:
            return JSONResponse(
                {
                    "error": f"import body larger than {describe_limit(MAX_IMPORT_BYTES)}; "
                    "split it into several requests"
                },
                status_code=413,
            )
        out.close()
        try:
            report = await asyncio.to_thread(
                import_ndjson,
                services,
                site=site,
                path=path,
                force=force,
                digest=digest.hexdigest(),
            )
        except AlreadyImportedError as exc:
            return JSONResponse(
                {"error": f"{exc}; add force=true to import them a second time"},
                status_code=409,
            )
    status = 400 if report.rejected and not report.stored and not report.dropped else 200
    return JSONResponse(report.as_dict(), status_code=status)
