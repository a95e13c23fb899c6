"""Where visitors are: countries with their share of visitors and public IP ranges.

Addresses are drawn from ranges that resolve to their country, so that the import and the live
pipeline locate visitors as they would real ones.
"""

from __future__ import annotations

import ipaddress
import random

from footfall.devtools.traffic.tables import lookup_table

#: country -> (visitor weight, IPv4 CIDRs, IPv6 CIDRs). Every range was checked to resolve to
#: its country with the geoip2fast database (see tests/devtools/test_demo.py).
COUNTRIES: dict[str, tuple[float, tuple[str, ...], tuple[str, ...]]] = {
    "US": (
        27.0,
        ("73.0.0.0/10", "24.0.0.0/12", "98.192.0.0/10", "71.192.0.0/12"),
        ("2601::/20", "2600:1700::/28"),
    ),
    "DE": (7.0, ("84.128.0.0/10", "91.0.0.0/10", "79.192.0.0/10"), ("2003::/19",)),
    "GB": (6.5, ("86.0.0.0/11", "81.96.0.0/12"), ("2a00:23c0::/27",)),
    "IN": (6.0, ("117.192.0.0/10", "106.192.0.0/11"), ("2409:4000::/22",)),
    "FR": (4.0, ("86.192.0.0/11", "90.0.0.0/13"), ("2a01:cb00::/27",)),
    "CA": (3.5, ("99.224.0.0/11", "70.24.0.0/13", "174.88.0.0/13"), ()),
    "NL": (3.0, ("84.24.0.0/13", "77.160.0.0/12"), ("2a02:a400::/26",)),
    "BR": (3.0, ("179.96.0.0/11", "177.0.0.0/13"), ("2804:14c::/32",)),
    "JP": (2.5, ("126.0.0.0/9",), ("240b:10::/32",)),
    "AU": (2.0, ("1.120.0.0/13", "101.160.0.0/14", "120.144.0.0/12"), ()),
    "ES": (2.0, ("83.32.0.0/11", "88.0.0.0/11", "79.144.0.0/12"), ()),
    "IT": (2.0, ("93.32.0.0/12", "79.0.0.0/12"), ()),
    "SE": (1.5, ("78.64.0.0/12", "83.248.0.0/13"), ()),
    "PL": (1.5, ("83.0.0.0/11", "79.184.0.0/13"), ()),
    "CN": (1.5, ("36.96.0.0/11", "114.80.0.0/12", "183.0.0.0/10"), ()),
    "RU": (1.3, ("95.24.0.0/13",), ()),
    "KR": (1.2, ("121.128.0.0/10", "211.32.0.0/12"), ()),
    "MX": (1.2, ("189.128.0.0/10",), ()),
    "ID": (1.2, ("36.64.0.0/11", "114.120.0.0/13"), ()),
    "CH": (1.0, ("85.0.0.0/13",), ()),
    "SG": (1.0, ("116.86.0.0/15", "220.255.0.0/16"), ()),
    "TR": (1.0, ("78.160.0.0/11", "88.224.0.0/11"), ()),
    "AT": (0.8, ("77.116.0.0/14",), ()),
    "NG": (0.8, ("105.112.0.0/12",), ()),
    "ZA": (0.8, ("41.0.0.0/11",), ()),
    "AR": (0.8, ("181.0.0.0/12",), ()),
    "IE": (0.8, ("86.40.0.0/13",), ()),
    "FI": (0.7, ("91.152.0.0/13",), ()),
    "NO": (0.7, ("84.208.0.0/13", "88.88.0.0/13"), ()),
    "DK": (0.7, ("87.48.0.0/13",), ()),
}

#: Share of (non-bot) new visitors that get an IPv6 address when their country has v6 ranges.
IPV6_SHARE = 0.2
_V6_SHIFTS = (112, 96, 80, 64, 48, 32, 16, 0)


class Addresses:
    """Draws visitor addresses: a weighted country, then a host in one of its ranges."""

    def __init__(self) -> None:
        codes = list(COUNTRIES)
        self.country_table = lookup_table([COUNTRIES[c][0] for c in codes], 12)
        # Per country: IPv4 (network, number of /24 blocks); IPv6 (network, host bits).
        self.v4: list[list[tuple[int, int]]] = []
        self.v6: list[list[tuple[int, int]]] = []
        for c in codes:
            _, v4, v6 = COUNTRIES[c]
            self.v4.append(
                [
                    (int(n.network_address), n.num_addresses >> 8)
                    for n in map(ipaddress.IPv4Network, v4)
                ]
            )
            self.v6.append(
                [
                    (int(n.network_address), 128 - n.prefixlen)
                    for n in map(ipaddress.IPv6Network, v6)
                ]
            )

    def draw(self, rng: random.Random) -> str:
        """Draws a fresh visitor IP address from a weighted random country.

        Nearly half of all generation time went here with ``randrange`` and ``ipaddress``; plain
        ``random()`` scaling and hand-made formatting make it about twice as fast.
        """
        rand = rng.random
        c = self.country_table[rng.getrandbits(12)]
        v6 = self.v6[c]
        if v6 and rand() < IPV6_SHARE:
            base, host_bits = v6[int(rand() * len(v6))]
            n = base | (rng.getrandbits(host_bits) or 1)
            text = ":".join([f"{(n >> shift) & 0xFFFF:x}" for shift in _V6_SHIFTS])
            # Hand-made text is canonical unless zero groups run (RFC 5952 compresses them).
            return str(ipaddress.IPv6Address(n)) if ":0:0" in text else text
        v4 = self.v4[c]
        base, blocks = v4[int(rand() * len(v4))]
        ip = base + (int(rand() * blocks) << 8) + 1 + int(rand() * 254)
        return f"{ip >> 24}.{(ip >> 16) & 255}.{(ip >> 8) & 255}.{ip & 255}"
