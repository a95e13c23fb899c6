"""Real external services for tests: a binary is found on PATH or the test is skipped.

Set FOOTFALL_REQUIRE_ALL=1 (as CI does) to turn a missing binary into a failure, so a test
cannot pass by silently not running.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import psycopg
import pytest
import redis
import sqlalchemy as sa
from psycopg import sql

from footfall.meta import db as meta_db

T = TypeVar("T")

REQUIRE_ALL = "FOOTFALL_REQUIRE_ALL"


def require_binary(name: str, *, also_in: Sequence[Path] = ()) -> str:
    """The path of `name` on PATH; skips the test without it (fails if FOOTFALL_REQUIRE_ALL=1).

    `also_in` lists directories searched after PATH.
    """
    path = shutil.which(name)
    if path is None and also_in:
        path = shutil.which(name, path=os.pathsep.join(str(d) for d in also_in))
    if path is None:
        unavailable(f"{name} is not installed (not found on PATH)")
    return path


def unavailable(reason: str) -> NoReturn:
    """Skips the test for a missing service, or fails it when FOOTFALL_REQUIRE_ALL=1."""
    if os.environ.get(REQUIRE_ALL) == "1":
        pytest.fail(f"{reason}; {REQUIRE_ALL}=1 forbids skipping", pytrace=False)
    pytest.skip(reason)


def start_with_retries(start: Callable[[], T], attempts: int = 3) -> T:
    """Runs `start` again when it fails: a free port can be taken between choosing and binding."""
    for attempt in range(attempts):
        try:
            return start()
        except RuntimeError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_redis(binary: str, workdir: Path, timeout: float) -> tuple[subprocess.Popen[bytes], str]:
    """Starts redis-server on a free loopback port and waits until it answers PING."""
    port = free_port()
    log_path = workdir / f"redis-{port}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + timeout
    with redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {log_path.read_text()[-2000:]}")
            try:
                if client.ping():
                    return process, url
            except redis.RedisError:
                time.sleep(0.05)
    _stop(process)
    raise RuntimeError(f"redis-server did not answer PING: {log_path.read_text()[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real redis-server on loopback, shared by the session (no persistence)."""
    binary = require_binary("redis-server")
    workdir = tmp_path_factory.mktemp("redis")
    process, url = start_with_retries(lambda: _start_redis(binary, workdir, timeout=10.0))
    try:
        yield url
    finally:
        _stop(process)


# -- PostgreSQL ------------------------------------------------------------------------------

# initdb and the server refuse to run as root; as root they run as this OS user instead.
POSTGRES_OS_USER = "postgres"


def _postgres_bin_dirs() -> list[Path]:
    """Debian and Ubuntu keep the server binaries off PATH, one directory per major version."""
    found = Path("/usr/lib/postgresql").glob("*/bin")
    versioned = [d for d in found if d.parent.name.isdigit()]
    return sorted(versioned, key=lambda d: int(d.parent.name), reverse=True)


def _postgres_account() -> tuple[int, int] | None:
    """The (uid, gid) to run PostgreSQL as: None as any user but root."""
    if os.geteuid() != 0:
        return None
    try:
        account = pwd.getpwnam(POSTGRES_OS_USER)
    except KeyError:
        unavailable(f"running as root needs the {POSTGRES_OS_USER!r} OS user for PostgreSQL")
    return account.pw_uid, account.pw_gid


def _as_account(account: tuple[int, int] | None) -> dict[str, Any]:
    """Popen arguments that run a child as `account` with no supplementary groups."""
    if account is None:
        return {}
    return {"user": account[0], "group": account[1], "extra_groups": []}


