from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from footfall.ingest.geo import GeoLocator


@pytest.fixture(scope="module")
def geo() -> GeoLocator:
    return GeoLocator()


@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("8.8.8.8", "US"),
        ("1.1.1.1", "AU"),
        ("81.2.69.142", "GB"),
        (" 8.8.8.8 ", "US"),
        ("::ffff:8.8.8.8", "US"),  # IPv4-mapped IPv6 from dual-stack proxies
        ("2001:4860:4860::8888", "US"),  # Google Public DNS
        ("2a00:1450:4001:80b::200e", "DE"),
        ("2001:67c:2e8:22::c100:68b", "NL"),  # RIPE NCC
        ("[2001:4860:4860::8888]", "US"),
    ],
)
def test_public_addresses(geo: GeoLocator, ip: str, country: str) -> None:
    assert geo.country(ip) == country


@pytest.mark.parametrize(
    "ip",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "127.0.0.1",
        "0.0.0.0",
        "100.64.0.1",  # carrier-grade NAT
        "169.254.1.1",
        "::1",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "2001:db8::1",  # documentation range
        "",
        "garbage",
        "256.1.1.1",
        "1.2.3",
        "127.1",  # inet_aton would accept this; we do not
        "8.8.8.8:53",
        "\x00",
    ],
)
def test_unknown_addresses(geo: GeoLocator, ip: str) -> None:
    assert geo.country(ip) == ""


@given(st.one_of(st.text(), st.ip_addresses().map(str)))
def test_country_never_raises(geo: GeoLocator, ip: str) -> None:
    code = geo.country(ip)
    assert code == "" or (len(code) == 2 and code.isupper())


def test_instances_share_the_loaded_database(geo: GeoLocator) -> None:
    assert GeoLocator().country("8.8.8.8") == geo.country("8.8.8.8") == "US"
