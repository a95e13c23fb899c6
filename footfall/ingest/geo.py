"""IP address → country, using the GeoLite2-derived data files shipped with ``geoip2fast``.

Only the country is resolved (no region/city): the bundled data is country-level and
nothing is downloaded at runtime.
"""

from __future__ import annotations

import bisect
import functools
import re
import socket
import threading
from importlib.resources import files
from typing import Final

from geoip2fast import GeoIP2Fast

__all__ = ["GeoLocator"]

# geoip2fast ships geoip2fast.dat.gz (IPv4 only) and geoip2fast-ipv6.dat.gz, which holds the
# IPv4 *and* IPv6 networks. The latter alone therefore covers both families. Loading the two
# files into two instances would not work anyway: the library keeps the loaded tables in
# module globals, so the last load wins for every instance in the process.
_DATA_FILE: Final = "geoip2fast-ipv6.dat.gz"

# Codes that mean "no country": geoip2fast's private/not-found marker, and the placeholder
# codes Plausible treats as unknown.
_UNKNOWN_CODES: Final[frozenset[str]] = frozenset({"", "--", "ZZ", "XX", "T1"})
_COUNTRY_RE: Final = re.compile(r"[A-Z]{2}")

_load_lock = threading.Lock()


@functools.cache
def _database() -> GeoIP2Fast:
    # One load per process (~0.2 s, ~100 MB less than loading per instance); see _DATA_FILE.
    with _load_lock:
        path = str(files("geoip2fast") / _DATA_FILE)
        return GeoIP2Fast(verbose=False, geoip2fast_data_file=path)


class GeoLocator:
    """Looks up the country of client IP addresses. Safe to share between threads."""

    def __init__(self, *, cache_size: int = 65_536) -> None:
        """Loads the bundled database (shared by all instances in the process).

        Args:
            cache_size: Maximum number of distinct addresses whose results are kept.
        """
        self._networks = _networks()
        self._country_cached = functools.lru_cache(maxsize=cache_size)(self._country_uncached)

    def country(self, ip: str) -> str:
        """Returns the ISO 3166-1 alpha-2 country code of an IP address.

        Args:
            ip: An IPv4 or IPv6 address as text (brackets, zone ids and IPv4-mapped IPv6
                forms are accepted).

        Returns:
            The upper-case country code, or ``""`` for invalid, private/reserved or unknown
            addresses. Never raises.
        """
        return self._country_cached(ip)

    def cache_info(self) -> functools._CacheInfo:
        """Hits, misses, size and bound of the result cache."""
        return self._country_cached.cache_info()

    def _country_uncached(self, ip: str) -> str:
        number = _address_to_int(ip)
        if number is None:
            return ""
        firsts, lasts, countries = self._networks
        index = bisect.bisect_right(firsts, number) - 1
        if index < 0 or number > lasts[index]:
            return ""
        return countries[index]


@functools.cache
def _networks() -> tuple[list[int], list[int], list[str]]:
    """Every network of the bundled database as sorted (first, last, country) columns.

    Addresses are integers (IPv4 below 2**32, IPv6 as 128-bit values). Private, reserved and
    unknown networks are left out, so a miss means "no country".
    """
    _database()
    from geoip2fast import geoip2fast as data  # the tables live in module globals

    firsts: list[int] = []
    lasts: list[int] = []
    countries: list[str] = []
    names = data.mainListNamesCountry
    for chunk_first, chunk_len, chunk_ids in zip(
        data.mainListFirstIP, data.mainListNetlength, data.mainListIDCountryCodes, strict=True
    ):
        for first, netlen, code_id in zip(chunk_first, chunk_len, chunk_ids, strict=True):
            if code_id < 16:  # geoip2fast's private and reserved blocks
                continue
            code = names[code_id].split(":", 1)[0].upper()
            if code in _UNKNOWN_CODES or not _COUNTRY_RE.fullmatch(code):
                continue
            bits = 32 if first <= 0xFFFFFFFF else 128
            firsts.append(first)
            lasts.append(first + (1 << (bits - netlen)) - 1)
            countries.append(code)
    return firsts, lasts, countries


def ipv4_ranges() -> tuple[list[int], list[int], list[str]]:
    """The IPv4 part of the networks, for bulk imports that join addresses in the engine."""
    firsts, lasts, countries = _networks()
    end = bisect.bisect_right(firsts, 0xFFFFFFFF)
    return firsts[:end], lasts[:end], countries[:end]


def _address_to_int(ip: str) -> int | None:
    text = ip.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.partition("%")[0]  # drop an IPv6 zone id ("fe80::1%eth0")
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except (OSError, ValueError):
        pass
    try:
        value = int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    except (OSError, ValueError):
        return None
    if value >> 32 == 0xFFFF:  # ::ffff:a.b.c.d, how dual-stack proxies report IPv4 clients
        return value & 0xFFFFFFFF
    return value
