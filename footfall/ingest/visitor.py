"""Visitor ids: a keyed hash that identifies a visitor for one day without storing who it is."""

from __future__ import annotations

import hashlib

# Stands in for the User-Agent when an import names its visitors itself (see visitor_id).
VISITOR_ID_MARKER = "\x01visitor_id"


def visitor_id(salt: bytes, *, user_agent: str, ip: str, domain: str, root_domain: str) -> int:
    """Hashes (UA, IP, domain, root domain) under the day's secret salt.

    The construction is SHA-256 over the salt (hex) and the fields, joined by NUL bytes; the
    first 8 bytes, shifted right by one, are the id. Bulk imports call this same function, once
    per distinct identity. Without the salt, which never leaves the server and is deleted after
    two days, an id cannot be linked back to an address (docs/adr/0004).

    Returns:
        An unsigned 63-bit integer (kept below 2**63 so every store can hold it as BIGINT).
    """
    data = "\x00".join((salt.hex(), user_agent, ip, domain, root_domain)).encode()
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big") >> 1
