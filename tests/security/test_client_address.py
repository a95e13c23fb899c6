"""One resolver of client addresses: trusted proxies only, walked from the right (RFC 7239)."""

from __future__ import annotations

import pytest

from footfall.security.client_address import (
    is_forwarded,
    parse_networks,
    trusted_address,
    visitor_address,
)

LOOPBACK = parse_networks("127.0.0.1,::1")
PROXIES = parse_networks("127.0.0.1,10.0.0.0/8")


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
def test_the_visitor_address_follows_plausibles_headers_from_anyone(
    headers: dict[str, str], expected: str
) -> None:
    assert visitor_address(headers.get, "10.0.0.9") == expected


def test_no_peer_and_no_headers() -> None:
    assert visitor_address({}.get, None) == ""
    assert trusted_address({}.get, None, LOOPBACK) is None


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        # An untrusted peer is the client, whatever it claims.
        ("198.51.100.7", {"x-forwarded-for": "6.6.6.6"}, "198.51.100.7"),
        ("198.51.100.7", {"x-plausible-ip": "6.6.6.6"}, "198.51.100.7"),
        # A trusted proxy appended the real client; what the client prepended is ignored.
        ("127.0.0.1", {"x-forwarded-for": "6.6.6.6, 203.0.113.9"}, "203.0.113.9"),
        ("127.0.0.1", {"x-forwarded-for": "6.6.6.6, 127.0.0.1, 203.0.113.9"}, "203.0.113.9"),
        # Trusted hops on the right are skipped.
        ("127.0.0.1", {"x-forwarded-for": "203.0.113.9, 10.1.2.3, 10.4.5.6"}, "203.0.113.9"),
        # Only trusted hops: the leftmost is as far as trust reaches.
        ("127.0.0.1", {"x-forwarded-for": "10.1.2.3, 10.4.5.6"}, "10.1.2.3"),
        # No chain at all: the proxy itself.
        ("127.0.0.1", {}, "127.0.0.1"),
        # Forwarded: for= when there is no X-Forwarded-For.
        ("127.0.0.1", {"forwarded": "for=6.6.6.6, for=203.0.113.9"}, "203.0.113.9"),
        # An unreadable hop: nothing left of it is believed.
        ("127.0.0.1", {"x-forwarded-for": "6.6.6.6, junk, 10.1.2.3"}, "10.1.2.3"),
        ("127.0.0.1", {"x-forwarded-for": "6.6.6.6, junk"}, "127.0.0.1"),
        # Other client headers are not believed unless configured.
        ("127.0.0.1", {"cf-connecting-ip": "6.6.6.6"}, "127.0.0.1"),
    ],
)
def test_the_trusted_address_walks_the_chain_from_the_right(
    peer: str, headers: dict[str, str], expected: str
) -> None:
    assert trusted_address(headers.get, peer, PROXIES) == expected


def test_a_configured_client_header_replaces_the_chain_for_trusted_peers_only() -> None:
    headers = {"cf-connecting-ip": "203.0.113.9", "x-forwarded-for": "6.6.6.6"}
    header = "CF-Connecting-IP"
    assert trusted_address(headers.get, "127.0.0.1", LOOPBACK, client_ip_header=header) == (
        "203.0.113.9"
    )
    assert trusted_address(headers.get, "198.51.100.7", LOOPBACK, client_ip_header=header) == (
        "198.51.100.7"
    )
    bad = {"cf-connecting-ip": "not an address"}
    assert trusted_address(bad.get, "127.0.0.1", LOOPBACK, client_ip_header=header) == ("127.0.0.1")


def test_any_forwarding_header_marks_a_relayed_request() -> None:
    for name in ("x-forwarded-for", "x-real-ip", "cf-connecting-ip", "x-plausible-ip"):
        assert is_forwarded(["accept", name])
    assert not is_forwarded(["accept", "user-agent"])
