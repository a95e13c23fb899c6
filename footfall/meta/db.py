"""Engine creation and migrations for the metadata store."""

from __future__ import annotations

import datetime as dt
import functools
import re
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from footfall.errors import ConfigError, StoreError
from footfall.monitoring.pools import PoolStats

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).parent / "migrations"
# Migrations are files named after their revision, each revising the one before it.
_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")
# Where the URL comes from, named in its errors.
URL_VARIABLE = "FOOTFALL_DATABASE_URL"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
# Seconds to wait for a PostgreSQL server to answer a new connection.
_CONNECT_TIMEOUT = 10
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&]*", re.IGNORECASE)
# The pool counters of each engine; weak, so that a disposed and dropped engine is forgotten.
_POOL_STATS: weakref.WeakKeyDictionary[sa.Engine, PoolStats] = weakref.WeakKeyDictionary()
# Marks a pooled connection's record while it is checked out (record_info survives reconnects).
_CHECKED_OUT = "footfall_checked_out"


def redact_url(url: str) -> str:
    """`url` with its password shown as ``***``, also when it cannot be parsed."""
    url = _QUERY_PASSWORD.sub(r"\1***", url)
    scheme, sep, rest = url.partition("://")
    # The last "@" ends the user information: a password may hold "@", "/" or ":" unescaped.
    userinfo, at, host = rest.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if not (sep and at and colon) or "/" in user:
        return url
    return f"{scheme}://{user}:***@{host}"


def database_url(url: str) -> sa.URL:
    """Parses a metadata database URL and checks that footfall supports it.

    A bare ``postgresql://`` selects psycopg 3 (what ``footfall[postgres]`` installs) rather
    than SQLAlchemy's default psycopg2.

    Raises:
        ConfigError: It cannot be parsed, or names another database than SQLite or
            PostgreSQL; the message shows it without its password.
    """
    try:
        parsed = sa.make_url(url)
        if parsed.host and "@" in parsed.host:
            # An unescaped "@" in the password: the rest of it would be taken for the host.
            raise ValueError("the password must be percent-encoded")
    except (sa.exc.ArgumentError, ValueError):
        raise ConfigError(
            f"{URL_VARIABLE} {redact_url(url)} cannot be parsed (expected sqlite:///PATH or "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE, with @ : / in the password "
            "written as %40 %3A %2F)"
        ) from None
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise ConfigError(
            f"{URL_VARIABLE} {redact_url(url)}: unsupported, use sqlite:/// or postgresql://"
        )
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def shown_url(engine: sa.Engine) -> str:
    """The engine's URL without its password, for messages."""
    return redact_url(engine.url.render_as_string(hide_password=False))


def create_engine(url: str) -> sa.Engine:
    """Creates the metadata engine; SQLite gets a busy timeout and WAL for concurrent readers.

    Args:
        url: SQLAlchemy database URL (SQLite or PostgreSQL).

    Returns:
        The engine.

    Raises:
        ConfigError: The URL cannot be parsed, names an unsupported database, or needs a
            driver that is not installed.
    """
    parsed = database_url(url)
    try:
        engine = _engine(parsed)
    except ImportError as exc:
        raise ConfigError(
            f"{URL_VARIABLE} {redact_url(url)} needs the driver {exc.name or parsed.drivername}, "
            "which is not installed (for PostgreSQL: pip install 'footfall[postgres]')"
        ) from None
    pool_stats(engine)  # counted from the first connection on
    return engine


def _engine(url: sa.URL) -> sa.Engine:
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    else:
        # An unreachable server fails start-up within seconds instead of hanging on connect.
        timeout = {} if "connect_timeout" in url.query else {"connect_timeout": _CONNECT_TIMEOUT}
        engine = sa.create_engine(url, pool_pre_ping=True, connect_args=timeout)
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


def _alembic_config(engine: sa.Engine | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def migrate(engine: sa.Engine, revision: str = "head") -> str | None:
    """Upgrades the schema to `revision` (or downgrades when it is older), returning the new head.

    Raises:
        StoreError: The database cannot be reached or migrated.
    """
    try:
        with engine.connect() as conn:
            stored = _stored_revision(conn)
    except sa.exc.SQLAlchemyError as exc:
        detail = getattr(exc, "orig", None) or exc
        raise StoreError(
            f"cannot open the metadata database {shown_url(engine)}: {detail}"
        ) from exc
    if revision == "head" and stored is not None and stored == newest_revision():
        # Every command opens the store; one already up to date needs no migration tooling,
        # whose import costs a command a quarter of a second.
        return stored
    from alembic import command
    from alembic.script import ScriptDirectory

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
        raise StoreError(
            f"metadata database {shown_url(engine)}: {exc.__class__.__name__}: {detail}"
        ) from exc
    return current_revision(engine)


def _is_ahead(script: ScriptDirectory, target: str, current: str) -> bool:
    return any(rev.revision == current for rev in script.iterate_revisions(target, "base"))


def _stored_revision(conn: sa.Connection) -> str | None:
    """The revision in Alembic's version table, read without Alembic (None without one)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    return str(rows[0]) if len(rows) == 1 else None  # several heads: leave it to Alembic


@functools.cache
def newest_revision() -> str:
    """The newest revision by the migration files' names, without loading them.

    `head_revision` asks Alembic, which imports every migration; the two agree (tested).
    """
    names = (_REVISION_FILE.match(path.name) for path in (MIGRATIONS / "versions").iterdir())
    return max(found.group(1) for found in names if found)


def current_revision(engine: sa.Engine) -> str | None:
    """The schema revision the database is at, or None when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The newest schema revision this version of footfall knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        raise StoreError("no metadata migrations found (broken installation)")
    return head


def known_revisions() -> list[str]:
    """Every schema revision this version of footfall knows, oldest first."""
    from alembic.script import ScriptDirectory

    revisions = [
        rev.revision for rev in ScriptDirectory.from_config(_alembic_config()).walk_revisions()
    ]
    return revisions[::-1]


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored timestamp as an aware UTC datetime.

    SQLite hands back naive datetimes, written as UTC; PostgreSQL answers in the server's time
    zone. An aware value in another zone is converted.
    """
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    """Current UTC time for metadata timestamps."""
    return dt.datetime.now(dt.UTC)
