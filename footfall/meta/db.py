"""Engine creation and migrations for the metadata store."""

from __future__ import annotations

import datetime as dt
import weakref
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from footfall.errors import StoreError
from footfall.monitoring.pools import PoolStats

MIGRATIONS = Path(__file__).parent / "migrations"
# The pool counters of each engine; weak, so that a disposed and dropped engine is forgotten.
_POOL_STATS: weakref.WeakKeyDictionary[sa.Engine, PoolStats] = weakref.WeakKeyDictionary()
# Marks a pooled connection's record while it is checked out (record_info survives reconnects).
_CHECKED_OUT = "footfall_checked_out"


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

    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
    pool_stats(engine)  # counted from the first connection on
    return engine


def pool_stats(engine: sa.Engine) -> PoolStats:
    """The connection pool counters of `engine`, counting from the first call on.

    `create_engine` calls it, so its engines are counted from their first connection; for
    another engine, connections opened before the first call are not in `created`.
    """
    stats = _POOL_STATS.get(engine)
    if stats is None:
        stats = _POOL_STATS[engine] = PoolStats()
        _track(engine, stats)
    return stats


def _track(engine: sa.Engine, stats: PoolStats) -> None:
    # Engine-level pool listeners survive `dispose()`, which replaces the pool.
    def on_connect(*_: Any) -> None:
        stats.on_create()

    def on_close(*_: Any) -> None:
        stats.on_close()

    def on_checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
        record.record_info[_CHECKED_OUT] = True
        stats.on_checkout()

    def on_checkin(_dbapi: Any, record: Any) -> None:
        # A checkout that failed (pre-ping, reconnect) is checked in without a checkout
        # event: only count what was counted out, or `in_use` would drift below zero.
        if record.record_info.pop(_CHECKED_OUT, False):
            stats.on_checkin()

    sa.event.listen(engine, "connect", on_connect)
    sa.event.listen(engine, "close", on_close)  # closed by the pool: overflow, dispose, error
    sa.event.listen(engine, "close_detached", on_close)
    sa.event.listen(engine, "checkout", on_checkout)
    sa.event.listen(engine, "checkin", on_checkin)


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
