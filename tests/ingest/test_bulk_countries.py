"""Countries of many addresses at once agree with the live locator, address by address."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.ingest.bulk.countries import countries
from footfall.ingest.geo import GeoLocator


@pytest.fixture(scope="module")
def geo() -> GeoLocator:
    return GeoLocator()


ODD = [
    "81.2.69.142",
    " 8.8.8.8 ",
    "01.2.3.4",  # leading zeros: not an address for inet_pton
    "256.1.1.1",
    "1.2.3",
    "[2001:4860:4860::8888]",
    "::ffff:8.8.8.8",
    "2a00:1450:4001:80b::200e",
    "10.0.0.1",
    "0.0.0.0",
    "255.255.255.255",
    "",
    "garbage",
    "\u0661.\u0662.\u0663.\u0664",  # digits, but not ASCII ones
]


@settings(max_examples=50, deadline=None)
@given(
    addresses=st.lists(
        st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))
        | st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n)))
        | st.sampled_from(ODD)
        | st.text(max_size=15),
        max_size=60,
    )
)
def test_bulk_lookup_is_the_live_lookup(geo: GeoLocator, addresses: list[str]) -> None:
    assert countries(addresses, geo) == [geo.country(a) for a in addresses]


def test_known_countries(geo: GeoLocator) -> None:
    assert countries(["81.2.69.142", "8.8.8.8", "01.2.3.4", "2001:4860:4860::8888"], geo) == [
        "GB",
        "US",
        "",
        "US",
    ]
