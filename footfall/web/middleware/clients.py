"""Who is on the other end: the client address and scheme, believing proxies only if trusted.

Ingest reads forwarding headers from anyone, as Plausible does: a visitor who forges one only
mislabels their own visit. Sign-in limits, the audit log, Secure cookies and HSTS need facts a
client cannot choose, so here ``X-Forwarded-For`` and ``X-Forwarded-Proto`` count only when the
socket peer is one of ``FOOTFALL_TRUSTED_PROXIES``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.requests import Request
from starlette.types import Scope

from footfall.ingest.clientip import client_ip

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_trusted_peer(peer: str | None, networks: Iterable[Network]) -> bool:
    """True when `peer` (a socket address) lies in one of `networks`."""
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in net for net in networks)


def _networks(request: Request) -> tuple[Network, ...]:
    networks: tuple[Network, ...] = request.app.state.footfall.settings.trusted_proxy_networks
    return networks


def _peer(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


def trusted_client_ip(request: Request) -> str | None:
    """The client address: from forwarding headers only when a trusted proxy sent them."""
    peer = _peer(request.scope)
    if is_trusted_peer(peer, _networks(request)):
        return client_ip(request.headers.get, peer) or peer
    return peer


def scope_is_https(scope: Scope, networks: Iterable[Network]) -> bool:
    """True when the browser's connection is https, directly or at a trusted proxy."""
    if scope.get("scheme") == "https":
        return True
    proto = b""
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-proto":
            proto = value.split(b",")[0].strip().lower()
            break
    return proto == b"https" and is_trusted_peer(_peer(scope), networks)


def request_is_https(request: Request) -> bool:
    """`scope_is_https` for a request, with the configured proxies."""
    return scope_is_https(request.scope, _networks(request))
