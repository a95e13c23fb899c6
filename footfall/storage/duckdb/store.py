"""The DuckDB event store: one file, an `events` and a `sessions` table, one writer connection."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from footfall.errors import QueryRejectedError, QueryTimeoutError, StoreError
from footfall.monitoring.pools import PoolStats
from footfall.storage.base import Deletion, EventRow, SessionRow, Snapshot
from footfall.storage.duckdb import deletion, reading, snapshots, upgrade, wal
from footfall.storage.duckdb.cursors import CursorPool
from footfall.storage.duckdb.ddl import ddl as _ddl
from footfall.storage.duckdb.ddl import usable_cpus as _usable_cpus
from footfall.storage.schema import (
    EVENT_COLUMNS,
    EVENT_SCHEMA,
    EVENT_TYPES,
    MUTABLE_SESSION_COLUMNS,
    SESSION_COLUMNS,
    SESSION_SCHEMA,
    SESSION_TYPES,
    UPDATE_INDEXES,
    UPDATE_SCHEMA,
    VISIT_COLUMNS,
    rows_to_table,
)

log = logging.getLogger(__name__)

SCHEMA_VERSION = "2"
# Version 1 lacked the `visitor` column; a store of that version is upgraded in place on open.
_UPGRADABLE_VERSION = "1"
# How long closing waits for interrupted queries to give their cursors back.
_CLOSE_WAIT_SECONDS = 30.0

# Inserts name their columns: a store upgraded from version 1 has `visitor` last on disk.
_EVENT_LIST = ", ".join(EVENT_COLUMNS)
_SESSION_LIST = ", ".join(SESSION_COLUMNS)


class DuckDBEventStore:
    """Events and sessions in one DuckDB file.

    One connection writes (the group-commit thread); readers take cursors. DuckDB lets only
    one process open a file for writing, so a second process gets `StoreBusyError`.
    """

    backend = "duckdb"
    # The schema versions a store may have on disk: older ones are upgraded when opened.
    readable_versions = frozenset({_UPGRADABLE_VERSION, SCHEMA_VERSION})

    def __init__(self, path: Path, *, read_only: bool = False, memory_limit_mb: int = 0) -> None:
        """Opens (and creates, unless `read_only`) the store file at `path`.

        Args:
            path: The DuckDB file.
            read_only: Open for reading only (no schema change, no write); DuckDB still
                refuses it while another process has the file open for writing.
            memory_limit_mb: DuckDB's memory limit (block cache and query work; beyond it,
                work spills to disk); 0 keeps DuckDB's default.

        A write-ahead log that cannot be replayed is set aside when the store is opened for
        writing (`footfall.storage.duckdb.wal`); the ingest journal restores what it held.

        Raises:
            StoreBusyError: Another process holds the file.
            StoreError: It cannot be opened or has an unknown schema version.
        """
        self.path = path
        self.read_only = read_only
        self._lock = threading.Lock()
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        # DuckDB sizes its thread pool from the machine's cores; a process confined to
        # fewer (CPU affinity, container limits) would only oversubscribe them.
        self._con, lost_log = wal.connect(path, read_only=read_only, threads=_usable_cpus())
        try:
            # No progress bar: long statements (a schema upgrade) would draw it over logs.
            self._con.execute("SET enable_progress_bar = false")
            if memory_limit_mb:
                self._con.execute(f"SET memory_limit = '{int(memory_limit_mb)}MiB'")
        except duckdb.Error as exc:
            self._con.close()
            raise StoreError(f"cannot open the event store {path}: {exc}") from exc
        try:
            if read_only:
                self._check_version()
            else:
                self._ensure_schema()
        except StoreError:
            self._con.close()
            raise
        # Readers share a few idle cursors instead of opening one per query.
        self.cursor_pool = CursorPool(self._con)
        self.pool_stats: PoolStats | None = self.cursor_pool.stats
        # Until `close` says otherwise, a crash may have left sessions behind their events;
        # session rows written since the last checkpoint went with a lost log.
        self.was_closed_cleanly = self._get_info("clean_shutdown") == "true" and not lost_log
        # Cached statistics are keyed by this; a restart may have replayed or repaired data.
        self._data_version = int(self._get_info("data_version") or 0)
        self.opened_data_version = self._data_version
        if not read_only:
            self.bump_data_version()
            self._set_info("clean_shutdown", "false")

    def _check_version(self) -> None:
        try:
            found = self._get_info("schema_version")
        except duckdb.Error as exc:
            raise StoreError(f"{self.path} is not a footfall event store: {exc}") from exc
        if found != SCHEMA_VERSION:
            raise StoreError(
                f"the event store {self.path} has schema version {found}, this footfall reads "
                f"{SCHEMA_VERSION}"
            )

    def _get_info(self, key: str) -> str | None:
        row = self._con.execute("SELECT value FROM store_info WHERE key = ?", [key]).fetchone()
        return str(row[0]) if row else None

    def _set_info(self, key: str, value: str) -> None:
        self._con.execute(
            "INSERT INTO store_info VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = ?",
            [key, value, value],
        )

    def _ensure_schema(self) -> None:
        con = self._con
        con.execute(_ddl("events", EVENT_TYPES))
        con.execute(_ddl("sessions", SESSION_TYPES))
        con.execute(
            "CREATE TABLE IF NOT EXISTS store_info (key VARCHAR PRIMARY KEY, value VARCHAR)"
        )
        con.execute(
            "INSERT INTO store_info VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
            [SCHEMA_VERSION],
        )
        found = self._get_info("schema_version")
        if found == _UPGRADABLE_VERSION:
            self._upgrade_from_1()
            found = self._get_info("schema_version")
        if found != SCHEMA_VERSION:
            raise StoreError(
                f"the event store {self.path} has schema version {found}, this footfall expects "
                f"{SCHEMA_VERSION}; use the footfall release that wrote it"
            )

    def _upgrade_from_1(self) -> None:
        """Adds the `visitor` column and numbers every stored visitor, in one transaction.

        A crash leaves the store at version 1, to be upgraded on the next open.
        """
        try:
            upgrade.from_1(self._con, SCHEMA_VERSION)
        except duckdb.Error as exc:
            raise StoreError(
                f"cannot upgrade the event store {self.path} to schema version "
                f"{SCHEMA_VERSION}: {exc}"
            ) from exc

    def fill_visitor_numbers(self) -> None:
        """Numbers rows stored without a visitor number (replayed from an older journal).

        Cheap when there are none: min/max statistics answer the check without a scan.
        """
        with self._lock:
            con = self._con
            row = con.execute(
                "SELECT (SELECT count(*) FROM events WHERE visitor = 0)"
                " + (SELECT count(*) FROM sessions WHERE visitor = 0)"
            ).fetchone()
            if not row or not row[0]:
                return
            con.begin()
            try:
                upgrade.number_visitors(con)
                con.commit()
            except duckdb.Error as exc:
                con.rollback()
                raise StoreError(f"numbering visitors failed: {exc}") from exc

    @property
    def writer_lock(self) -> threading.Lock:
        """Held while the writer's connection is in use (within this package)."""
        return self._lock

    @property
    def writer_connection(self) -> duckdb.DuckDBPyConnection:
        """The connection every write goes through; use it only under `writer_lock`."""
        return self._con

    @contextmanager
    def cursor(self, *, pooled: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for reading on the calling thread.

        Args:
            pooled: Take an idle cursor from `cursor_pool` and give it back afterwards. Pass
                False for work that leaves state on the cursor (TEMP tables, an explicit
                transaction): that cursor is private and closed at the end.
        """
        if pooled:
            with self.cursor_pool.cursor() as cur:
                yield cur
            return
        cur = self._con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def write(
        self,
        events: Sequence[EventRow],
        new_sessions: Sequence[SessionRow],
        changed_sessions: Sequence[SessionRow],
        *,
        journal_seq: int | None = None,
    ) -> None:
        """Commits events and session changes in one transaction (WAL-synced on commit).

        Args:
            events: Event rows in `EVENT_COLUMNS` order.
            new_sessions: Sessions to insert.
            changed_sessions: Sessions to update in place.
            journal_seq: The ingest journal entry these events complete, recorded atomically.
        """
        changed = [tuple(row[i] for i in UPDATE_INDEXES) for row in changed_sessions]
        self.write_tables(
            rows_to_table(events, EVENT_SCHEMA),
            rows_to_table(new_sessions, SESSION_SCHEMA),
            rows_to_table(changed, UPDATE_SCHEMA),
            journal_seq=journal_seq,
        )

    def applied_journal_seq(self) -> int:
        """The highest ingest-journal entry whose events are stored (0 when none)."""
        value = self._get_info("journal_seq")
        return int(value) if value else 0

    def load(self, events: pa.Table | pa.RecordBatchReader, sessions: pa.Table) -> None:
        """Stores a bulk import's rows in one transaction, then bumps the data version.

        Then checkpoints: an import bypasses the journal, so only the database file keeps it
        if the WAL is lost. A failed checkpoint is logged, not raised: the rows are stored,
        and an error would invite importing them twice.
        """
        self.write_tables(events, sessions, None)
        self.bump_data_version()
        try:
            self.checkpoint()
        except StoreError:
            log.exception("checkpoint after an import failed; it is in the WAL until the next")

    def known_visitors(self, site_id: int, visitor_ids: pa.Array) -> pa.Table:
        """The stored visitor numbers of those of `visitor_ids` the site's sessions have."""
        ids = pa.table({"visitor_id": pa.array(visitor_ids, pa.uint64())})
        with self.cursor(pooled=False) as cur:
            cur.register("_ids", ids)
            found: pa.Table = cur.sql(
                "SELECT visitor_id, min(visitor) AS visitor FROM sessions "
                "WHERE site_id = $1 AND visitor_id IN (SELECT visitor_id FROM _ids) "
                "GROUP BY visitor_id",
                params=[site_id],
            ).to_arrow_table()
            cur.unregister("_ids")
        return found.cast(pa.schema([("visitor_id", pa.uint64()), ("visitor", pa.uint32())]))

    def query(
        self, sql: str, params: Sequence[Any], *, timeout: float, tag: str = ""
    ) -> list[tuple[Any, ...]]:
        """Runs one read statement on a pooled cursor, interrupted after `timeout` seconds.

        Raises:
            QueryTimeoutError: It ran past the limit and was interrupted.
            QueryRejectedError: DuckDB refused a value (an invalid regular expression).
            StoreError: Any other DuckDB error.
        """
        with self.cursor() as cur:
            timer = threading.Timer(timeout, cur.interrupt)
            timer.start()
            try:
                return cur.execute(sql, list(params)).fetchall()
            except duckdb.InterruptException as exc:
                if self.cursor_pool.closed:
                    raise StoreError("the event store closed while the query ran") from exc
                raise QueryTimeoutError(
                    f"the query took longer than {timeout:g} s and was stopped"
                ) from exc
            except duckdb.InvalidInputException as exc:
                raise QueryRejectedError(str(exc).split(": ", 1)[-1]) from exc
            except duckdb.Error as exc:
                raise StoreError(f"event store query failed: {exc}") from exc
            finally:
                timer.cancel()
                timer.join()  # a late interrupt must not reach the pooled cursor's next query

    def files(self) -> dict[str, Path]:
        """The database file (its WAL sits beside it as ``<file>.wal``)."""
        return {"events": self.path}

    def write_tables(
        self,
        events: pa.Table | pa.RecordBatchReader,
        new_sessions: pa.Table | None,
        changed: pa.Table | None,
        *,
        journal_seq: int | None = None,
    ) -> None:
        """Like `write`, from Arrow data (a reader is streamed).

        `events` and `new_sessions` hold every stored column in order; `changed` holds only
        `UPDATE_SCHEMA`'s columns.
        """
        with self._lock:
            con = self._con
            con.begin()
            try:
                if isinstance(events, pa.RecordBatchReader) or events.num_rows:
                    con.register("_ev", events)
                    con.execute(f"INSERT INTO events ({_EVENT_LIST}) SELECT * FROM _ev")
                    con.unregister("_ev")
                if new_sessions is not None and new_sessions.num_rows:
                    con.register("_ns", new_sessions)
                    con.execute(f"INSERT INTO sessions ({_SESSION_LIST}) SELECT * FROM _ns")
                    con.unregister("_ns")
                if changed is not None and changed.num_rows:
                    self._update_sessions(con, changed)
                if journal_seq is not None:
                    self._set_info("journal_seq", str(journal_seq))
                con.commit()
            except duckdb.Error as exc:
                con.rollback()
                raise StoreError(f"event store write failed: {exc}") from exc

    @staticmethod
    def _update_sessions(con: duckdb.DuckDBPyConnection, changed: pa.Table) -> None:
        con.register("_cs", changed)
        assignments = ", ".join(f"{c} = _cs.{c}" for c in MUTABLE_SESSION_COLUMNS)
        # Sessions are appended roughly in start order, so the bound on `start` lets DuckDB
        # skip all but the newest row groups through their min/max statistics.
        oldest = con.execute("SELECT min(start) FROM _cs").fetchone()
        con.execute(
            f"UPDATE sessions SET {assignments} FROM _cs "
            "WHERE sessions.session_id = _cs.session_id AND sessions.start >= ?",
            [oldest[0] if oldest else dt.datetime(1970, 1, 1)],
        )
        con.unregister("_cs")

    def open_sessions(self, since: dt.datetime) -> list[SessionRow]:
        """Sessions whose last event is at or after `since` (naive UTC)."""
        with self.cursor() as cur:
            return cur.execute(
                f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions WHERE timestamp >= ?",
                [since],
            ).fetchall()

    def newest_event_time(self) -> dt.datetime | None:
        """The timestamp of the newest stored event (naive UTC), or None when empty."""
        with self.cursor() as cur:
            row = cur.execute("SELECT max(timestamp) FROM events").fetchone()
        return row[0] if row and row[0] is not None else None

    def max_visitor(self) -> int:
        """The largest visitor number stored (0 when empty)."""
        with self.cursor() as cur:
            row = cur.execute(
                "SELECT greatest((SELECT coalesce(max(visitor), 0) FROM events),"
                " (SELECT coalesce(max(visitor), 0) FROM sessions))"
            ).fetchone()
        return int(row[0]) if row else 0

    def recent_visitors(
        self, since: dt.datetime, *, site_id: int | None = None
    ) -> list[tuple[int, int, int]]:
        """(site_id, visitor_id, visitor) of sessions whose last event is at or after `since`.

        Args:
            since: Naive UTC.
            site_id: Only this site's visitors; every site's when None.
        """
        site_filter = "" if site_id is None else " AND site_id = ?"
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT DISTINCT site_id, visitor_id, visitor FROM sessions "
                f"WHERE timestamp >= ?{site_filter}",
                [since] if site_id is None else [since, site_id],
            ).fetchall()
        return [(int(s), int(v), int(n)) for s, v, n in rows]

    def max_session_id(self) -> int:
        """The largest session id stored (0 when empty)."""
        with self.cursor() as cur:
            row = cur.execute("SELECT coalesce(max(session_id), 0) FROM sessions").fetchone()
        return int(row[0]) if row else 0

    def count_events(self, site_id: int | None = None) -> int:
        """How many events are stored, for one site or all."""
        with self.cursor() as cur:
            if site_id is None:
                row = cur.execute("SELECT count(*) FROM events").fetchone()
            else:
                row = cur.execute(
                    "SELECT count(*) FROM events WHERE site_id = ?", [site_id]
                ).fetchone()
        return int(row[0]) if row else 0

    def scan(self, table: str, start: dt.datetime, end: dt.datetime) -> pa.Table:
        """Stored rows of `events` (by timestamp) or `sessions` (by start) in [start, end)."""
        column, columns, schema = (
            ("timestamp", _EVENT_LIST, EVENT_SCHEMA)
            if table == "events"
            else ("start", _SESSION_LIST, SESSION_SCHEMA)
        )
        with self.cursor() as cur:
            found: pa.Table = cur.sql(
                f"SELECT {columns} FROM {table} WHERE {column} >= $1 AND {column} < $2",
                params=[start, end],
            ).to_arrow_table()
        return found.cast(schema)

    def daily_counts(self, start: dt.datetime, end: dt.datetime) -> dict[tuple[int, str], int]:
        """Events per (site_id, UTC day) in [start, end)."""
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT site_id, strftime(timestamp, '%Y-%m-%d'), count(*) FROM events "
                "WHERE timestamp >= ? AND timestamp < ? GROUP BY ALL",
                [start, end],
            ).fetchall()
        return {(int(s), str(d)): int(n) for s, d, n in rows}

    def data_version(self) -> int:
        """A number that changes whenever stored data may change other than by appending now.

        Live ingest only adds events at the current time, which query caches handle with a
        short lifetime; imports, deletions and repairs rewrite the past and bump this.
        """
        return self._data_version

    def bump_data_version(self) -> None:
        """Marks every cached statistic of this store as stale."""
        with self._lock:
            self._data_version += 1
            self._set_info("data_version", str(self._data_version))

    def delete_site(self, site_id: int) -> Deletion:
        """Removes every event and session of a site, durably beyond the WAL.

        The journal cannot replay a deletion: were the WAL lost, the events would come back.
        """
        return deletion.delete_rows(self, "site_id = ?", [site_id], always=True)

    def delete_before(self, site_id: int, before: dt.datetime) -> Deletion:
        """Removes a site's events before `before` and its sessions that ended before it.

        DuckDB has no partitions: rows are deleted, and the checkpoint that makes the deletion
        durable drops the row groups left empty (events are appended in time order, so the
        expired days are mostly whole row groups) and marks the rest of the space for reuse.
        """
        return deletion.delete_rows(
            self, "site_id = ? AND timestamp < ?", [site_id, before], always=False
        )

    def read_events(
        self, site_id: int, start: dt.datetime, end: dt.datetime, *, batch_rows: int = 65_536
    ) -> Iterator[pa.RecordBatch]:
        """A site's events in ``[start, end)``, oldest first, as Arrow batches streamed.

        Sorted a window of hours at a time (`reading.windows`), so that memory holds one
        window's sort, not the whole range's.
        """
        with self.cursor(pooled=False) as cur:
            for low, high in reading.windows(cur, site_id, start, end):
                reader = cur.sql(
                    f"SELECT {_EVENT_LIST} FROM events WHERE site_id = $1 AND timestamp >= $2 "
                    "AND timestamp < $3 ORDER BY timestamp",
                    params=[site_id, low, high],
                ).to_arrow_reader(batch_rows)
                for batch in reader:
                    yield batch.cast(EVENT_SCHEMA) if batch.schema != EVENT_SCHEMA else batch

    def snapshot_to(self, directory: Path) -> Snapshot:
        """Writes ``events.parquet``, ``sessions.parquet`` and ``store.json`` into `directory`.

        One read transaction on a cursor of its own: ingest goes on meanwhile.
        """
        with self.cursor(pooled=False) as cur:
            return snapshots.write_snapshot(cur, directory)

    def checkpoint(self) -> None:
        """Folds the WAL into the database file.

        Runs on a cursor of its own, so the writer's connection is not held meanwhile.

        Raises:
            StoreError: DuckDB refused (the writes stay in the WAL).
        """
        try:
            with self.cursor(pooled=False) as cur:
                cur.execute("CHECKPOINT")
        except duckdb.Error as exc:
            raise StoreError(f"checkpointing the event store failed: {exc}") from exc

    def repair_sessions(self, since: dt.datetime) -> int:
        """Rebuilds, from their events, the sessions that had events at or after `since`.

        Events are committed before the sessions they belong to (sessions follow about a second
        later, see `footfall.storage.writer`), so after a crash the newest sessions may be stale
        or missing; every fact about a session can be derived from its events.

        Returns:
            How many sessions were rewritten.
        """
        visit = ", ".join(f"any_value({c}) AS {c}" for c in VISIT_COLUMNS)
        pv = "FILTER (WHERE name = 'pageview')"
        with self._lock:
            con = self._con
            con.begin()
            try:
                con.execute(
                    f"""
                    CREATE OR REPLACE TEMP TABLE _repaired AS
                    SELECT site_id, session_id, any_value(visitor_id) AS visitor_id,
                           any_value(visitor) AS visitor,
                           min(timestamp) AS start, max(timestamp) AS timestamp,
                           date_diff('second', min(timestamp), max(timestamp))::UINTEGER
                             AS duration,
                           (count(*) {pv})::UINTEGER AS pageviews,
                           count(*)::UINTEGER AS events,
                           count(*) {pv} < 2
                             AND NOT coalesce(bool_or(name <> 'pageview' AND interactive), false)
                             AS is_bounce,
                           coalesce(arg_min(pathname, ord) {pv}, '') AS entry_page,
                           coalesce(arg_max(pathname, ord) {pv}, '') AS exit_page,
                           coalesce(arg_min(hostname, ord) {pv}, '') AS hostname,
                           coalesce(arg_max(hostname, ord) {pv}, '') AS exit_hostname,
                           arg_min(props_keys, ord) AS entry_props_keys,
                           arg_min(props_values, ord) AS entry_props_values,
                           {visit}
                    FROM (SELECT *, epoch_us(timestamp)::HUGEINT * 1099511627776 + rowid AS ord
                          FROM events
                          WHERE name <> 'engagement' AND session_id IN (
                            SELECT DISTINCT session_id FROM events WHERE timestamp >= ?))
                    GROUP BY site_id, session_id
                """,
                    [since],
                )
                con.execute(
                    "DELETE FROM sessions WHERE session_id IN (SELECT session_id FROM _repaired)"
                )
                con.execute(
                    f"INSERT INTO sessions ({_SESSION_LIST}) SELECT {_SESSION_LIST} "
                    "FROM _repaired ORDER BY session_id"
                )
                row = con.execute("SELECT count(*) FROM _repaired").fetchone()
                con.execute("DROP TABLE _repaired")
                con.commit()
            except duckdb.Error as exc:
                con.rollback()
                raise StoreError(f"session repair failed: {exc}") from exc
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Checkpoints, marks the store cleanly closed and closes the file.

        Queries still running (a stopping server's worker threads) are interrupted first and
        waited for, so that nothing else uses the connection while it checkpoints.
        """
        self.cursor_pool.close()
        if not self.cursor_pool.wait_released(_CLOSE_WAIT_SECONDS):
            log.warning("queries were still running when the event store closed")
        with self._lock:
            try:
                if not self.read_only:
                    self._set_info("clean_shutdown", "true")
                    self._con.execute("CHECKPOINT")
            finally:
                self._con.close()
