"""Bearer-key authentication for the JSON APIs, with Plausible's messages and check order.

What a key may do is decided by its effective rights (`footfall.meta.access`), not by the
scopes stored with it: a viewer's key reads only the viewer's sites, and a site the key does
not reach is answered exactly as a site that does not exist.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse

from footfall.errors import NotFoundError
from footfall.meta.access import Rights, key_rights
from footfall.meta.keys import ApiKey, authenticate
from footfall.meta.sites import Site, get_site
from footfall.services import Services

MISSING_KEY = "Missing API key. Please use a valid Plausible API key as a Bearer Token."
INVALID_KEY = (
    "Invalid API key or site ID. Please make sure you're using a valid API key with access "
    "to the site you've requested."
)
MISSING_SITE = "Missing site ID. Please provide the required site_id parameter with your request."


class ApiError(Exception):
    """An API refusal: answered as ``{"error": message}`` with `status`."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def response(self) -> JSONResponse:
        """The JSON response for this error."""
        return JSONResponse({"error": self.message}, status_code=self.status)


def bearer_token(request: Request) -> str | None:
    """The text after ``Bearer `` in the Authorization header, trimmed; None if absent."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _key_and_rights(
    engine: sa.Engine, token: str, now: dt.datetime
) -> tuple[ApiKey, Rights] | None:
    """The active key whose value is `token` and its rights now (one worker-thread hop)."""
    key = authenticate(engine, token, now=now)
    return None if key is None else (key, key_rights(engine, key))


async def authorize_key(
    request: Request,
    scope: str | tuple[str, ...],
    *,
    lacking_scope: ApiError | None = None,
    invalid: str = INVALID_KEY,
) -> tuple[ApiKey, Rights]:
    """The active key of the request and its rights, which hold `scope` (or one of several).

    Raises:
        ApiError: 401 with Plausible's message when the key is missing, or with `invalid`
            when it is unknown, expired, revoked or its owner disabled; `lacking_scope`
            (default: that same 401) when its rights lack every scope.
    """
    state: Services = request.app.state.footfall
    token = bearer_token(request)
    if token is None:
        raise ApiError(MISSING_KEY, 401)
    services = state
    now = services.clock.now()
    found = await asyncio.to_thread(_key_and_rights, services.meta, token, now)
    if found is None:
        raise ApiError(invalid, 401)
    services.key_usage.record(found[0].id, now)
    wanted = (scope,) if isinstance(scope, str) else scope
    if not any(found[1].allows(one) for one in wanted):
        raise lacking_scope or ApiError(invalid, 401)
    return found


async def resolve_site(request: Request, domain: str | None, rights: Rights) -> Site:
    """The site named by a ``site_id`` parameter, if `rights` reach it.

    Raises:
        ApiError: 400 when the parameter is missing; 401 (Plausible's wording) when the site
            is unknown or out of the key's reach, the same answer for both.
    """
    if not domain:
        raise ApiError(MISSING_SITE, 400)
    state: Services = request.app.state.footfall
    try:
        site = await asyncio.to_thread(get_site, state.meta, domain)
    except NotFoundError as exc:
        raise ApiError(INVALID_KEY, 401) from exc
    if not rights.reaches(site.id):
        raise ApiError(INVALID_KEY, 401)
    return site
