"""Copies of the metadata database for a backup, without the salts, and their restore.

- **SQLite**: SQLite's online backup API copies the database page by page while footfall keeps
  using it (each step sees one consistent state); the salts are then deleted from the copy and
  it is vacuumed, so no salt byte is left in a free page.
- **PostgreSQL**: ``pg_dump`` in its custom format, with the rows of ``salts`` excluded (the
  table itself is kept). ``pg_dump`` must be on the PATH of the process taking the backup and
  must be at least as new as the server; without it the backup stops with a message that
  says so (back the database up with your own tools, then, and pass ``--no-metadata``).

Salts are never backed up: a restored footfall makes a new one, so visitor ids computed after
a restore cannot be linked to those before it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess  # nosec B404
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from footfall.errors import StoreError
from footfall.meta import db

SQLITE_FILE = "meta.sqlite3"
PG_FILE = "meta.pgdump"
# How long pg_dump and pg_restore may take before they are stopped.
_PG_TIMEOUT_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class MetaDump:
    """A copy of the metadata database.

    Attributes:
        database: ``sqlite`` or ``postgresql``.
        revision: Its schema revision (Alembic).
        file: The file's name in the dump directory.
    """

    database: str
    revision: str | None
    file: str


def database_kind(engine: sa.Engine) -> str:
    """``sqlite`` or ``postgresql``."""
    return engine.url.get_backend_name()


def dump_metadata(engine: sa.Engine, directory: Path) -> MetaDump:
    """Copies the metadata database into `directory`, salts left out.

    Raises:
        StoreError: The copy failed, or ``pg_dump`` is missing or failed.
    """
    if database_kind(engine) == "sqlite":
        return _dump_sqlite(engine, directory / SQLITE_FILE)
    return _dump_postgres(engine, directory / PG_FILE)


def _sqlite_path(engine: sa.Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise StoreError("the metadata database is in memory: there is nothing to back up")
    return Path(database)


def _dump_sqlite(engine: sa.Engine, target: Path) -> MetaDump:
    source_path = _sqlite_path(engine)
    try:
        with (
            contextlib.closing(sqlite3.connect(source_path, timeout=30)) as source,
            contextlib.closing(sqlite3.connect(target)) as copy,
        ):
            source.backup(copy)
            copy.execute("DELETE FROM salts")
            copy.commit()
            copy.execute("VACUUM")
            row = copy.execute("SELECT version_num FROM alembic_version").fetchone()
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"copying the metadata database {source_path} failed: {exc}") from exc
    return MetaDump(database="sqlite", revision=row[0] if row else None, file=SQLITE_FILE)


def _libpq(engine: sa.Engine) -> tuple[str, dict[str, str]]:
    """The engine's database as a libpq URL without its password, and an environment with it.

    The password goes to the child through ``PGPASSWORD``: a command line is visible to every
    user of the machine.
    """
    url = engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StoreError(
            f"{name} is not installed: a PostgreSQL metadata database is copied with {name} "
            "(install the PostgreSQL client tools of the server's version), or back it up with "
            "your own tools and pass --no-metadata"
        )
    return path


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(  # noqa: S603  # nosec B603
            args, env=env, capture_output=True, timeout=_PG_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StoreError(f"{what} failed: {exc}") from exc
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise StoreError(f"{what} failed: {detail[-1] if detail else done.returncode}")


def _dump_postgres(engine: sa.Engine, target: Path) -> MetaDump:
    revision = db.current_revision(engine)
    url, env = _libpq(engine)
    args = [
        _tool("pg_dump"),
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        "--exclude-table-data=salts",
        f"--file={target}",
        f"--dbname={url}",
    ]
    _run(args, env, "pg_dump of the metadata database")
    return MetaDump(database="postgresql", revision=revision, file=PG_FILE)


def restore_metadata(
    dump: MetaDump, directory: Path, engine: sa.Engine, *, sqlite_target: Path, clean: bool
) -> None:
    """Puts a dump back: a SQLite file at `sqlite_target`, or into the PostgreSQL database.

    Args:
        dump: What the backup's manifest says the dump is.
        directory: Where the dump's file is.
        engine: The target metadata database (its kind must match the dump's).
        sqlite_target: Where a SQLite dump's file goes.
        clean: Drop what the PostgreSQL database already holds first.

    Raises:
        StoreError: The kinds differ, or the restore failed.
    """
    kind = database_kind(engine)
    if kind != dump.database:
        raise StoreError(
            f"the backup holds a {dump.database} metadata database and this footfall is set up "
            f"for {kind}: set FOOTFALL_DATABASE_URL to match the backup"
        )
    source = directory / dump.file
    if kind == "sqlite":
        os.replace(source, sqlite_target)
        return
    url, env = _libpq(engine)
    args = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error"]
    if clean:
        args += ["--clean", "--if-exists"]
    args += ["--single-transaction", f"--dbname={url}", str(source)]
    _run(args, env, "pg_restore of the metadata database")


def holds_footfall(engine: sa.Engine) -> bool:
    """Whether the metadata database already holds footfall's tables."""
    try:
        return "alembic_version" in sa.inspect(engine).get_table_names()
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(
            f"cannot read the metadata database {db.shown_url(engine)}: {exc}"
        ) from exc
