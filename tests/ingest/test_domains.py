from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from footfall.ingest.domains import root_domain


@pytest.mark.parametrize(
    ("hostname", "expected"),
    [
        ("example.com", "example.com"),
        ("a.b.example.com", "example.com"),
        ("shop.example.co.uk", "example.co.uk"),
        ("example.co.uk", "example.co.uk"),
        ("co.uk", "co.uk"),  # a bare public suffix has no registrable domain
        ("com", "com"),
        ("blog.example.com.au", "example.com.au"),
        ("user.github.io", "user.github.io"),  # private-section suffixes count
        ("a.user.github.io", "user.github.io"),
        ("EXAMPLE.COM", "example.com"),
        ("localhost", "localhost"),
        ("192.168.0.1", "192.168.0.1"),  # IPv4 literal: not "0.1"
        ("8.8.8.8", "8.8.8.8"),
        ("2001:db8::1", "2001:db8::1"),
        ("(none)", "(none)"),
        ("", ""),
        ("intranet.local", "intranet.local"),  # unknown TLD: the default '*' rule applies
    ],
)
def test_root_domain(hostname: str, expected: str) -> None:
    assert root_domain(hostname) == expected


def test_subdomains_share_a_root() -> None:
    assert root_domain("a.example.com") == root_domain("b.example.com")


def test_results_are_cached() -> None:
    root_domain.cache_clear()
    root_domain("x.example.org")
    root_domain("x.example.org")
    info = root_domain.cache_info()
    assert info.hits >= 1
    assert info.maxsize == 65536


@given(st.text())
def test_root_domain_never_raises(hostname: str) -> None:
    assert isinstance(root_domain(hostname), str)
