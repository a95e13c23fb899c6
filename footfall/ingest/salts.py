"""The salt rotation policy: a new random salt every day at 00:00 UTC, two kept."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

SALT_BYTES = 16


@dataclass(frozen=True, slots=True)
class SaltRing:
    """The salts in use: ids are computed with `current`; `previous` only finds open sessions."""

    current: bytes
    previous: bytes | None
    current_created: dt.datetime


def day_start(now: dt.datetime) -> dt.datetime:
    """00:00 UTC of the day `now` falls in."""
    now = now.astimezone(dt.UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def next_rotation(now: dt.datetime) -> dt.datetime:
    """The next 00:00 UTC after `now`."""
    return day_start(now) + dt.timedelta(days=1)


def needs_rotation(newest_created: dt.datetime | None, now: dt.datetime) -> bool:
    """True when there is no salt yet, or the newest was made before today's midnight."""
    return newest_created is None or newest_created < day_start(now)


class SaltStore(Protocol):
    """Where salts persist (the metadata store's salts table)."""

    def load(self) -> list[tuple[bytes, dt.datetime]]:
        """All stored salts with their creation time, newest first."""
        ...

    def save_rotation(
        self, *, new_salt: bytes, created_at: dt.datetime, delete_before: dt.datetime
    ) -> None:
        """Stores a new salt and deletes those created before `delete_before`, atomically."""
        ...


class SaltKeeper:
    """Hands out the current salt ring, rotating it (and persisting it) at 00:00 UTC."""

    def __init__(
        self, store: SaltStore, *, random_bytes: Callable[[int], bytes] = secrets.token_bytes
    ) -> None:
        self._store = store
        self._random_bytes = random_bytes
        self._ring: SaltRing | None = None
        self._valid_until: dt.datetime | None = None

    def ring(self, now: dt.datetime) -> SaltRing:
        """The salts to use at `now`, rotating first when a new UTC day has begun."""
        if self._ring is not None and self._valid_until is not None and now < self._valid_until:
            return self._ring
        stored = self._store.load()
        if needs_rotation(stored[0][1] if stored else None, now):
            created = now.astimezone(dt.UTC)
            # Keep the salt that was current until now as `previous`; delete anything older.
            delete_before = stored[0][1] if stored else created
            self._store.save_rotation(
                new_salt=self._random_bytes(SALT_BYTES),
                created_at=created,
                delete_before=delete_before,
            )
            stored = self._store.load()
        self._ring = SaltRing(
            current=stored[0][0],
            previous=stored[1][0] if len(stored) > 1 else None,
            current_created=stored[0][1],
        )
        self._valid_until = next_rotation(now)
        return self._ring
