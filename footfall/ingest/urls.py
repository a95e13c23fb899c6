"""Page URL parsing: hostname, pathname and query parameters as Plausible stores them.

The parser is deliberately lenient: event URLs come straight from browsers (and from
anyone who can send a POST), so every string must produce *some* result instead of
raising. Splitting uses the generic RFC 3986 (appendix B) regular expression, which
matches any input, the same way Elixir's ``URI.parse/1`` (used by Plausible) does.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import parse_qsl, unquote

__all__ = [
    "CLICK_ID_PARAMS",
    "NO_HOSTNAME",
    "PageUrl",
    "SplitUrl",
    "parse_page_url",
    "parse_page_url_cached",
    "split_url",
    "strip_www",
]

#: Hostname stored when the URL has no host (Plausible's placeholder).
NO_HOSTNAME = "(none)"

#: Ad click-id query parameters, in the order Plausible checks them (first present wins).
CLICK_ID_PARAMS: tuple[str, ...] = ("gclid", "gbraid", "wbraid", "msclkid", "fbclid", "twclid")

# RFC 3986 appendix B. Every group is optional, so the pattern matches any string;
# DOTALL keeps stray newlines inside the component they appear in.
_URI_RE = re.compile(r"(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?", re.DOTALL)


class SplitUrl(NamedTuple):
    """Raw (not decoded) components of a URL; ``None`` means the component is absent.

    Attributes:
        scheme: Lower-cased scheme, e.g. ``"https"``.
        host: Host as written (brackets of IPv6 literals removed), without userinfo/port.
        path: Path, possibly empty.
        query: Query string without the ``?``.
        fragment: Fragment without the ``#``.
    """

    scheme: str | None
    host: str | None
    path: str
    query: str | None
    fragment: str | None


@dataclass(frozen=True, slots=True)
class PageUrl:
    """The parts of an event URL that Plausible keeps.

    Attributes:
        hostname: Lower-cased host without a leading ``www.``; ``(none)`` when missing.
        pathname: Percent-decoded path (plus ``#fragment`` in hash mode); ``/`` if missing.
        query: Form-decoded query parameters; for duplicate keys the last value wins.
    """

    hostname: str
    pathname: str
    query: dict[str, str]


def strip_www(host: str) -> str:
    """Normalises a host name for comparison and storage.

    Args:
        host: A host name, possibly with surrounding whitespace or upper case.

    Returns:
        The host trimmed, lower-cased and with one leading ``www.`` removed.
    """
    host = host.strip().lower()
    return host[4:] if host.startswith("www.") else host


def _host_from_authority(authority: str) -> str:
    # authority = [userinfo "@"] host [":" port]; userinfo may itself contain ':'.
    hostport = authority.rpartition("@")[2]
    if hostport.startswith("["):
        end = hostport.find("]")
        return hostport[1:end] if end != -1 else hostport[1:]
    host, sep, _port = hostport.rpartition(":")
    return host if sep else hostport


def split_url(url: str) -> SplitUrl:
    """Splits a URL into raw components without validating or decoding anything.

    Leading and trailing whitespace is ignored. Never raises.

    Args:
        url: Any string.

    Returns:
        The URL's components.
    """
    url = url.strip()
    match = _URI_RE.match(url)
    if match is None:  # unreachable: every group is optional; keeps mypy happy
        return SplitUrl(scheme=None, host=None, path=url, query=None, fragment=None)
    scheme, authority, path, query, fragment = match.groups()
    return SplitUrl(
        scheme=scheme.lower() if scheme is not None else None,
        host=_host_from_authority(authority) if authority is not None else None,
        path=path,
        query=query,
        fragment=fragment,
    )


def _decode_query(query: str | None) -> dict[str, str]:
    if not query:
        return {}
    # dict() keeps the last value for repeated keys, matching Plausible.
    return dict(parse_qsl(query, keep_blank_values=True, errors="replace"))


def parse_page_url(url: str, *, hash_mode: bool = False) -> PageUrl:
    """Extracts hostname, pathname and query parameters from an event URL.

    Follows Plausible (§1.7): the hostname is www-stripped (``(none)`` when absent), the
    pathname is percent-decoded with trailing whitespace trimmed but trailing slashes
    kept, and the fragment is only kept (as ``#decoded-fragment``) in hash mode.

    Args:
        url: The page URL sent by the tracker; any string is accepted.
        hash_mode: Whether the site uses hash-based routing (tracker ``h: 1``).

    Returns:
        The parsed URL. Never raises.
    """
    parts = split_url(url)
    hostname = strip_www(parts.host) if parts.host else ""
    pathname = unquote(parts.path or "/", errors="replace").rstrip() or "/"
    if hash_mode and parts.fragment is not None:
        pathname = f"{pathname}#{unquote(parts.fragment, errors='replace')}"
    return PageUrl(
        hostname=hostname or NO_HOSTNAME,
        pathname=pathname,
        query=_decode_query(parts.query),
    )


@functools.lru_cache(maxsize=16_384)
def parse_page_url_cached(url: str, *, hash_mode: bool = False) -> PageUrl:
    """`parse_page_url` for the live path, where the same pages recur; never mutate the result."""
    return parse_page_url(url, hash_mode=hash_mode)
