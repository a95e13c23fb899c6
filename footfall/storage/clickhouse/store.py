"""The ClickHouse event store: events, versioned sessions and store facts in one database.

One client serves every thread (pooled HTTP, or chdb one statement at a time). Each insert
carries a batch id and a deduplication token, so a batch sent again is not stored twice.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from footfall.errors import QueryRejectedError, QueryTimeoutError, StoreError
from footfall.monitoring.pools import PoolStats
from footfall.storage.base import EventRow, SessionRow
from footfall.storage.clickhouse import migrations, streams
from footfall.storage.clickhouse.connection import (
    PathLock,
    Target,
    connect,
    outcome_unknown,
    parse_url,
    query_tag,
)
from footfall.storage.clickhouse.lifecycle import StoreLifecycle
from footfall.storage.clickhouse.params import bind
from footfall.storage.clickhouse.sessions import (
    SESSION_ID,
    SessionStates,
    as_rows,
    current_sessions_sql,
    repair_sql,
    versioned_rows,
)
from footfall.storage.schema import (
    EVENT_COLUMNS,
    EVENT_SCHEMA,
    SESSION_COLUMNS,
    SESSION_SCHEMA,
    rows_to_table,
)

log = logging.getLogger(__name__)

# ClickHouse error codes that mean "stopped at the time limit" and "refused a value".
_TIMED_OUT = {159, 394}
_REJECTED = {427, 36, 6, 41}
# What the stats engine's SQL expects: empty aggregates are NULL (as in standard SQL).
_QUERY_SETTINGS = {"aggregate_functions_null_for_empty": 1, "timeout_overflow_mode": "throw"}
_SESSION_LIST = ", ".join(SESSION_COLUMNS)
_EVENT_LIST = ", ".join(EVENT_COLUMNS)
# Rows per insert of an import: bigger parts merge less, but chdb holds each insert in memory.
_LOAD_CHUNK = 262_144
_IDS_PER_READ = 500


class ClickHouseEventStore(StoreLifecycle):
    """Events and sessions in a ClickHouse database (a server, or chdb in this process)."""

    backend = "clickhouse"

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        """Connects, brings the schema up to date and reads the store's facts.

        Args:
            url: ``clickhouse://…``, ``https://…`` or ``chdb:///PATH``.
            read_only: Change nothing (no migration, no clean-shutdown flag).

        Raises:
            StoreBusyError: Another process has the chdb directory open.
            StoreError: It cannot be reached, or its schema is newer than this footfall's.
        """
        self.target: Target = parse_url(url)
        self.read_only = read_only
        self.stream, self._journal_base = 0, 0  # `use_stream` (streams.py)
        self.pool_stats: PoolStats | None = None
        self._lock: PathLock | None = None
        if self.target.path is not None:
            self._lock = PathLock(self.target.path)
        try:
            self._client: Client = connect(self.target)
            self._prepare()
        except BaseException:
            if self._lock is not None:
                self._lock.release()
            raise
        self._write_lock = threading.Lock()
        self._states = SessionStates()
        self._batches = itertools.count(self._first_own_batch())
        self._info_seq = time.time_ns()
        # An insert whose outcome is unknown (the connection failed after sending it).
        self._unsettled: tuple[str, int, int, Any] | None = None
        self._applied = self._read_applied()
        self.was_closed_cleanly = self._get_info("clean_shutdown") == "true"
        self._data_version = int(self._get_info("data_version") or 0)
        self.opened_data_version = self._data_version
        if not read_only:
            self.bump_data_version()
            self._set_info("clean_shutdown", "false")

    # -- plumbing ---------------------------------------------------------------------------

    def _prepare(self) -> None:
        try:
            if self.read_only:
                found = migrations.applied_version(self._client)
                if found != migrations.LATEST:
                    raise StoreError(
                        f"the event store {self.target.shown} has schema version {found}, this "
                        f"footfall reads {migrations.LATEST}"
                    )
            else:
                migrations.migrate(self._client)
        except ValueError as exc:
            raise StoreError(f"the event store {self.target.shown}: {exc}") from None
        except ClickHouseError as exc:
            raise self._error("preparing the schema failed", exc) from None

    def _error(self, what: str, exc: BaseException) -> StoreError:
        return StoreError(f"event store {what}: {self.target.scrub(str(exc))}")

    def _rows(self, sql: str, params: Sequence[Any] = (), **settings: Any) -> list[Any]:
        """Runs an internal statement with ``$n`` placeholders; returns its rows."""
        text, values = bind(sql, params)
        try:
            return list(
                self._client.query(
                    text, parameters=values, settings={**_QUERY_SETTINGS, **settings}
                ).result_rows
            )
        except ClickHouseError as exc:
            raise self._error("read failed", exc) from None

    def _command(self, sql: str, params: Sequence[Any] = (), **settings: Any) -> None:
        text, values = bind(sql, params)
        try:
            self._client.command(text, parameters=values, settings=settings or None)
        except ClickHouseError as exc:
            raise self._error("write failed", exc) from None

    def _get_info(self, key: str) -> str | None:
        rows = self._rows("SELECT argMax(value, seq) FROM store_info WHERE key = $1", [key])
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def _set_info(self, key: str, value: str) -> None:
        self._info_seq = max(self._info_seq + 1, time.time_ns())
        try:
            self._client.insert(
                "store_info",
                [[key, value, self._info_seq]],
                column_names=["key", "value", "seq"],
            )
        except ClickHouseError as exc:
            raise self._error("write failed", exc) from None

    def _read_applied(self) -> int:
        return max(
            self._max_batch("events", streams.journal_range(self.stream)) - self._journal_base,
            int(self._get_info(streams.info_key("journal_seq", self.stream)) or 0),
        )

    def _max_batch(self, table: str, span: tuple[int, int]) -> int:
        """The largest batch id of `table` in [first, end) of `span`; first - 1 when none."""
        rows = self._rows(
            f"SELECT max(batch), count() FROM {table} WHERE batch >= $1 AND batch < $2",
            list(span),
        )
        return int(rows[0][0]) if rows and rows[0][1] else span[0] - 1

    def _first_own_batch(self) -> int:
        span = streams.own_range(self.stream)
        return max(self._max_batch(t, span) for t in ("events", "sessions")) + 1

    def _insert(self, table: str, data: pa.Table, batch: int) -> None:
        """Inserts one batch; on an unknown outcome remembers it for `_settle`."""
        try:
            self._client.insert_arrow(
                table, data, settings={"insert_deduplication_token": f"{table}-{batch}"}
            )
        except (ClickHouseError, OSError) as exc:
            if outcome_unknown(exc):
                # The request may have been stored: the next write finds out (`_settle`).
                self._unsettled = (table, batch, data.num_rows, None)
            raise self._error("write failed", exc) from None

    def _settle(self) -> tuple[str, int, int, Any] | None:
        """Finds out whether an insert of unknown outcome was stored; returns it if it was."""
        if self._unsettled is None:
            return None
        table, batch, rows, detail = self._unsettled
        found = self._rows(f"SELECT count() FROM {table} WHERE batch = $1", [batch])
        self._unsettled = None
        if found and int(found[0][0]) == rows:
            log.warning("a %s batch of %d rows sent again was already stored", table, rows)
            return table, batch, rows, detail
        return None

    # -- writing ----------------------------------------------------------------------------

    def write(
        self,
        events: Sequence[EventRow],
        new_sessions: Sequence[SessionRow],
        changed_sessions: Sequence[SessionRow],
        *,
        journal_seq: int | None = None,
    ) -> None:
        """Stores events (one insert) and then session changes (cancel and new rows).

        A batch whose earlier attempt was stored although it failed (its answer was lost) is
        recognised by its batch id and not stored again.

        Raises:
            StoreError: The insert failed (it may be retried with the same rows).
        """
        with self._write_lock:
            stored = self._settle()
            if events:
                rows = list(events)
                if stored is not None and stored[0] == "events" and rows[0] == stored[3]:
                    rows = rows[stored[2] :]  # the retry starts with the stored batch
                if rows:
                    seq = journal_seq
                    batch = next(self._batches) if seq is None else self._journal_base + seq
                    table = rows_to_table(rows, EVENT_SCHEMA)
                    table = table.append_column("batch", pa.array([batch] * len(rows), pa.uint64()))
                    try:
                        self._insert("events", table, batch)
                    except StoreError:
                        if self._unsettled is not None:
                            self._unsettled = (*self._unsettled[:3], rows[0])
                        raise
            elif journal_seq is not None and journal_seq > self._applied:
                self._set_info(streams.info_key("journal_seq", self.stream), str(journal_seq))
            if journal_seq is not None:
                self._applied = max(self._applied, journal_seq)
            if stored is not None and stored[0] == "sessions":
                for version, row in stored[3]:
                    self._states.put(version, row)
            if new_sessions or changed_sessions:
                self._write_sessions(list(new_sessions), list(changed_sessions))

    def _write_sessions(self, new: list[SessionRow], changed: list[SessionRow]) -> None:
        missing = [r for r in changed if self._states.get(int(r[SESSION_ID])) is None]
        if missing:
            for version, row in self._read_states(missing):
                self._states.put(version, row)
        rows, signs, versions, written = versioned_rows([*new, *changed], self._states)
        if not rows:
            return
        batch = next(self._batches)
        table = rows_to_table(rows, SESSION_SCHEMA)
        n = len(rows)
        table = table.append_column("sign", pa.array(signs, pa.int8()))
        table = table.append_column("version", pa.array(versions, pa.uint32()))
        table = table.append_column("batch", pa.array([batch] * n, pa.uint64()))
        try:
            self._insert("sessions", table, batch)
        except StoreError:
            if self._unsettled is not None:
                self._unsettled = (*self._unsettled[:3], written)
            raise
        for version, row in written:
            self._states.put(version, row)
        self._states.trim()

    def _read_states(self, rows: list[SessionRow]) -> list[tuple[int, SessionRow]]:
        """The current stored state and version of sessions the cache does not know."""
        out: list[tuple[int, SessionRow]] = []
        # By id alone (a skip index finds them): a rebuilt session's start may differ from the
        # stored one's, so a bound on it could miss the state to cancel.
        sql = current_sessions_sql(f"{_SESSION_LIST}, version", "session_id IN $1")
        # The ids travel as a parameter (in the URL over HTTP): a few hundred at a time.
        for first in range(0, len(rows), _IDS_PER_READ):
            chunk = rows[first : first + _IDS_PER_READ]
            found = self._rows(sql, [[int(r[SESSION_ID]) for r in chunk]])
            out.extend((int(r[-1]), tuple(r[:-1])) for r in found)
        return out

    def load(self, events: pa.Table | pa.RecordBatchReader, sessions: pa.Table) -> None:
        """Stores a bulk import's rows under one batch id, then bumps the data version.

        ClickHouse has no transaction over several inserts: if one fails, the rows already
        inserted under the import's batch id are deleted again, so nothing is stored.

        Raises:
            StoreError: Nothing was stored.
        """
        with self._write_lock:
            batch = next(self._batches)
            try:
                self._load(events, sessions, batch)
            except (StoreError, ClickHouseError, OSError) as exc:
                self._unsettled = None
                for table in ("events", "sessions"):
                    self._command(
                        f"ALTER TABLE {table} DELETE WHERE batch = $1", [batch], mutations_sync=2
                    )
                if isinstance(exc, StoreError):
                    raise
                raise self._error("import failed", exc) from None
            # Imported sessions are not cached: one that a live event continues is read back.
        self.bump_data_version()

    def _load(
        self, events: pa.Table | pa.RecordBatchReader, sessions: pa.Table, batch: int
    ) -> None:
        reader = events.to_reader() if isinstance(events, pa.Table) else events
        pending: list[pa.RecordBatch] = []
        size = 0
        part = itertools.count()

        def flush() -> None:
            nonlocal pending, size
            if size:
                table = pa.Table.from_batches(pending, schema=EVENT_SCHEMA)
                table = table.append_column("batch", pa.array([batch] * size, pa.uint64()))
                self._insert_part("events", table, f"{batch}-{next(part)}")
            pending, size = [], 0

        for record_batch in reader:
            pending.append(record_batch)
            size += record_batch.num_rows
            if size >= _LOAD_CHUNK:
                flush()
        flush()
        if sessions.num_rows:
            n = sessions.num_rows
            table = sessions.select(list(SESSION_COLUMNS))
            table = table.append_column("sign", pa.array([1] * n, pa.int8()))
            table = table.append_column("version", pa.array([1] * n, pa.uint32()))
            table = table.append_column("batch", pa.array([batch] * n, pa.uint64()))
            self._insert_part("sessions", table, str(batch))

    def _insert_part(self, table: str, data: pa.Table, token: str) -> None:
        self._client.insert_arrow(
            table, data, settings={"insert_deduplication_token": f"{table}-{token}"}
        )

    def applied_journal_seq(self) -> int:
        """The highest ingest-journal entry whose events are stored (0 when none)."""
        return self._applied

    def write_session_versions(
        self, rows: Sequence[tuple[int, int, SessionRow]], *, journal_seq: int
    ) -> None:
        """Inserts (sign, version, row) session rows as given, under the journal entry's batch.

        An insert of unknown outcome is not repeated once found stored.

        Raises:
            StoreError: The insert failed (retry it with the same rows and entry).
        """
        batch = self._journal_base + journal_seq
        with self._write_lock:
            pending = self._unsettled
            if pending and pending[:2] == ("sessions", batch) and self._settle() is not None:
                return
            try:
                self._insert("sessions", streams.versioned_table(rows, batch), batch)
            except StoreError:
                if self._unsettled is not None:
                    self._unsettled = (*self._unsettled[:3], [])
                raise

    def applied_session_seq(self) -> int:
        """The highest journal entry of this stream whose session rows are stored (0 if none)."""
        return max(
            self._max_batch("sessions", streams.journal_range(self.stream)) - self._journal_base, 0
        )

    def use_stream(self, stream: int) -> None:
        """Journals from now on as `stream` (one worker's journal among several)."""
        with self._write_lock:
            self.stream, self._journal_base = (
                streams.check_stream(stream),
                streams.journal_range(stream)[0],
            )
            self._batches = itertools.count(self._first_own_batch())
            self._applied = self._read_applied()

    def checkpoint(self) -> None:
        """Nothing to do: ClickHouse has no write-ahead log of its own to fold.

        An insert is acknowledged once its part is written, so a journal entry is stored for
        good when its write returns (see docs/clickhouse.md on fsync).
        """

    def fill_visitor_numbers(self) -> None:
        """Reports rows without a visitor number; only a pre-2 journal could hold them.

        A ClickHouse store was never written by a release without visitor numbers.
        """
        rows = self._rows("SELECT count() FROM events WHERE visitor = 0")
        if rows and int(rows[0][0]):
            log.warning(
                "%d events have no visitor number; distinct visitors count them as one",
                int(rows[0][0]),
            )

    # -- reading back -----------------------------------------------------------------------

    def open_sessions(self, since: dt.datetime) -> list[SessionRow]:
        """Sessions whose last event is at or after `since` (naive UTC), their states cached."""
        found = self._rows(
            current_sessions_sql(f"{_SESSION_LIST}, version", "timestamp >= $1"), [since]
        )
        out: list[SessionRow] = []
        for row in found:
            state = tuple(row[:-1])
            self._states.put(int(row[-1]), state)
            out.append(state)
        return out

    def max_session_id(self) -> int:
        """The largest session id stored (0 when empty)."""
        rows = self._rows("SELECT max(session_id) FROM sessions")
        return int(rows[0][0] or 0) if rows else 0

    def max_visitor(self) -> int:
        """The largest visitor number stored (0 when empty)."""
        rows = self._rows(
            "SELECT greatest(coalesce((SELECT max(visitor) FROM events), 0),"
            " coalesce((SELECT max(visitor) FROM sessions), 0))"
        )
        return int(rows[0][0] or 0) if rows else 0

    def recent_visitors(
        self, since: dt.datetime, *, site_id: int | None = None
    ) -> list[tuple[int, int, int]]:
        """(site_id, visitor_id, visitor) of sessions whose last event is at or after `since`."""
        site_filter = "" if site_id is None else " AND site_id = $2"
        rows = self._rows(
            f"SELECT DISTINCT site_id, visitor_id, visitor FROM sessions WHERE timestamp >= $1"
            f"{site_filter}",
            [since] if site_id is None else [since, site_id],
        )
        return [(int(s), int(v), int(n)) for s, v, n in rows]

    def known_visitors(self, site_id: int, visitor_ids: pa.Array) -> pa.Table:
        """The stored visitor numbers of those of `visitor_ids` the site's sessions have.

        Reads the site's (visitor_id, visitor) pairs as Arrow and keeps the asked-for ones
        here: ids are random 64-bit numbers, so sending them to the server as a list would be
        larger than the answer.
        """
        try:
            found = self._client.query_arrow(
                "SELECT visitor_id, min(visitor) AS visitor FROM sessions "
                "WHERE site_id = {s:UInt32} GROUP BY visitor_id",
                parameters={"s": site_id},
            )
        except ClickHouseError as exc:
            raise self._error("read failed", exc) from None
        wanted = pa.array(visitor_ids, pa.uint64())
        kept = found.filter(pc.is_in(found.column("visitor_id"), value_set=wanted))
        return kept.cast(pa.schema([("visitor_id", pa.uint64()), ("visitor", pa.uint32())]))

    def newest_event_time(self) -> dt.datetime | None:
        """The timestamp of the newest stored event (naive UTC), or None when empty."""
        rows = self._rows("SELECT max(timestamp) FROM events")
        value = rows[0][0] if rows else None
        if value is None:
            return None
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value  # type: ignore[no-any-return]

    def count_events(self, site_id: int | None = None) -> int:
        """How many events are stored, for one site or all."""
        if site_id is None:
            rows = self._rows("SELECT count() FROM events")
        else:
            rows = self._rows("SELECT count() FROM events WHERE site_id = $1", [site_id])
        return int(rows[0][0]) if rows else 0

    def scan(self, table: str, start: dt.datetime, end: dt.datetime) -> pa.Table:
        """Stored rows of `events` (by timestamp) or current `sessions` (by start) in range."""
        if table == "events":
            sql = f"SELECT {_EVENT_LIST} FROM events WHERE timestamp >= $1 AND timestamp < $2"
            schema = EVENT_SCHEMA
        else:
            sql = current_sessions_sql(_SESSION_LIST, "start >= $1 AND start < $2")
            schema = SESSION_SCHEMA
        text, values = bind(sql, [start, end])
        try:
            found = self._client.query_arrow(text, parameters=values)
        except ClickHouseError as exc:
            raise self._error("read failed", exc) from None
        # Stored times are UTC; the schema's are naive UTC.
        columns = [
            found.column(f.name).cast(pa.int64()).cast(f.type)
            if pa.types.is_timestamp(f.type)
            else found.column(f.name).cast(f.type)
            for f in schema
        ]
        return pa.Table.from_arrays(columns, schema=schema)

    def daily_counts(self, start: dt.datetime, end: dt.datetime) -> dict[tuple[int, str], int]:
        """Events per (site_id, UTC day) in [start, end)."""
        rows = self._rows(
            "SELECT site_id, toString(toDate(timestamp)), count() FROM events "
            "WHERE timestamp >= $1 AND timestamp < $2 GROUP BY site_id, toDate(timestamp)",
            [start, end],
        )
        return {(int(s), str(d)): int(n) for s, d, n in rows}

    def repair_sessions(self, since: dt.datetime) -> int:
        """Rebuilds, from their events, the sessions that had events at or after `since`.

        Each rebuilt session replaces the stored state (a cancel row and the new state).

        Returns:
            How many sessions were rebuilt.
        """
        rebuilt = as_rows(self._rows(repair_sql(), [since]))
        if not rebuilt:
            return 0
        with self._write_lock:
            self._write_sessions([], rebuilt)
        return len(rebuilt)

    # -- queries and administration ---------------------------------------------------------

    def query(
        self, sql: str, params: Sequence[Any], *, timeout: float, tag: str = ""
    ) -> list[tuple[Any, ...]]:
        """Runs one read statement, stopped by ClickHouse after `timeout` seconds.

        The statement starts with a comment naming `tag`, and carries it as `log_comment`,
        so that `system.query_log` shows what asked for each query.

        Raises:
            QueryTimeoutError: It ran past the limit and was stopped.
            QueryRejectedError: ClickHouse refused a value (an invalid regular expression).
            StoreError: Any other failure.
        """
        label = query_tag(tag)
        text, values = bind(sql, params)
        settings = {
            **_QUERY_SETTINGS,
            "max_execution_time": max(timeout, 0.001),
            "log_comment": label,
        }
        try:
            result = self._client.query(
                f"/* footfall: {label} */ {text}", parameters=values, settings=settings
            )
        except ClickHouseError as exc:
            code = getattr(exc, "code", None)
            if code in _TIMED_OUT:
                raise QueryTimeoutError(
                    f"the query took longer than {timeout:g} s and was stopped"
                ) from None
            if code in _REJECTED:
                message = str(exc).split("DB::Exception: ", 1)[-1].split(". (", 1)[0]
                raise QueryRejectedError(self.target.scrub(message)) from None
            raise self._error("query failed", exc) from None
        return [tuple(row) for row in result.result_rows]

    def data_version(self) -> int:
        """A number that changes whenever stored data may change other than by appending now."""
        return self._data_version

    def bump_data_version(self) -> None:
        """Marks every cached statistic of this store as stale."""
        self._data_version += 1
        self._set_info("data_version", str(self._data_version))

    def files(self) -> dict[str, Path]:
        """The chdb data directory; nothing for a server (its files are on another machine)."""
        return {} if self.target.path is None else {"events": self.target.path}

    def close(self) -> None:
        """Marks the store cleanly closed and disconnects."""
        try:
            if not self.read_only:
                self._set_info("clean_shutdown", "true")
        finally:
            try:
                self._client.close()
            finally:
                if self._lock is not None:
                    self._lock.release()
