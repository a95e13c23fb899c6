"""The event-store seam: what the writer, bulk import, stats engine and web layer depend on.

Every backend (DuckDB today) implements `EventStore`. Nothing outside a backend's package
knows its driver: the stats engine writes SQL through its `Dialect` (`footfall.stats.sql`)
with ``$1 … $n`` placeholders and hands it to `EventStore.query`, which owns the driver, the
time limit and interruption. `tests/storage/` runs one conformance suite against every backend.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from footfall.monitoring.pools import PoolStats

EventRow = tuple[Any, ...]
SessionRow = tuple[Any, ...]
ResultRow = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What `EventStore.snapshot_to` wrote: the store as it was at one moment.

    Attributes:
        backend: The backend that wrote it (only the same backend restores it).
        schema_version: The store's schema version at that moment.
        journal_seq: The last ingest-journal entry whose events it holds.
        events: How many events it holds.
        sessions: How many sessions it holds.
        events_per_site: Events by site id.
        files: The files written, relative to the snapshot directory.
    """

    backend: str
    schema_version: str
    journal_seq: int
    events: int
    sessions: int
    events_per_site: dict[int, int] = field(default_factory=dict)
    files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Deletion:
    """What a deletion removed, and the space it gave back.

    Attributes:
        events: Events removed.
        sessions: Sessions removed.
        bytes_freed: Bytes of storage the store reclaimed (or can reuse) afterwards; None
            when the backend cannot tell (a server reclaims in the background).
    """

    events: int
    sessions: int
    bytes_freed: int | None = None


class EventWriter(Protocol):
    """Durably appends events and upserts the sessions they belong to."""

    def write(
        self,
        events: Sequence[EventRow],
        new_sessions: Sequence[SessionRow],
        changed_sessions: Sequence[SessionRow],
        *,
        journal_seq: int | None = None,
    ) -> None:
        """Commits one batch atomically, with the journal position it completes.

        Args:
            events: Rows in `footfall.storage.schema.EVENT_COLUMNS` order.
            new_sessions: Sessions to insert (`SESSION_COLUMNS` order).
            changed_sessions: Sessions to update in place (`SESSION_COLUMNS` order).
            journal_seq: The ingest journal entry these events complete, recorded atomically.

        Raises:
            StoreError: Nothing was written.
        """
        ...

    def applied_journal_seq(self) -> int:
        """The highest ingest-journal entry whose events are stored (0 when none)."""
        ...

    def checkpoint(self) -> None:
        """Makes every committed write durable without the store's own write-ahead log.

        The ingest journal keeps its entries until this has run after them, so that a store
        which loses its log can be brought up to date by the journal replay. A backend with no
        such log of its own does nothing.

        Raises:
            StoreError: The checkpoint failed; the writes stay in the log.
        """
        ...

    def fill_visitor_numbers(self) -> None:
        """Numbers rows stored without a visitor number (replayed from an older journal)."""
        ...

    def load(self, events: pa.Table | pa.RecordBatchReader, sessions: pa.Table) -> None:
        """Stores a bulk import's rows in one transaction (`EVENT_SCHEMA`, `SESSION_SCHEMA`).

        Events may come as a stream of batches, built as the backend reads them, so that an
        import never holds all of its event rows at once.

        Raises:
            StoreError: Nothing was stored.
        """
        ...


class SessionVersionWriter(Protocol):
    """A store whose sessions several processes change, each row with its version.

    Implemented by the ClickHouse store (`VersionedCollapsingMergeTree`); used when sessions
    are shared (`footfall.storage.versions`).
    """

    def write_session_versions(
        self, rows: Sequence[tuple[int, int, SessionRow]], *, journal_seq: int
    ) -> None:
        """Inserts (sign, version, row) session rows as given, under a journal entry's id.

        Raises:
            StoreError: Nothing was written (retry with the same rows and entry).
        """
        ...

    def applied_session_seq(self) -> int:
        """The highest journal entry whose session rows are stored (0 when none)."""
        ...


