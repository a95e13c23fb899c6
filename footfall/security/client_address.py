"""Who is on the other end: one resolver of client addresses for the whole app.

Two questions, two rules:

* **The trusted address** — for rate limits (ingest, sign-in, shared links), the audit log,
  the access log and ``/metrics`` access — believes forwarding headers only from the socket
  peer's own trusted proxies (``FOOTFALL_TRUSTED_PROXIES``), the RFC 7239 way: the
  ``X-Forwarded-For`` (or ``Forwarded: for=``) chain is walked from the right, skipping
  addresses that are themselves trusted proxies; the first address that is not is the client.
  A client can prepend anything it likes to the chain, but it cannot change what the trusted
  proxies appended after it. Another header (``CF-Connecting-IP``, ``X-Real-IP``) replaces the
  chain only when ``FOOTFALL_CLIENT_IP_HEADER`` names it, and only from a trusted peer.
* **The visitor address** — only ever hashed into a daily visitor id, never stored — reads
  Plausible's headers from anyone, in Plausible's order, because server-side senders put their
  visitors' addresses there (Plausible's Events API). Forging one only mislabels one's own
  visits; nothing is decided by it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
HeaderGetter = Callable[[str], str | None]

# Plausible's order for the visitor address (lib/plausible_web/remote_ip.ex).
VISITOR_HEADER_ORDER = ("x-plausible-ip", "cf-connecting-ip", "b-forwarded-for", "x-forwarded-for")
# Every header some proxy uses to say who the client is: a request carrying one was relayed.
FORWARDING_HEADERS = frozenset(
    {
        "forwarded",
        "x-forwarded-for",
        "x-real-ip",
        "x-plausible-ip",
        "cf-connecting-ip",
        "b-forwarded-for",
        "true-client-ip",
        "x-client-ip",
        "fly-client-ip",
    }
)


def parse_networks(raw: str) -> tuple[Network, ...]:
    """The networks of a comma-separated list of addresses or CIDR networks."""
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in raw.split(",") if p.strip())


def clean_address(value: str) -> str:
    """An address as a header writes it, without quotes, brackets or a port."""
    value = value.strip().strip('"')
    if value.startswith("["):
        # [v6]:port or [v6]
        return value[1 : value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        # v4:port; a bare IPv6 address has more than one colon.
        return value.split(":", 1)[0]
    return value


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(clean_address(value))
    except ValueError:
        return None


def in_networks(address: str | None, networks: Iterable[Network]) -> bool:
    """True when `address` is a valid address inside one of `networks`."""
    parsed = _address(address) if address else None
    return parsed is not None and any(parsed in net for net in networks)


def _forwarded_for(value: str) -> list[str]:
    """The ``for=`` tokens of a Forwarded header (RFC 7239), in order."""
    tokens = []
    for element in value.split(","):
        for pair in element.split(";"):
            key, _, token = pair.strip().partition("=")
            if key.lower() == "for" and token:
                tokens.append(token)
    return tokens


def _forwarded_chain(get_header: HeaderGetter) -> list[str]:
    """The client chain of X-Forwarded-For, or else of Forwarded's ``for=`` elements."""
    forwarded_for = get_header("x-forwarded-for")
    if forwarded_for:
        return [part for part in (p.strip() for p in forwarded_for.split(",")) if part]
    return _forwarded_for(get_header("forwarded") or "")


def trusted_address(
    get_header: HeaderGetter,
    peer: str | None,
    trusted: Iterable[Network],
    *,
    client_ip_header: str = "",
) -> str | None:
    """The client address as far as trusted proxies vouch for it (see the module docstring).

    Args:
        get_header: Looks up a request header by lower-case name.
        peer: The socket peer's address.
        trusted: The networks of trusted reverse proxies.
        client_ip_header: A header that names the client instead of the forwarded chain.

    Returns:
        The address as text, or the peer (None when not even that is known).
    """
    networks = tuple(trusted)
    if not in_networks(peer, networks):
        return peer
    if client_ip_header:
        named = _address(get_header(client_ip_header.lower()) or "")
        return str(named) if named is not None else peer
    vouched = peer
    for hop in reversed(_forwarded_chain(get_header)):
        address = _address(hop)
        if address is None:
            break  # nothing left of an unreadable hop can be vouched for
        vouched = str(address)
        if not any(address in net for net in networks):
            return vouched
    # Every readable hop is a trusted proxy: the leftmost of them is as far as trust goes.
    return vouched


def visitor_address(get_header: HeaderGetter, peer: str | None) -> str:
    """The address hashed into the visitor id: Plausible's headers from anyone, then the peer.

    Returns:
        The address as text ('' when nothing is known).
    """
    for name in VISITOR_HEADER_ORDER:
        value = get_header(name)
        if value:
            first = value.split(",", 1)[0] if name.endswith("forwarded-for") else value
            cleaned = clean_address(first)
            if cleaned:
                return cleaned
    for token in _forwarded_for(get_header("forwarded") or "")[:1]:
        cleaned = clean_address(token)
        if cleaned:
            return cleaned
    return peer or ""


def is_forwarded(header_names: Iterable[str]) -> bool:
    """True when any of the (lower-case) header names says the request was relayed."""
    return any(name in FORWARDING_HEADERS for name in header_names)
