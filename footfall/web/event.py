"""`POST /api/event`: Plausible's Events API.

Kept lean: parse, run the pipeline, await the commit, answer.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.ingest.clientip import client_ip
from footfall.ingest.pipeline import ClientContext
from footfall.ingest.request import BodyError, decode_body, decode_json_body, parse_event
from footfall.storage.writer import GroupCommitWriter
from footfall.web.body import BodyTooLarge, read_body
from footfall.web.state import AppState

CORS = {"access-control-allow-origin": "*"}
PREFLIGHT = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "POST, OPTIONS",
    "access-control-max-age": "86400",
}


def _accepts_json(accept: str | None) -> bool:
    if not accept:
        return True
    return any(token in accept for token in ("json", "*/*", "application/*"))


def _error(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers={**CORS, **(headers or {})})


async def preflight(request: Request) -> Response:
    """Answers CORS preflight for the tracker (any origin may send events)."""
    headers = dict(PREFLIGHT)
    asked = request.headers.get("access-control-request-headers")
    headers["access-control-allow-headers"] = asked or "content-type"
    return Response(status_code=204, headers=headers)


async def event(request: Request) -> Response:
    """Accepts one event; 202 `ok` once it is committed (or dropped, with x-plausible-dropped)."""
    state: AppState = request.app.state.footfall
    # One pass over the raw headers; Starlette's Headers.get scans the list on every lookup.
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]}
    if not _accepts_json(headers.get("accept")):
        return Response("Not Acceptable", status_code=406, headers=CORS)
    try:
        body = await read_body(request, state.settings.max_body_bytes)
    except BodyTooLarge as exc:
        return _error(413, {"errors": {"request": [str(exc)]}})
    is_json = "application/json" in headers.get("content-type", "")
    try:
        data = decode_json_body(body) if is_json else decode_body(body)
    except BodyError as exc:
        if is_json:  # Phoenix's own answer to a body its JSON parser rejects
            return _error(400, {"status": 400, "message": "Bad Request"})
        return _error(400, {"errors": {"request": [str(exc)]}})
    parsed = parse_event(data)
    if isinstance(parsed, dict):
        return _error(400, {"errors": parsed})
    writer: GroupCommitWriter = state.writer
    if not writer.has_room(len(parsed.domains)):
        return _error(503, {"error": "ingest queue is full, retry shortly"}, {"retry-after": "1"})
    client = ClientContext(
        user_agent=headers.get("user-agent", ""),
        ip=client_ip(headers.get, request.client.host if request.client else None),
        ip_type=headers.get("x-plausible-ip-type"),
    )
    outcome = state.services.pipeline.process(parsed, client)
    if outcome.events:
        waiter = writer.submit(outcome.events, outcome.sessions)
        if waiter is None:
            return _error(
                503, {"error": "ingest queue is full, retry shortly"}, {"retry-after": "1"}
            )
        try:
            await waiter
        except Exception:
            return _error(
                503, {"error": "event store unavailable, retry shortly"}, {"retry-after": "5"}
            )
    response_headers = dict(CORS)
    if outcome.dropped:
        response_headers["x-plausible-dropped"] = str(outcome.dropped)
    return Response("ok", status_code=202, media_type="text/plain", headers=response_headers)