def _start_postgres(
    binary: str, data: Path, socket_dir: Path, account: tuple[int, int] | None, timeout: float
) -> tuple[subprocess.Popen[bytes], str]:
    """Starts the server on a free loopback port and waits until it accepts connections."""
    port = free_port()
    log_path = data.parent / f"postgres-{port}.log"
    with log_path.open("ab") as log:
        # Run directly, not via `pg_ctl start`, so that the fixture holds the server's process.
        process = subprocess.Popen(
            [
                binary,
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(socket_dir),
                "-c",
                "listen_addresses=127.0.0.1",
                # Throwaway data: durability only costs time.
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                # Many servers do not run on UTC: timestamps must come back as UTC all the same.
                "-c",
                "timezone=Pacific/Auckland",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=data.parent,
            **_as_account(account),
        )
    url = f"postgresql+psycopg://{POSTGRES_OS_USER}@127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"postgres exited: {log_path.read_text()[-2000:]}")
        try:
            psycopg.connect(_conninfo(url, "postgres"), connect_timeout=2).close()
        except psycopg.OperationalError:
            time.sleep(0.05)
        else:
            return process, url
    _stop(process)
    raise RuntimeError(f"postgres did not accept connections: {log_path.read_text()[-2000:]}")


def _conninfo(url: str, database: str) -> str:
    """A libpq URL for `database` on the server of a SQLAlchemy URL."""
    return sa.make_url(url).set(drivername="postgresql", database=database).render_as_string()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Base URL (no database name) of a real PostgreSQL server on loopback, shared by the session.

    The cluster is throwaway: trust authentication, no fsync, removed at the end.
    """
    initdb, pg_ctl, binary = (
        require_binary(name, also_in=_postgres_bin_dirs())
        for name in ("initdb", "pg_ctl", "postgres")
    )
    account = _postgres_account()
    # Not under pytest's base temp dir: as root that is private to root, and the server runs as
    # another user. A short path also keeps the unix socket within its length limit.
    workdir = Path(tempfile.mkdtemp(prefix="footfall-pg-"))
    try:
        data, socket_dir = workdir / "data", workdir / "socket"
        socket_dir.mkdir()
        if account is not None:
            for path in (workdir, socket_dir):
                os.chown(path, *account)
        subprocess.run(
            [
                initdb,
                "-D",
                str(data),
                "-U",
                POSTGRES_OS_USER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            cwd=workdir,
            timeout=120,
            **_as_account(account),
        )
        process, url = start_with_retries(
            lambda: _start_postgres(binary, data, socket_dir, account, timeout=30.0)
        )
        try:
            yield url
        finally:
            # A fast shutdown of the server started above (pg_ctl signals the pid it recorded).
            subprocess.run(
                [pg_ctl, "stop", "-D", str(data), "-m", "fast", "-w", "-t", "30"],
                check=False,
                capture_output=True,
                cwd=workdir,
                timeout=60,
                **_as_account(account),
            )
            _stop(process)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def fresh_postgres_database(server: str, prefix: str = "test") -> Iterator[str]:
    """URL of a new, empty database on the shared server, dropped when the block ends."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(_conninfo(server, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{server}{name}"
    finally:
        with psycopg.connect(_conninfo(server, "postgres"), autocommit=True) as admin:
            # FORCE: an engine the test left open must not keep the database alive.
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def postgres_database(postgres_server: str) -> Iterator[str]:
    """URL of a fresh, empty database on the shared server, dropped after the test."""
    with fresh_postgres_database(postgres_server) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def meta_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty metadata database: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'meta.sqlite3'}"
    # Looked up only here, so that the SQLite runs never start a server.
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture
def engine(meta_url: str) -> Iterator[sa.Engine]:
    """A migrated metadata store, on SQLite and (where installed) on PostgreSQL."""
    engine = meta_db.create_engine(meta_url)
    meta_db.migrate(engine)
    yield engine
    engine.dispose()


def require_chdb() -> None:
    """Skips the test without the chdb and clickhouse-connect packages (fails under REQUIRE_ALL)."""
    try:
        import chdb  # noqa: F401
        import clickhouse_connect  # noqa: F401
    except ImportError as exc:
        unavailable(f"ClickHouse in-process is not installed ({exc})")


def chdb_url(directory: Path) -> str:
    """The event-store URL of a chdb data directory (chdb is skipped if it is missing)."""
    require_chdb()
    return f"chdb://{directory}"


def chdb_store(directory: Path) -> Any:
    """A ClickHouse event store running in this process on `directory`."""
    from footfall.storage.clickhouse.store import ClickHouseEventStore

    return ClickHouseEventStore(chdb_url(directory))
