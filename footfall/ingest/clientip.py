"""The client IP address, from proxy headers in Plausible's order, then the socket peer."""

from __future__ import annotations

from collections.abc import Callable

HEADER_ORDER = ("x-plausible-ip", "cf-connecting-ip", "b-forwarded-for", "x-forwarded-for")


def _clean(value: str) -> str:
    value = value.strip().strip('"')
    if value.startswith("["):
        # [v6]:port or [v6]
        return value[1 : value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        # v4:port; a bare IPv6 address has more than one colon.
        return value.split(":", 1)[0]
    return value


def _forwarded_for(value: str) -> str | None:
    for element in value.split(","):
        for pair in element.split(";"):
            key, _, token = pair.strip().partition("=")
            if key.lower() == "for" and token:
                return _clean(token)
    return None


def client_ip(get_header: Callable[[str], str | None], peer: str | None) -> str:
    """Resolves the IP address that identifies a visitor.

    Args:
        get_header: Looks up a request header by lower-case name.
        peer: The socket peer address, if known.

    Returns:
        The address as text ('' when nothing is known).
    """
    for name in HEADER_ORDER:
        value = get_header(name)
        if value:
            first = value.split(",", 1)[0] if name.endswith("forwarded-for") else value
            cleaned = _clean(first)
            if cleaned:
                return cleaned
    forwarded = get_header("forwarded")
    if forwarded:
        found = _forwarded_for(forwarded)
        if found:
            return found
    return peer or ""
