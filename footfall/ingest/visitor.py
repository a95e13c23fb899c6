"""Visitor ids: a keyed hash that identifies a visitor for one day without storing who it is."""

from __future__ import annotations

import hashlib


def visitor_id(salt: bytes, *, user_agent: str, ip: str, domain: str, root_domain: str) -> int:
    """Hashes (UA, IP, domain, root domain) under the day's secret salt.

    BLAKE2b in keyed mode is a MAC: without the salt, which never leaves the server and is
    deleted after two days, the id cannot be linked back to an address (docs/adr/0004).

    Returns:
        An unsigned 63-bit integer (kept below 2**63 so every store can hold it as BIGINT).
    """
    data = "\x00".join((user_agent, ip, domain, root_domain)).encode()
    digest = hashlib.blake2b(data, key=salt, digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1