class EventReader(Protocol):
    """What the ingest side reads back: live sessions and visitor numbers after a restart."""

    was_closed_cleanly: bool
    # The data version stored when this process opened the store, before opening it for
    # writing bumped it: with `was_closed_cleanly`, it tells that nothing changed the data
    # since the process that closed it (a query cache it left is still exact).
    opened_data_version: int

    def open_sessions(self, since: dt.datetime) -> list[SessionRow]:
        """Sessions whose last event is at or after `since` (to resume after a restart)."""
        ...

    def max_session_id(self) -> int:
        """The largest session id stored (0 when empty)."""
        ...

    def max_visitor(self) -> int:
        """The largest visitor number stored (0 when empty)."""
        ...

    def recent_visitors(
        self, since: dt.datetime, *, site_id: int | None = None
    ) -> list[tuple[int, int, int]]:
        """(site_id, visitor_id, visitor) of sessions active since `since` (the live mapping)."""
        ...

    def known_visitors(self, site_id: int, visitor_ids: pa.Array) -> pa.Table:
        """The stored visitor numbers of those of `visitor_ids` the site already has.

        Returns:
            A table with columns ``visitor_id`` (uint64) and ``visitor`` (uint32), one row per
            known visitor id.
        """
        ...

    def newest_event_time(self) -> dt.datetime | None:
        """The timestamp of the newest stored event (naive UTC), or None when empty."""
        ...

    def repair_sessions(self, since: dt.datetime) -> int:
        """Rebuilds from their events the sessions that had events at or after `since`."""
        ...

    def count_events(self, site_id: int | None = None) -> int:
        """How many events are stored, for one site or all."""
        ...

    def scan(self, table: str, start: dt.datetime, end: dt.datetime) -> pa.Table:
        """Stored rows of one table in a time range, for copying them elsewhere.

        Args:
            table: ``events`` (by `timestamp`) or ``sessions`` (by `start`, each session's
                current state once).
            start: Inclusive lower bound (naive UTC).
            end: Exclusive upper bound (naive UTC).

        Returns:
            The rows in `EVENT_SCHEMA` or `SESSION_SCHEMA`.
        """
        ...

    def daily_counts(self, start: dt.datetime, end: dt.datetime) -> dict[tuple[int, str], int]:
        """Events per (site_id, UTC day as ``YYYY-MM-DD``) in a time range (naive UTC)."""
        ...


class EventStore(EventWriter, EventReader, Protocol):
    """One event-store backend: writes, reads, queries under a time limit, administration.

    Attributes:
        backend: The backend's name (``duckdb``); the composition root picks the matching
            SQL dialect by it.
        pool_stats: Counters of the backend's pooled read connections, when it pools them.
    """

    backend: str
    pool_stats: PoolStats | None

    def query(
        self, sql: str, params: Sequence[Any], *, timeout: float, tag: str
    ) -> list[ResultRow]:
        """Runs one read statement with ``$1 … $n`` placeholders under a time limit.

        Args:
            sql: The statement, written by the matching `Dialect`.
            params: The placeholders' values, in order.
            timeout: Seconds after which the statement is interrupted.
            tag: What asked for it (a query shape), for the backend's own query log.

        Raises:
            QueryTimeoutError: It ran past `timeout` and was stopped.
            QueryRejectedError: The backend refused a value in it (e.g. a regular expression
                it cannot compile); the message says why.
            StoreError: Any other failure.
        """
        ...

    def data_version(self) -> int:
        """A number that changes whenever stored data may change other than by appending now."""
        ...

    def bump_data_version(self) -> None:
        """Marks every cached statistic of this store as stale."""
        ...

    def delete_site(self, site_id: int) -> Deletion:
        """Removes every event and session of a site, durably (and bumps the data version)."""
        ...

    def delete_before(self, site_id: int, before: dt.datetime) -> Deletion:
        """Removes a site's events before `before` (naive UTC), and its sessions that ended so.

        A session is removed when its last event is before `before`; one that continues past
        it stays, so every statistic of a range that starts at `before` or later keeps its
        answer. The deletion is durable when this returns, the data version is bumped when
        anything was removed, and whole partitions or row groups are dropped where the
        backend stores them so. Nothing is done (and nothing reclaimed) when nothing is due.
        """
        ...

    def read_events(
        self, site_id: int, start: dt.datetime, end: dt.datetime, *, batch_rows: int = 65_536
    ) -> Iterator[pa.RecordBatch]:
        """A site's events in ``[start, end)`` (naive UTC), oldest first, batch by batch.

        Every column of `footfall.storage.schema.EVENT_SCHEMA`, engagement events included.
        Batches are produced as they are read, so a caller that handles one at a time holds
        about `batch_rows` rows, however many there are.
        """
        ...

    def snapshot_to(self, directory: Path) -> Snapshot:
        """Writes a consistent copy of the whole store into `directory`, while it serves.

        Writes made meanwhile are either wholly in the copy or not at all (the journal
        position recorded with it says which). The files are the backend's own; only the
        same backend's `restore` reads them. A server-side backend (ClickHouse) writes there
        only a description of where its own ``BACKUP`` put the data.

        Raises:
            StoreError: The copy failed (a full disk included); partial files may remain in
                `directory`, which the caller removes.
        """
        ...

    def files(self) -> dict[str, Path]:
        """The store's files on this machine by name (for size figures); empty for a server."""
        ...

    def close(self) -> None:
        """Flushes and releases the store; after a clean close `was_closed_cleanly` holds."""
        ...


class SharedEventStore(EventStore, SessionVersionWriter, Protocol):
    """An event store several processes write to, each from its own journal stream.

    Attributes:
        stream: The journal stream this process writes as (0: a single process).
    """

    stream: int

    def use_stream(self, stream: int) -> None:
        """Journals from now on as `stream`: its position and batch ids, apart from others'."""
        ...
