from __future__ import annotations

import pytest

from footfall.ingest.clientip import client_ip


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "10.0.0.9"),
        ({"x-forwarded-for": "203.0.113.5, 10.0.0.1"}, "203.0.113.5"),
        ({"x-forwarded-for": "203.0.113.5:8080"}, "203.0.113.5"),
        ({"x-forwarded-for": "[2001:db8::1]:443, 10.0.0.1"}, "2001:db8::1"),
        ({"x-forwarded-for": "2001:db8::2"}, "2001:db8::2"),
        ({"forwarded": 'for="[2001:db8::3]:80";proto=https'}, "2001:db8::3"),
        ({"forwarded": "proto=https;for=198.51.100.7"}, "198.51.100.7"),
        ({"b-forwarded-for": "198.51.100.8", "x-forwarded-for": "1.1.1.1"}, "198.51.100.8"),
        ({"cf-connecting-ip": "198.51.100.9", "b-forwarded-for": "1.1.1.1"}, "198.51.100.9"),
        ({"x-plausible-ip": "198.51.100.10", "cf-connecting-ip": "1.1.1.1"}, "198.51.100.10"),
        ({"x-forwarded-for": "", "forwarded": "for=192.0.2.60"}, "192.0.2.60"),
    ],
)
def test_headers_in_plausible_order(headers: dict[str, str], expected: str) -> None:
    assert client_ip(headers.get, "10.0.0.9") == expected


def test_no_peer_and_no_headers() -> None:
    assert client_ip({}.get, None) == ""
