"""``GET /api/v1/audit``: the audit log of administrative changes, for keys with ``admin``.

Query parameters, all optional: ``since`` (ISO 8601 date or date-time; UTC unless it has an
offset), ``actor``, ``action`` and ``limit`` (1 to 10000, default 1000). The answer is
``{"entries": [...]}``, newest first; errors are ``{"error": message}``.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from footfall.errors import InvalidInputError
from footfall.meta.audit import DEFAULT_LIMIT, MAX_LIMIT, Actor, list_entries, parse_since
from footfall.meta.keys import ApiKey
from footfall.services import Services
from footfall.web.api.auth import ApiError, authorize_key
from footfall.web.middleware.clients import trusted_client_ip


def request_actor(request: Request, key: ApiKey) -> Actor:
    """The audit actor of a request made with `key`: ``key:<name>`` and the client address.

    The address is the socket peer, or what a trusted proxy forwarded
    (footfall.web.middleware.clients).
    """
    return Actor(f"key:{key.name}", ip=trusted_client_ip(request))


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_LIMIT:
        raise ApiError(f"Parameter `limit` must be a whole number from 1 to {MAX_LIMIT}")
    return int(value)


async def audit_entries(request: Request) -> Response:
    """The audit log, newest first, filtered by the query parameters."""
    state: Services = request.app.state.footfall
    query = request.query_params
    try:
        await authorize_key(request, "admin")
        since_text = query.get("since")
        try:
            since = parse_since(since_text) if since_text is not None else None
        except InvalidInputError as exc:
            raise ApiError(f"Parameter `since`: {exc}") from exc
        entries = await asyncio.to_thread(
            list_entries,
            state.meta,
            since=since,
            actor=query.get("actor"),
            action=query.get("action"),
            limit=_limit(query.get("limit")),
        )
    except ApiError as exc:
        return exc.response()
    except InvalidInputError as exc:
        return ApiError(str(exc)).response()
    return JSONResponse({"entries": [entry.as_json() for entry in entries]})
