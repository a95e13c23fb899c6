"""Every event-store backend the conformance suite runs against, opened in a temp dir.

A new backend joins by adding its name to `BACKENDS` with a way to open it and one statement
that runs far longer than a test's time limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from footfall.storage.base import EventStore
from footfall.storage.duckdb.store import DuckDBEventStore
from tests.services import chdb_store


@dataclass(frozen=True)
class Backend:
    """How the suite opens one backend."""

    name: str
    open: Callable[[Path], EventStore]
    # A read statement that takes far longer than a second on this backend.
    slow_statement: str


BACKENDS = {
    "duckdb": Backend(
        name="duckdb",
        open=lambda directory: DuckDBEventStore(directory / "events.duckdb"),
        slow_statement="SELECT count(*) FROM range(100000000000) WHERE range % 7 = 3",
    ),
    "clickhouse": Backend(
        name="clickhouse",
        open=lambda directory: chdb_store(directory / "chdb"),
        slow_statement="SELECT count() FROM numbers(100000000000) WHERE number % 7 = 3",
    ),
}


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
