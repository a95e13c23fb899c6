"""The probes: ``GET /healthz`` (liveness), ``GET /readyz`` and ``GET /metrics`` (Prometheus).

Readiness says whether this process should receive traffic, one named check at a time. Every check
is an object with ``ok`` and its details; the answer is 503 when any check is not ok. The memory
check reports a suspected leak but is always ok: a leak grows over minutes to hours, and taking a
leaking process out of rotation does not free its memory, it only moves its load onto the others (a
restart does; alert on ``footfall_memory_leak_suspected``).
"""

from __future__ import annotations

import secrets

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Scope

from footfall.security.client_address import Network, in_networks, is_forwarded, parse_networks
from footfall.services import Services


async def readyz(request: Request) -> Response:
    """Readiness: every check of the module docstring, 503 when one fails.

    Checks: metadata answers, the event store is writable, the disk has room, the ingest queue
    drains. The memory check is informative only (see the module docstring).
    """
    state: Services = request.app.state.footfall
    checks = await state.readiness()
    ready = all(check["ok"] for check in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


async def healthz(request: Request) -> Response:
    """Liveness: the process answers."""
    return PlainTextResponse("ok")


def _peer_allowed(scope: Scope, networks: tuple[Network, ...]) -> bool:
    # A request relayed by a proxy is not the proxy's own: a reverse proxy on loopback would
    # otherwise open /metrics to everyone it forwards, whichever header it names them in.
    names = (name.decode("latin-1").lower() for name, _ in scope["headers"])
    if is_forwarded(names):
        return False
    client = scope.get("client")
    return in_networks(str(client[0]) if client else None, networks)


def _token_matches(header: str | None, token: str) -> bool:
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return secrets.compare_digest(given.strip().encode(), token.encode())


async def metrics_endpoint(request: Request) -> Response:
    """`GET /metrics`: the exposition, for allowed peers or the bearer token.

    Returns:
        200 with the exposition; 401 (with `WWW-Authenticate: Bearer`) when a token is
        configured and the peer neither is allowed nor gave it; 403 when no token is configured
        and the peer is not allowed.
    """
    state: Services = request.app.state.footfall
    settings = state.settings
    token = settings.metrics_token
    allowed = _peer_allowed(request.scope, parse_networks(settings.metrics_allow)) or bool(
        token and _token_matches(request.headers.get("authorization"), token)
    )
    if not allowed:
        if token:
            return PlainTextResponse(
                "Unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        return PlainTextResponse("Forbidden", status_code=403)
    return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
