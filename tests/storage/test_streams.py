"""Several workers' journals in one ClickHouse store: streams, versioned sessions, replay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from footfall.storage.versions import SessionVersions
from tests.services import chdb_store
from tests.storage.rows import T0, event, session

MINUTE = T0.resolution * 60_000_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    opened = chdb_store(tmp_path / "chdb")
    try:
        yield opened
    finally:
        opened.close()


def _one(store: Any, sql: str) -> Any:
    return store.query(sql, [], timeout=10, tag="test")[0][0]


def _changes(n: int) -> list[tuple[Any, ...]]:
    """The changes a shared session store hands over for n pageviews of one session."""
    rows = [session(last=T0 + k * MINUTE, pageviews=k, exit_page=f"/{k}") for k in range(1, n + 1)]
    return [(rows[0], 1, None), *((rows[k], k + 1, rows[k - 1]) for k in range(1, n))]


def test_each_stream_has_its_own_journal_position(store: Any) -> None:
    store.use_stream(5)
    store.write([event(pathname="/a")], [], [], journal_seq=1)
    store.write([event(pathname="/b")], [], [], journal_seq=2)
    store.use_stream(6)
    assert store.applied_journal_seq() == 0
    store.write([event(pathname="/c")], [], [], journal_seq=1)  # a batch id of its own
    store.use_stream(0)  # a single process's journal
    assert store.applied_journal_seq() == 0
    store.use_stream(5)
    assert store.applied_journal_seq() == 2
    assert store.count_events() == 3
    store.load(*_import_tables())  # the process's own batch ids do not collide either
    store.use_stream(6)
    store.load(*_import_tables(session_id=10))
    assert store.count_events() == 5


def _import_tables(session_id: int = 9) -> tuple[Any, Any]:
    from footfall.storage.schema import EVENT_SCHEMA, SESSION_SCHEMA, rows_to_table

    return (
        rows_to_table([event(session_id=session_id, visitor=9)], EVENT_SCHEMA),
        rows_to_table([session(session_id=session_id, visitor=9)], SESSION_SCHEMA),
    )


def test_versioned_rows_from_several_writers_sum_to_the_final_state(store: Any) -> None:
    store._command("SYSTEM STOP MERGES sessions")
    changes = _changes(5)
    # Two workers each saw some of the visitor's events, and write in either order.
    first, second = SessionVersions(), SessionVersions()
    first.add([changes[0], changes[1], changes[4]])
    second.add([changes[2], changes[3]])
    store.use_stream(2)
    store.write_session_versions(second.rows(), journal_seq=1)
    store.use_stream(1)
    store.write_session_versions(first.rows(), journal_seq=1)
    assert store.applied_session_seq() == 1
    assert _one(store, "SELECT sum(sign) FROM sessions") == 1
    assert _one(store, "SELECT sum(sign * pageviews) FROM sessions") == 5
    # first: +v2, -v4, +v5 (v1 came and went within its batch); second: -v2, +v4.
    assert _one(store, "SELECT count() FROM sessions") == 5
    assert store.scan("sessions", T0, T0 + 60 * MINUTE).column("exit_page").to_pylist() == ["/5"]
