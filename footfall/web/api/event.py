"""`POST /api/event`: Plausible's Events API.

The hottest path in footfall, so it is a plain ASGI endpoint behind a Starlette `Route`: it
reads the body, parses, runs the pipeline, awaits the journal commit and answers, without
building Request and Response objects (they cost about a third of a trivial request here).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from footfall.ingest.pipeline import ClientContext
from footfall.ingest.request import BodyError, decode_body, decode_json_body, parse_event
from footfall.security.client_address import trusted_address, visitor_address
from footfall.security.ratelimit import rate_limit_headers
from footfall.services import Services
from footfall.web.bodies import BodyTooLarge, read_asgi_body

_CORS = [(b"access-control-allow-origin", b"*")]
_TEXT = b"text/plain; charset=utf-8"
_JSON = b"application/json"
_QUEUE_FULL = {"error": "ingest queue is full, retry shortly"}
_STORE_DOWN = {"error": "event store unavailable, retry shortly"}
_TOO_MANY = b"Too many requests"


def _accepts_json(accept: str | None) -> bool:
    if not accept:
        return True
    return any(token in accept for token in ("json", "*/*", "application/*"))


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes | None = _TEXT,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [*_CORS, (b"content-length", str(len(body)).encode())]
    if content_type is not None:
        headers.append((b"content-type", content_type))
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, body: Any, retry_after: str | None = None) -> None:
    extra = [(b"retry-after", retry_after.encode())] if retry_after else None
    await _respond(send, status, orjson.dumps(body), _JSON, extra)


class EventEndpoint:
    """An ASGI app (a class, so Starlette's Route passes it scope, receive and send as is)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Routes `/api/event`: POST accepts an event, OPTIONS answers the CORS preflight."""
        await _dispatch(scope, receive, send)


async def _dispatch(scope: Scope, receive: Receive, send: Send) -> None:
    # One pass over the raw headers; Starlette's Headers.get scans the list on every lookup.
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    if scope["method"] == "OPTIONS":
        asked = headers.get("access-control-request-headers") or "content-type"
        await _respond(
            send,
            204,
            b"",
            None,
            [
                (b"access-control-allow-methods", b"POST, OPTIONS"),
                (b"access-control-allow-headers", asked.encode("latin-1")),
                (b"access-control-max-age", b"86400"),
            ],
        )
        return
    state: Services = scope["app"].state.footfall
    await _event(state, scope, headers, receive, send)


async def _event(
    state: Services, scope: Scope, headers: dict[str, str], receive: Receive, send: Send
) -> None:
    """Accepts one event; 202 `ok` once it is durable (or dropped, with x-plausible-dropped)."""
    if not _accepts_json(headers.get("accept")):
        await _respond(send, 406, b"Not Acceptable")
        return
    client = scope.get("client")
    peer = client[0] if client else None
    ip = visitor_address(headers.get, peer)
    # Counted before the body is read, so a flood costs as little as possible, and per the
    # address trusted proxies vouch for: a forged header must not buy a fresh allowance.
    rate_limits = state.rate_limits
    if rate_limits.ingest is not None:
        settings = state.settings
        sender = trusted_address(
            headers.get,
            peer,
            settings.trusted_proxy_networks,
            client_ip_header=settings.client_ip_header,
        )
        decision = await rate_limits.limiter.hit_async(rate_limits.ingest, "ingest", sender or "-")
        if not decision.allowed:
            refusal = [
                (name.lower().encode(), value.encode())
                for name, value in rate_limit_headers(decision).items()
            ]
            await _respond(send, 429, _TOO_MANY, _TEXT, refusal)
            return
    try:
        body = await read_asgi_body(receive, headers, state.settings.max_body_bytes)
    except BodyTooLarge as exc:
        await _json(send, 413, {"errors": {"request": [str(exc)]}})
        return
    is_json = "application/json" in headers.get("content-type", "")
    try:
        data = decode_json_body(body) if is_json else decode_body(body)
    except BodyError as exc:
        if is_json:  # Phoenix's own answer to a body its JSON parser rejects
            await _json(send, 400, {"status": 400, "message": "Bad Request"})
        else:
            await _json(send, 400, {"errors": {"request": [str(exc)]}})
        return
    parsed = parse_event(data)
    if isinstance(parsed, dict):
        await _json(send, 400, {"errors": parsed})
        return
    writer = state.writer
    if not writer.has_room(len(parsed.domains)):
        await _json(send, 503, _QUEUE_FULL, retry_after="1")
        return
    context = ClientContext(
        user_agent=headers.get("user-agent", ""),
        ip=ip,
        ip_type=headers.get("x-plausible-ip-type"),
    )
    outcome = state.pipeline.process(parsed, context)
    if outcome.events:
        waiter = writer.submit(outcome.events, outcome.sessions)
        if waiter is None:
            await _json(send, 503, _QUEUE_FULL, retry_after="1")
            return
        try:
            await waiter
        except Exception:
            await _json(send, 503, _STORE_DOWN, retry_after="5")
            return
    extra = [(b"x-plausible-dropped", str(outcome.dropped).encode())] if outcome.dropped else None
    await _respond(send, 202, b"ok", _TEXT, extra)
