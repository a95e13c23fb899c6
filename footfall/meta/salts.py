"""Persistence of the visitor-hash salts. The rotation policy lives in footfall.ingest.salts."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

import sqlalchemy as sa

from footfall.ingest.salts import SALT_BYTES, SaltRing, needs_rotation, next_rotation
from footfall.meta.tables import salts


def load_salts(engine: sa.Engine) -> list[tuple[bytes, dt.datetime]]:
    """All stored salts with their creation time, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(salts.c.salt, salts.c.created_at).order_by(salts.c.created_at.desc())
        ).all()
    # SQLite hands back naive datetimes, written as UTC; PostgreSQL the server's time zone.
    return [
        (
            bytes(row.salt),
            row.created_at.astimezone(dt.UTC)
            if row.created_at.tzinfo
            else row.created_at.replace(tzinfo=dt.UTC),
        )
        for row in rows
    ]


def save_rotation(
    engine: sa.Engine, *, new_salt: bytes, created_at: dt.datetime, delete_before: dt.datetime
) -> None:
    """Stores a new salt and deletes salts created before `delete_before`, in one transaction."""
    with engine.begin() as conn:
        conn.execute(salts.insert().values(salt=new_salt, created_at=created_at))
        conn.execute(salts.delete().where(salts.c.created_at < delete_before))


class SaltKeeper:
    """Hands out the current salt ring, rotating it (and persisting it) at 00:00 UTC."""

    def __init__(
        self, engine: sa.Engine, *, random_bytes: Callable[[int], bytes] = secrets.token_bytes
    ) -> None:
        self._engine = engine
        self._random_bytes = random_bytes
        self._ring: SaltRing | None = None
        self._valid_until: dt.datetime | None = None

    def ring(self, now: dt.datetime) -> SaltRing:
        """The salts to use at `now`, rotating first when a new UTC day has begun."""
        if self._ring is not None and self._valid_until is not None and now < self._valid_until:
            return self._ring
        stored = load_salts(self._engine)
        if needs_rotation(stored[0][1] if stored else None, now):
            created = now.astimezone(dt.UTC)
            # Keep the salt that was current until now as `previous`; delete anything older.
            delete_before = stored[0][1] if stored else created
            save_rotation(
                self._engine,
                new_salt=self._random_bytes(SALT_BYTES),
                created_at=created,
                delete_before=delete_before,
            )
            stored = load_salts(self._engine)
        self._ring = SaltRing(
            current=stored[0][0],
            previous=stored[1][0] if len(stored) > 1 else None,
            current_created=stored[0][1],
        )
        self._valid_until = next_rotation(now)
        return self._ring
