"""Persistence of the visitor-hash salts. The rotation policy lives in footfall.ingest.salts."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

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


class SqlSaltStore:
    """The salts table as `footfall.ingest.salts.SaltKeeper` stores its salts."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def load(self) -> list[tuple[bytes, dt.datetime]]:
        """All stored salts with their creation time, newest first."""
        return load_salts(self._engine)

    def save_rotation(
        self, *, new_salt: bytes, created_at: dt.datetime, delete_before: dt.datetime
    ) -> None:
        """Stores a new salt and deletes those created before `delete_before`, atomically."""
        save_rotation(
            self._engine, new_salt=new_salt, created_at=created_at, delete_before=delete_before
        )
