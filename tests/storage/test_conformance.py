"""The event-store conformance suite: what every backend behind `EventStore` must do.

Each test runs once per backend in `conftest.BACKENDS`, through the protocol only, with SQL
written by the backend's own dialect where a test needs a dialect-specific expression.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from footfall.errors import QueryRejectedError, QueryTimeoutError
from footfall.stats.sql import dialect_for
from footfall.storage.base import EventStore
from footfall.storage.schema import EVENT_SCHEMA, SESSION_SCHEMA, rows_to_table
from tests.storage.conftest import Backend
from tests.storage.rows import T0, event, session

MINUTE = dt.timedelta(minutes=1)


def _count(store: EventStore, sql: str, *params: object) -> int:
    return int(store.query(sql, list(params), timeout=10, tag="test")[0][0])


def _sessions(store: EventStore, where: str = "true") -> str:
    """Counts sessions meeting `where`, each once whatever versions of it the backend keeps."""
    d = dialect_for(store.backend)
    return f"SELECT {d.session_count()} FROM sessions WHERE {where}"


def test_a_new_store_is_empty(store: EventStore) -> None:
    assert store.count_events() == 0
    assert store.max_session_id() == 0
    assert store.max_visitor() == 0
    assert store.applied_journal_seq() == 0
    assert store.newest_event_time() is None
    assert store.open_sessions(T0 - MINUTE) == []


def test_written_events_and_sessions_read_back(store: EventStore) -> None:
    store.write(
        [
            event(session_id=7, visitor=3, pathname="/a"),
            event(session_id=7, visitor=3, pathname="/b", at=T0 + MINUTE),
            event(site_id=2, session_id=8, visitor=4, visitor_id=9),
        ],
        [
            session(session_id=7, visitor=3, last=T0 + MINUTE, pageviews=2, exit_page="/b"),
            session(site_id=2, session_id=8, visitor=4, visitor_id=9),
        ],
        [],
        journal_seq=5,
    )
    assert store.count_events() == 3
    assert store.count_events(site_id=1) == 2
    assert store.applied_journal_seq() == 5
    assert store.max_session_id() == 8
    assert store.max_visitor() == 4
    assert store.newest_event_time() == T0 + MINUTE
    assert _count(store, "SELECT count(*) FROM events WHERE pathname = $1", "/b") == 1
    d = dialect_for(store.backend)
    sql = f"SELECT {d.session_sum('pageviews')} FROM sessions WHERE site_id = $1"
    assert _count(store, sql, 1) == 2
    assert sorted(store.recent_visitors(T0 - MINUTE)) == [(1, 1, 3), (2, 9, 4)]
    assert store.recent_visitors(T0 - MINUTE, site_id=2) == [(2, 9, 4)]


def test_changed_sessions_are_updated_in_place(store: EventStore) -> None:
    store.write([event()], [session()], [])
    later = T0 + 10 * MINUTE
    store.write(
        [event(at=later, pathname="/next")],
        [],
        [session(last=later, pageviews=2, exit_page="/next")],
    )
    (row,) = store.open_sessions(T0)
    assert _count(store, _sessions(store)) == 1
    assert _count(store, _sessions(store, "exit_page = $1"), "/next") == 1
    assert _count(store, _sessions(store, "exit_page = $1"), "/") == 0
    assert row[5] == later  # timestamp: the session's last event
    assert row[7] == 2  # pageviews
    assert row[11] == "/next"  # exit page
    assert store.open_sessions(later + MINUTE) == []


def test_bulk_load_stores_arrow_tables_and_bumps_the_data_version(store: EventStore) -> None:
    before = store.data_version()
    events = rows_to_table(
        [event(session_id=s, visitor=s, at=T0 + s * MINUTE) for s in range(1, 101)],
        EVENT_SCHEMA,
    )
    sessions = rows_to_table(
        [session(session_id=s, visitor=s) for s in range(1, 101)], SESSION_SCHEMA
    )
    store.load(events, sessions)
    assert store.count_events() == 100
    assert _count(store, _sessions(store)) == 100
    assert store.data_version() != before


def test_known_visitors_are_those_the_site_has(store: EventStore) -> None:
    store.write(
        [event(visitor_id=11, visitor=1), event(visitor_id=12, visitor=2, session_id=2)],
        [
            session(visitor_id=11, visitor=1),
            session(visitor_id=12, visitor=2, session_id=2),
            session(site_id=2, visitor_id=13, visitor=3, session_id=3),
        ],
        [],
    )
    found = store.known_visitors(1, pa.array([11, 13, 99], pa.uint64()))
    assert sorted(zip(*found.to_pydict().values(), strict=True)) == [(11, 1)]


def test_delete_site_removes_only_that_site(store: EventStore) -> None:
    store.write(
        [event(), event(site_id=2, session_id=2, visitor=2)],
        [session(), session(site_id=2, session_id=2, visitor=2)],
        [],
    )
    before = store.data_version()
    store.delete_site(1)
    assert store.count_events(site_id=1) == 0
    assert store.count_events(site_id=2) == 1
    assert _count(store, _sessions(store, "site_id = $1"), 1) == 0
    assert store.data_version() != before


def test_data_version_survives_a_restart_and_changes_with_it(
    backend: Backend, store_dir: Path
) -> None:
    first = backend.open(store_dir)
    first.write([event()], [session()], [])
    first.bump_data_version()
    version = first.data_version()
    first.close()
    again = backend.open(store_dir)
    try:
        # A restart may have replayed or repaired data: cached statistics must not survive it.
        assert again.data_version() not in (version, 0)
        assert again.was_closed_cleanly
        assert again.count_events() == 1
    finally:
        again.close()


def test_repair_rebuilds_sessions_from_their_events(store: EventStore) -> None:
    # Events were committed, their session never was (a crash between the two).
    store.write(
        [
            event(session_id=4, pathname="/in"),
            event(session_id=4, pathname="/out", at=T0 + 5 * MINUTE),
        ],
        [],
        [],
    )
    assert store.repair_sessions(T0 - MINUTE) == 1
    (row,) = store.open_sessions(T0)
    assert (row[1], row[7], row[10], row[11]) == (4, 2, "/in", "/out")
    assert row[6] == 300  # duration in seconds


def test_a_query_past_its_time_limit_is_stopped(store: EventStore, backend: Backend) -> None:
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError, match=r"longer than 0\.2 s"):
        store.query(backend.slow_statement, [], timeout=0.2, tag="slow")
    assert time.monotonic() - started < 10
    # The store answers the next query as usual (a pooled connection was not left interrupted).
    assert _count(store, "SELECT count(*) FROM events") == 0


def test_queries_run_concurrently_with_writes(store: EventStore) -> None:
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for i in range(20):
                store.write([event(session_id=i + 1, at=T0 + i * MINUTE)], [], [])
        except BaseException as exc:  # reported below
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    while writer.is_alive():
        assert _count(store, "SELECT count(*) FROM events") <= 20
    writer.join()
    assert not errors
    assert store.count_events() == 20


def test_a_value_the_backend_refuses_is_reported(store: EventStore) -> None:
    regex = dialect_for(store.backend).regex("''", "$1")
    with pytest.raises(QueryRejectedError):
        store.query(f"SELECT {regex}", ["(unclosed"], timeout=10, tag="pattern check")


def test_files_name_what_is_on_disk(store: EventStore) -> None:
    store.write([event()], [], [])
    for path in store.files().values():
        assert path.exists()
