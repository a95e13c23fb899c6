"""The client address and scheme of a request, believing only trusted proxies.

The rules live in `footfall.security.client_address`; this module reads them off Starlette's
request and the configured proxies.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request
from starlette.types import Scope

from footfall.security.client_address import Network, in_networks, trusted_address


def _peer(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


def trusted_client_ip(request: Request) -> str | None:
    """The client address as the trusted proxies vouch for it (the socket peer otherwise)."""
    settings = request.app.state.footfall.settings
    return trusted_address(
        request.headers.get,
        _peer(request.scope),
        settings.trusted_proxy_networks,
        client_ip_header=settings.client_ip_header,
    )


def scope_is_https(scope: Scope, networks: Iterable[Network]) -> bool:
    """True when the browser's connection is https, directly or at a trusted proxy."""
    if scope.get("scheme") == "https":
        return True
    proto = b""
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-proto":
            proto = value.split(b",")[0].strip().lower()
            break
    return proto == b"https" and in_networks(_peer(scope), networks)


def request_is_https(request: Request) -> bool:
    """`scope_is_https` for a request, with the configured proxies."""
    networks: tuple[Network, ...] = request.app.state.footfall.settings.trusted_proxy_networks
    return scope_is_https(request.scope, networks)
