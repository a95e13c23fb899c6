"""The ClickHouse store's lifecycle steps: deletion, reading a range back, snapshots.

Kept beside the store (`store.py`) as a base class of it: each step needs the store's
client, write lock and session states, and nothing else of it.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from footfall.errors import StoreError
from footfall.storage.base import Deletion, Snapshot
from footfall.storage.clickhouse import migrations, snapshots, streams
from footfall.storage.clickhouse.params import bind
from footfall.storage.clickhouse.sessions import SessionStates
from footfall.storage.schema import EVENT_COLUMNS, EVENT_SCHEMA

_EVENT_LIST = ", ".join(EVENT_COLUMNS)


class StoreLifecycle:
    """Deletion, ranges read back and snapshots of a `ClickHouseEventStore`."""

    # The schema versions this footfall reads (no older one is upgraded in place).
    readable_versions = frozenset({str(migrations.LATEST)})

    _client: Client
    _write_lock: threading.Lock
    _states: SessionStates
    read_only: bool
    stream: int

    def _rows(self, sql: str, params: Sequence[Any] = (), **settings: Any) -> list[Any]:
        raise NotImplementedError

    def _command(self, sql: str, params: Sequence[Any] = (), **settings: Any) -> None:
        raise NotImplementedError

    def _error(self, what: str, exc: BaseException) -> StoreError:
        raise NotImplementedError

    def bump_data_version(self) -> None:
        """Marks every cached statistic of this store as stale."""
        raise NotImplementedError

    def _delete(self, where: str, params: list[Any], *, forget: int | None) -> Deletion:
        """Deletes the events and sessions `where` selects, waiting until they are gone.

        Sessions are counted by sign: a cancelled version and its cancel row go together,
        so the rows of a session's older versions cancel out and only its last one counts.
        """
        with self._write_lock:
            events = int(self._rows(f"SELECT count() FROM events WHERE {where}", params)[0][0])
            # A session's `timestamp` is its last event's time.
            found = self._rows(f"SELECT sum(sign) FROM sessions WHERE {where}", params)
            sessions = int(found[0][0] or 0) if found else 0
            if events == 0 and sessions == 0 and forget is None:
                return Deletion(0, 0, 0)  # nothing done, nothing reclaimed
            self._command(f"ALTER TABLE events DELETE WHERE {where}", params, mutations_sync=2)
            self._command(f"ALTER TABLE sessions DELETE WHERE {where}", params, mutations_sync=2)
            if forget is not None:
                self._states.forget_site(forget)
        self.bump_data_version()
        # A server frees the space when it merges or drops the parts, in the background.
        return Deletion(events, sessions, None)

    def delete_site(self, site_id: int) -> Deletion:
        """Removes every event and session of a site (waits until the rows are gone)."""
        return self._delete("site_id = $1", [site_id], forget=site_id)

    def delete_before(self, site_id: int, before: dt.datetime) -> Deletion:
        """Removes a site's events before `before` and its sessions that ended before it.

        A session's rows of every version carry that version's last event time (its
        ``timestamp``), and a cancel row copies the version it cancels, so this removes a
        session whose last version ended before `before` whole, and of one that goes on only
        pairs that cancel out.
        """
        return self._delete("site_id = $1 AND timestamp < $2", [site_id, before], forget=None)

    def read_events(
        self, site_id: int, start: dt.datetime, end: dt.datetime, *, batch_rows: int = 65_536
    ) -> Iterator[pa.RecordBatch]:
        """A site's events in ``[start, end)``, oldest first, as Arrow batches streamed."""
        text, values = bind(
            f"SELECT {_EVENT_LIST} FROM events WHERE site_id = $1 AND timestamp >= $2 "
            "AND timestamp < $3 ORDER BY timestamp",
            [site_id, start, end],
        )
        try:
            with self._client.query_arrow_stream(
                text, parameters=values, settings={"max_block_size": batch_rows}
            ) as stream:
                for batch in stream:
                    yield _as_event_batch(batch)
        except ClickHouseError as exc:
            raise self._error("read failed", exc) from None

    def snapshot_to(self, directory: Path) -> Snapshot:
        """Writes the three tables and the store's facts into `directory` (`snapshots`)."""
        return snapshots.write_snapshot(
            self._client, directory, str(migrations.LATEST), streams.journal_range(self.stream)
        )

    def restore_from(self, directory: Path, *, replace: bool = False) -> None:
        """Loads a snapshot into this (empty, unless `replace`) store, then stops writing.

        The store's facts are left as the snapshot had them, marked not cleanly closed, so
        closing this store writes nothing more and the next open repairs recent sessions.

        Raises:
            StoreError: The store holds events (without `replace`), or loading failed.
        """
        snapshots.restore_snapshot(self._client, directory, replace=replace)
        self.read_only = True


def _as_event_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A batch as `EVENT_SCHEMA` has it: naive UTC times, plain strings."""
    columns = []
    for field in EVENT_SCHEMA:
        column = batch.column(field.name)
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        if pa.types.is_timestamp(field.type):
            column = column.cast(pa.int64()).cast(field.type)
        columns.append(column.cast(field.type))
    return pa.RecordBatch.from_arrays(columns, schema=EVENT_SCHEMA)
