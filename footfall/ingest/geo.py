"""IP address → country, using the GeoLite2-derived data files shipped with ``geoip2fast``.

Only the country is resolved (no region/city): the bundled data is country-level and
nothing is downloaded at runtime.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
import socket
import threading
from dataclasses import dataclass
from importlib.resources import files
from typing import Final

import numpy as np
import numpy.typing as npt
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
_IPV4_MAX: Final = 0xFFFFFFFF

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
        ipv4_ranges()
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
        if number <= _IPV4_MAX:
            firsts, lasts, codes = ipv4_ranges()
            index = int(np.searchsorted(firsts, number, side="right")) - 1
            return str(codes[index]) if index >= 0 and number <= lasts[index] else ""
        first6, last6, codes6 = _ipv6_networks()
        index = bisect.bisect_right(first6, number) - 1
        return codes6[index] if index >= 0 and number <= last6[index] else ""


@dataclass(frozen=True, slots=True)
class _Database:
    """The bundled networks as flat columns, sorted by first address (IPv4 before IPv6)."""

    firsts: list[int]
    lengths: npt.NDArray[np.int64]
    # The country of each network, "" for private, reserved and unknown ones.
    countries: npt.NDArray[np.str_]
    ipv4_count: int


@functools.cache
def _flat_database() -> _Database:
    """Flattens geoip2fast's tables; country codes are checked once per code, not per network.

    Addresses are integers (IPv4 below 2**32, IPv6 as 128-bit values). A per-network Python
    loop over the nearly 800,000 networks used to be most of a process's start-up time.
    """
    _database()
    from geoip2fast import geoip2fast as data  # the tables live in module globals

    code_of_id = [_country_code(name) for name in data.mainListNamesCountry]
    # geoip2fast's ids below 16 are its private and reserved blocks.
    code_of_id[:16] = [""] * 16
    ids = np.fromiter(itertools.chain.from_iterable(data.mainListIDCountryCodes), np.int64)
    firsts = list(itertools.chain.from_iterable(data.mainListFirstIP))
    return _Database(
        firsts=firsts,
        lengths=np.fromiter(itertools.chain.from_iterable(data.mainListNetlength), np.int64),
        countries=np.array(code_of_id, dtype="<U2")[ids],
        ipv4_count=bisect.bisect_right(firsts, _IPV4_MAX),
    )


def _country_code(name: str) -> str:
    """The code of one of geoip2fast's ``CC:Country name`` entries; "" when it names none."""
    code = name.split(":", 1)[0].upper()
    return code if code not in _UNKNOWN_CODES and _COUNTRY_RE.fullmatch(code) else ""


@functools.cache
def ipv4_ranges() -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32], npt.NDArray[np.str_]]:
    """The IPv4 networks that name a country, as sorted columns (first, last, country).

    `GeoLocator.country` looks addresses up in these one at a time; bulk imports look up many
    at once with `numpy.searchsorted`. A miss means "no country".
    """
    db = _flat_database()
    end = db.ipv4_count
    keep = db.countries[:end] != ""
    first = np.array(db.firsts[:end], dtype=np.int64)[keep]
    last = first + (np.int64(1) << (32 - db.lengths[:end][keep])) - 1
    return first.astype(np.uint32), last.astype(np.uint32), db.countries[:end][keep]


@functools.cache
def _ipv6_networks() -> tuple[list[int], list[int], list[str]]:
    # Built on the first IPv6 lookup (~0.1 s): an import of IPv4 traffic never needs it.
    db = _flat_database()
    start = db.ipv4_count
    keep = (np.flatnonzero(db.countries[start:] != "") + start).tolist()
    firsts = [db.firsts[i] for i in keep]
    lasts = [
        first + (1 << (128 - length)) - 1
        for first, length in zip(firsts, db.lengths[keep].tolist(), strict=True)
    ]
    return firsts, lasts, db.countries[keep].tolist()


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
