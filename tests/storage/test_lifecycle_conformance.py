"""What every backend must do for the data lifecycle: snapshots while writing, deletion
before a day, reading a site's events back in order.

Each test runs once per backend in `conftest.BACKENDS`, through the protocol only.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pyarrow as pa
import pytest

from footfall.storage.base import EventStore
from footfall.storage.schema import EVENT_COLUMNS, EVENT_SCHEMA
from tests.storage.conftest import RESTORABLE, Backend
from tests.storage.rows import T0, event, session

MINUTE = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)


def _count(store: EventStore, sql: str, *params: object) -> int:
    return int(store.query(sql, list(params), timeout=10, tag="test")[0][0])


@pytest.mark.parametrize("backend", RESTORABLE, indirect=True)
def test_a_snapshot_restores_the_same_rows(
    store: EventStore, backend: Backend, tmp_path: Path
) -> None:
    store.write(
        [
            event(session_id=1, pathname="/a", props={"plan": "pro"}),
            event(session_id=1, pathname="/b", at=T0 + MINUTE),
            event(site_id=2, session_id=2, visitor=2, visitor_id=7),
        ],
        [
            session(session_id=1, last=T0 + MINUTE, pageviews=2, exit_page="/b"),
            session(site_id=2, session_id=2, visitor=2, visitor_id=7),
        ],
        [],
        journal_seq=42,
    )
    snapshot_dir = tmp_path / "snapshot"
    snapshot_dir.mkdir()
    snapshot = store.snapshot_to(snapshot_dir)
    assert (snapshot.backend, snapshot.journal_seq) == (store.backend, 42)
    assert (snapshot.events, snapshot.sessions) == (3, 2)
    assert snapshot.events_per_site == {1: 2, 2: 1}
    assert all((snapshot_dir / name).is_file() for name in snapshot.files)

    assert backend.restore is not None
    backend.restore(snapshot_dir, tmp_path / "restored")
    restored = backend.open(tmp_path / "restored")
    try:
        assert not restored.was_closed_cleanly  # its newest sessions get rebuilt on start
        assert restored.applied_journal_seq() == 42
        for table in ("events", "sessions"):
            sql = f"SELECT * FROM {table} ORDER BY site_id, session_id, timestamp"
            assert restored.query(sql, [], timeout=10, tag="t") == store.query(
                sql, [], timeout=10, tag="t"
            )
    finally:
        restored.close()


@pytest.mark.parametrize("backend", RESTORABLE, indirect=True)
def test_a_snapshot_is_one_moment_while_writes_go_on(
    store: EventStore, backend: Backend, tmp_path: Path
) -> None:
    stop = threading.Event()

    def write() -> None:
        seq = 0
        while not stop.is_set():
            seq += 1
            rows = [event(session_id=seq, at=T0 + seq * MINUTE) for _ in range(10)]
            store.write(rows, [], [], journal_seq=seq)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while store.count_events() < 200:
            pass
        snapshot_dir = tmp_path / "snapshot"
        snapshot_dir.mkdir()
        snapshot = store.snapshot_to(snapshot_dir)
    finally:
        stop.set()
        writer.join()
    # Ten events per journal entry: the copy holds exactly the entries up to its position.
    assert snapshot.events == 10 * snapshot.journal_seq
    assert backend.restore is not None
    backend.restore(snapshot_dir, tmp_path / "restored")
    restored = backend.open(tmp_path / "restored")
    try:
        assert restored.count_events() == snapshot.events
    finally:
        restored.close()


def test_delete_before_removes_exactly_the_older_rows(store: EventStore) -> None:
    cutoff = T0 + 2 * DAY
    store.write(
        [
            event(session_id=1, at=T0),  # expired
            event(session_id=2, at=cutoff - MINUTE),  # expired; its session continues
            event(session_id=2, at=cutoff + MINUTE),
            event(session_id=3, at=cutoff),  # kept: at the cutoff itself
            event(site_id=2, session_id=4, visitor=2, at=T0),  # another site
        ],
        [
            session(session_id=1, start=T0, last=T0),
            session(session_id=2, start=cutoff - MINUTE, last=cutoff + MINUTE, pageviews=2),
            session(session_id=3, start=cutoff, last=cutoff),
            session(site_id=2, session_id=4, visitor=2, start=T0, last=T0),
        ],
        [],
    )
    before = store.data_version()
    done = store.delete_before(1, cutoff)
    assert (done.events, done.sessions) == (2, 1)
    assert done.bytes_freed is None or done.bytes_freed >= 0
    assert store.data_version() != before
    assert _count(store, "SELECT count(*) FROM events WHERE site_id = 1") == 2
    assert _count(store, "SELECT min(timestamp) >= $1 FROM events WHERE site_id = 1", cutoff)
    sessions = store.query(
        "SELECT session_id FROM sessions WHERE site_id = 1 ORDER BY 1", [], timeout=10, tag="t"
    )
    assert sessions == [(2,), (3,)]
    assert store.count_events(site_id=2) == 1

    # Nothing more is due: nothing changes, not even the data version.
    again = store.data_version()
    assert store.delete_before(1, cutoff) == type(done)(events=0, sessions=0, bytes_freed=0)
    assert store.data_version() == again


def test_delete_site_reports_what_it_removed(store: EventStore) -> None:
    store.write([event(), event(at=T0 + MINUTE)], [session()], [])
    done = store.delete_site(1)
    assert (done.events, done.sessions) == (2, 1)
    assert store.count_events() == 0


def test_read_events_streams_a_range_oldest_first(store: EventStore) -> None:
    rows = [event(session_id=i, at=T0 + (50 - i) * MINUTE, pathname=f"/{i}") for i in range(50)]
    rows.append(event(site_id=2, at=T0))
    store.write(rows, [], [])
    batches = list(store.read_events(1, T0 + 10 * MINUTE, T0 + 40 * MINUTE, batch_rows=7))
    assert all(batch.schema == EVENT_SCHEMA for batch in batches)
    assert max(batch.num_rows for batch in batches) <= 7
    table = pa.Table.from_batches(batches, EVENT_SCHEMA)
    stamps = table["timestamp"].to_pylist()
    assert stamps == sorted(stamps)
    assert len(stamps) == 30
    assert stamps[0] == T0 + 10 * MINUTE and stamps[-1] == T0 + 39 * MINUTE
    assert table.column_names == list(EVENT_COLUMNS)
    assert list(store.read_events(1, T0 + DAY, T0 + 2 * DAY)) == []
