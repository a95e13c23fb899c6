"""Engine creation and migrations for the metadata store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from footfall.errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"


def create_engine(url: str) -> sa.Engine:
    """Creates the metadata engine; SQLite gets a busy timeout and WAL for concurrent readers.

    Args:
        url: SQLAlchemy database URL.

    Returns:
        The engine.
    """
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _alembic_config(engine: sa.Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: sa.Engine, revision: str = "head") -> str | None:
    """Upgrades the schema to `revision` (or downgrades when it is older), returning the new head.

    Raises:
        StoreError: The database cannot be reached or migrated.
    """
    config = _alembic_config(engine)
    try:
        current = current_revision(engine)
        script = ScriptDirectory.from_config(config)
        if revision == "head" or current is None or _is_ahead(script, revision, current):
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)
    except sa.exc.SQLAlchemyError as exc:
        detail = getattr(exc, "orig", None) or exc
        raise StoreError(f"metadata database: {exc.__class__.__name__}: {detail}") from exc
    return current_revision(engine)


def _is_ahead(script: ScriptDirectory, target: str, current: str) -> bool:
    return any(rev.revision == current for rev in script.iterate_revisions(target, "base"))


def current_revision(engine: sa.Engine) -> str | None:
    """The schema revision the database is at, or None when it was never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The newest schema revision this version of footfall knows."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:
        raise StoreError("no metadata migrations found (broken installation)")
    return head


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored timestamp as an aware UTC datetime.

    SQLite hands back naive datetimes, written as UTC; PostgreSQL answers in the server's time
    zone. An aware value in another zone is converted.
    """
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    """Current UTC time for metadata timestamps."""
    return dt.datetime.now(dt.UTC)
