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
) -> bool:
    """Stores a new salt and deletes salts created before `delete_before`, in one transaction.

    The salt is for the UTC day of `created_at`, and a day has one salt: when several
    processes rotate at once, the first to commit wins and the others change nothing.

    Returns:
        True when this call stored the salt; False when the day had one already.
    """
    day = created_at.astimezone(dt.UTC).date()
    try:
        with engine.begin() as conn:
            conn.execute(salts.insert().values(salt=new_salt, created_at=created_at, day=day))
            conn.execute(salts.delete().where(salts.c.created_at < delete_before))
    except sa.exc.IntegrityError:
        return False
    return True


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
        """Stores a new salt and deletes those created before `delete_before`, atomically.

        Another process that rotated for the same day first wins; `load` then returns its salt.
        """
        save_rotation(
            self._engine, new_salt=new_salt, created_at=created_at, delete_before=delete_before
        )
