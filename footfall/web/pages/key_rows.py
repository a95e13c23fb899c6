"""API keys as pages list them: name, prefix, scopes, dates and status, never the key."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from footfall.meta.keys import ApiKey


def when(value: dt.datetime | None, empty: str = "never") -> str:
    """A time as pages show it (``2026-11-02 10:00 UTC``), or `empty` for none."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if value else empty


@dataclass(frozen=True, slots=True)
class KeyRow:
    """One of the user's API keys as the page lists it."""

    id: int
    name: str
    prefix: str
    scopes: str
    created: str
    last_used: str
    expires: str
    status: str

    @property
    def active(self) -> bool:
        """True when the key still works (a revoke button is shown)."""
        return self.status == "active"


def key_row(key: ApiKey, now: dt.datetime) -> KeyRow:
    """`key` as a page lists it, with its status at `now`."""
    if key.revoked_at is not None:
        status = "revoked"
    elif not key.is_active(now):
        status = "expired"
    else:
        status = "active"
    return KeyRow(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        scopes=", ".join(key.scopes),
        created=when(key.created_at),
        last_used=when(key.last_used_at),
        expires=when(key.expires_at),
        status=status,
    )
