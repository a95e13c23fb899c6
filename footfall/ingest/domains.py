"""Registrable ("root") domains via the Public Suffix List, for visitor ids.

``publicsuffixlist`` ships its own copy of the list, which is what we use: the server
never fetches the list at runtime, so results only change when the package is upgraded.
"""

from __future__ import annotations

import functools
import ipaddress

from publicsuffixlist import PublicSuffixList

from footfall.ingest.urls import NO_HOSTNAME

__all__ = ["root_domain"]


@functools.cache
def _psl() -> PublicSuffixList:
    # Loaded lazily (~40 ms) and once per process; the default source is the bundled file.
    return PublicSuffixList()


def _is_ip_literal(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=65536)
def root_domain(hostname: str) -> str:
    """Returns the registrable domain of a hostname (``a.b.example.co.uk`` → ``example.co.uk``).

    Private-section suffixes (``github.io``, ``blogspot.com`` …) count as public suffixes,
    like Plausible's ``PublicSuffix.registrable_domain/1`` does by default.

    Args:
        hostname: An event hostname, normally already lower-cased and www-stripped.

    Returns:
        The registrable domain; the hostname itself for IP literals or when it has no
        registrable domain (``localhost``, a bare public suffix); ``(none)`` stays ``(none)``.
    """
    if hostname == NO_HOSTNAME or not hostname or _is_ip_literal(hostname):
        return hostname
    try:
        registrable = _psl().privatesuffix(hostname)
    except (ValueError, UnicodeError):
        # Labels the IDNA codec rejects (e.g. over-long); treat as "no registrable domain".
        registrable = None
    return registrable if registrable else hostname
