"""Every event-store backend the conformance suite runs against, opened in a temp dir.

A new backend joins by adding its name to `BACKENDS` with a way to open it, a way to restore
one of its snapshots into a new store, and one statement that runs far longer than a test's
time limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from footfall.storage.base import EventStore
from footfall.storage.duckdb.snapshots import restore_snapshot
from footfall.storage.duckdb.store import DuckDBEventStore


@dataclass(frozen=True)
class Backend:
    """How the suite opens one backend."""

    name: str
    open: Callable[[Path], EventStore]
    # A read statement that takes far longer than a second on this backend.
    slow_statement: str
    # Builds a store in a new directory from a snapshot directory (then opened with `open`).
    restore: Callable[[Path, Path], None]


BACKENDS = {
    "duckdb": Backend(
        name="duckdb",
        open=lambda directory: DuckDBEventStore(directory / "events.duckdb"),
        slow_statement="SELECT count(*) FROM range(100000000000) WHERE range % 7 = 3",
        restore=lambda snapshot, directory: restore_snapshot(
            snapshot, _made(directory) / "events.duckdb"
        ),
    ),
}


def _made(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each backend in turn."""
    return BACKENDS[request.param]


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
