"""The ingest journal: durable appends, torn tails, replay after a crash."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from footfall.errors import StoreError
from footfall.ingest.pipeline import ClientContext
from footfall.ingest.request import parse_event
from footfall.services import Services
from footfall.settings import Settings
from footfall.storage.duckdb.store import SCHEMA_VERSION, DuckDBEventStore
from footfall.storage.journal import Journal, pending_entries
from tests.conftest import CHROME_UA

ROW = (1, dt.datetime(2026, 11, 2, 10, 0, 5), "pageview", "example.com", "/", 7, 1, [], [])


def test_entries_round_trip_and_a_torn_tail_is_ignored(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    assert journal.append([ROW]) == 1
    assert journal.append([ROW, ROW]) == 2
    journal.close()
    segment = journal.segments()[-1]
    with segment.open("ab") as handle:
        handle.write(b'{"s": 3, "e": [[1, "2026-11')  # died mid-write: never acknowledged
    entries = list(pending_entries(tmp_path, after_seq=1))
    assert [(seq, len(rows)) for seq, rows in entries] == [(2, 2)]
    assert entries[0][1][0] == ROW


def test_applied_segments_are_dropped_and_numbering_continues(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append([ROW])
    journal.rotate()
    journal.append([ROW])
    assert len(journal.segments()) == 2
    journal.drop_applied(1)
    assert len(journal.segments()) == 1  # the open segment stays
    journal.close()
    journal.drop_applied(2, closed=True)
    assert journal.segments() == []
    again = Journal(tmp_path)
    again.set_sequence(2)
    assert again.append([ROW]) == 3
    again.close()
    assert list(pending_entries(tmp_path / "missing", 0)) == []


def test_unapplied_entries_are_replayed_and_sessions_rebuilt(settings: Settings) -> None:
    services = Services.open(settings)
    body = {"n": "pageview", "u": "https://example.com/replayed", "d": "example.com"}
    request = parse_event(body)
    assert not isinstance(request, dict)
    outcome = services.pipeline.process(request, ClientContext(CHROME_UA, "81.2.69.142"))
    services.journal.append(outcome.events)  # acknowledged, then the process dies
    services.journal.close()
    services.store._con.close()  # no checkpoint, no clean-shutdown mark

    reopened = Services.open(settings)
    try:
        with reopened.store.cursor() as cur:
            events = cur.execute("SELECT pathname FROM events").fetchall()
            sessions = cur.execute("SELECT entry_page, pageviews FROM sessions").fetchall()
        assert events == [("/replayed",)]
        assert sessions == [("/replayed", 1)]
        assert reopened.store.applied_journal_seq() == 1
    finally:
        reopened.close()
    assert list((settings.data_dir / "journal").glob("*.log")) == []


def test_an_event_store_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    DuckDBEventStore(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE store_info SET value = '999' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StoreError, match="schema version 999"):
        DuckDBEventStore(path)
    # The refused file is not left locked: it opens again once fixed.
    con = duckdb.connect(str(path))
    con.execute("UPDATE store_info SET value = ? WHERE key = 'schema_version'", [SCHEMA_VERSION])
    con.close()
    DuckDBEventStore(path).close()


def test_a_failed_append_does_not_hide_later_entries(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append([ROW])
    real = journal._file

    class Full:
        def write(self, data: bytes) -> int:
            real.write(data[: len(data) // 2])  # a torn line, as when the disk fills up
            raise OSError(28, "No space left on device")

        def fileno(self) -> int:
            return int(real.fileno())

        def close(self) -> None:
            real.close()

    journal._file = Full()
    with pytest.raises(OSError):
        journal.append([ROW])
    seq = journal.append([ROW, ROW])  # acknowledged: must survive a replay
    journal.close()
    assert [(s, len(rows)) for s, rows in pending_entries(tmp_path, 0)] == [(1, 1), (seq, 2)]
