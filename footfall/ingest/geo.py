"""IP address → country, using the GeoLite2-derived data files shipped with ``geoip2fast``.

Only the country is resolved (no region/city): the bundled data is country-level and
nothing is downloaded at runtime.
"""

from __future__ import annotations

import functools
import ipaddress
import re
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


def _normalise_ip(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = ip.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.partition("%")[0]  # drop an IPv6 zone id ("fe80::1%eth0")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # Dual-stack proxies report IPv4 clients as ::ffff:a.b.c.d.
        return address.ipv4_mapped
    return address


class GeoLocator:
    """Looks up the country of client IP addresses. Safe to share between threads."""

    def __init__(self, *, cache_size: int = 65_536) -> None:
        """Loads the bundled database (shared by all instances in the process).

        Args:
            cache_size: Maximum number of distinct addresses whose results are kept.
        """
        self._db = _database()
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

    def _country_uncached(self, ip: str) -> str:
        address = _normalise_ip(ip)
        if address is None or not address.is_global:
            return ""
        try:
            code = str(self._db.lookup(str(address)).country_code or "").upper()
        except Exception:  # a lookup failure must never fail ingestion
            return ""
        if code in _UNKNOWN_CODES or not _COUNTRY_RE.fullmatch(code):
            return ""
        return code


@functools.cache
def ipv4_ranges() -> tuple[list[int], list[int], list[str]]:
    """Every IPv4 network of the bundled database as (first address, last address, country).

    Bulk imports join addresses to these ranges inside the database engine instead of looking
    each one up here. Private, reserved and unknown networks are left out.
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
            if first > 0xFFFFFFFF:
                break
            if code_id < 16:  # geoip2fast's private and reserved blocks
                continue
            code = names[code_id].split(":", 1)[0].upper()
            if code in _UNKNOWN_CODES or not _COUNTRY_RE.fullmatch(code):
                continue
            firsts.append(first)
            lasts.append(first + (1 << (32 - netlen)) - 1)
            countries.append(code)
    return firsts, lasts, countries
