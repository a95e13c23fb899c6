"""Every event-store backend the conformance suite runs against, opened in a temp dir.

A new backend joins by adding its name to `BACKENDS` with a way to open it, a way to restore
one of its snapshots into a new store, and one statement that runs far longer than a test's
time limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from footfall.storage.base import EventStore
from footfall.storage.duckdb.snapshots import restore_snapshot
from footfall.storage.duckdb.store import DuckDBEventStore
from tests.clickhouse_http import clickhouse_http
from tests.services import chdb_store, require_chdb

# ClickHouse HTTP servers (chdb behind the HTTP interface) of the running test, by directory.
_SERVERS: dict[Path, str] = {}
_STOPS = ExitStack()


def _over_http(directory: Path) -> EventStore:
    """A ClickHouse event store reached over HTTP, the way a deployment reaches a server.

    Stores of one test share a server (chdb opens one data directory per process), each in a
    database named after its directory.
    """
    from footfall.storage.clickhouse.store import ClickHouseEventStore

    require_chdb()
    parent = directory.parent
    if parent not in _SERVERS:
        _SERVERS[parent] = _STOPS.enter_context(
            clickhouse_http(parent / "clickhouse-server", password="pw 1/2@x")
        )
    url = _SERVERS[parent].rsplit("/", 1)[0]
    return ClickHouseEventStore(f"{url}/{directory.name}")


@dataclass(frozen=True)
class Backend:
    """How the suite opens one backend."""

    name: str
    open: Callable[[Path], EventStore]
    # A read statement that takes far longer than a second on this backend.
    slow_statement: str
    # Builds a store in a new directory from a snapshot directory (then opened with `open`).
    restore: Callable[[Path, Path], None] | None


BACKENDS = {
    "duckdb": Backend(
        name="duckdb",
        open=lambda directory: DuckDBEventStore(directory / "events.duckdb"),
        slow_statement="SELECT count(*) FROM range(100000000000) WHERE range % 7 = 3",
        restore=lambda snapshot, directory: restore_snapshot(
            snapshot, _made(directory) / "events.duckdb"
        ),
    ),
    "clickhouse": Backend(
        name="clickhouse",
        open=lambda directory: chdb_store(directory / "chdb"),
        slow_statement="SELECT count() FROM numbers(100000000000) WHERE number % 7 = 3",
        # chdb opens one data directory per process: a second store cannot be opened beside
        # the first, so restoring is tested over HTTP (and by the CLI, in a process of its own).
        restore=None,
    ),
    "clickhouse-http": Backend(
        name="clickhouse-http",
        open=_over_http,
        slow_statement="SELECT count() FROM numbers(100000000000) WHERE number % 7 = 3",
        restore=lambda snapshot, directory: _restored(_over_http(directory), snapshot),
    ),
}


def _restored(store: EventStore, snapshot: Path) -> None:
    """Loads a ClickHouse snapshot into a new store, which is then closed."""
    try:
        store.restore_from(snapshot)  # type: ignore[attr-defined]
    finally:
        store.close()


def _made(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(autouse=True)
def _stop_servers() -> Iterator[None]:
    """Stops the HTTP servers a test started (chdb allows one data directory per process)."""
    yield
    _STOPS.close()
    _SERVERS.clear()


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each backend in turn."""
    return BACKENDS[request.param]


# The backends a test can restore a snapshot of beside the store it took it from.
RESTORABLE = sorted(name for name, one in BACKENDS.items() if one.restore is not None)


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """Where the store under test keeps its files."""
    return tmp_path / "store"


@pytest.fixture
def store(backend: Backend, store_dir: Path) -> Iterator[EventStore]:
    """A new, empty store of the backend, closed after the test."""
    opened = backend.open(store_dir)
    try:
        yield opened
    finally:
        opened.close()
