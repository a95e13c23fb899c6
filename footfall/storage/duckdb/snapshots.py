"""Snapshots of the DuckDB event store: a consistent copy taken while it serves, and back.

A snapshot is three files in a directory:

- ``events.parquet`` and ``sessions.parquet``: every row of the two tables, in stored order,
  zstd-compressed;
- ``store.json``: the ``store_info`` rows (schema version, journal position, data version) and
  the ``CREATE TABLE`` statement of each table as the store had it.

They are written in one read transaction on a cursor of their own, so the copy is the store
at one moment: writes committed meanwhile (DuckDB's MVCC) are not in it, and the journal
position in ``store.json`` is the one those rows complete. The writer's connection is never
held, so ingest goes on.

`restore_snapshot` rebuilds a store file exactly as it was, older schema version included;
opening it for writing then upgrades it as it would any store of that version. A snapshot
restores as not cleanly closed, so the first open rebuilds the newest sessions from their
events (sessions trail their events by a few seconds).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from footfall.errors import StoreError
from footfall.storage.base import Snapshot

BACKEND = "duckdb"
TABLES = ("events", "sessions")
INFO_FILE = "store.json"
# Rows per Parquet row group: a snapshot holds about one group of rows in memory at a time.
_ROW_GROUP = 16_384


def _literal(path: Path) -> str:
    """A file path as an SQL string literal (COPY takes no parameter for its target)."""
    return "'" + str(path).replace("'", "''") + "'"


def write_snapshot(cur: duckdb.DuckDBPyConnection, directory: Path) -> Snapshot:
    """Copies the store into `directory` in one read transaction on `cur`.

    Args:
        cur: A private cursor of the store (not the writer's connection).
        directory: An existing, empty directory.

    Raises:
        StoreError: DuckDB or the file system refused (a full disk included).
    """
    try:
        cur.execute("BEGIN TRANSACTION")
        try:
            info = {str(k): str(v) for k, v in cur.execute("SELECT * FROM store_info").fetchall()}
            ddl = dict(
                cur.execute(
                    "SELECT table_name, sql FROM duckdb_tables() "
                    "WHERE database_name = current_database() AND schema_name = 'main' "
                    "AND table_name IN ('events', 'sessions')"
                ).fetchall()
            )
            for table in TABLES:
                _write_table(cur, table, directory / f"{table}.parquet")
            per_site = cur.execute(
                "SELECT site_id, count(*) FROM events GROUP BY site_id ORDER BY site_id"
            ).fetchall()
            sessions_row = cur.execute("SELECT count(*) FROM sessions").fetchone()
        finally:
            cur.execute("COMMIT")
    except (duckdb.Error, OSError, pa.ArrowException) as exc:
        raise StoreError(f"snapshot of the event store failed: {exc}") from exc
    payload = {"store_info": info, "tables": {name: ddl[name] for name in TABLES}}
    try:
        (directory / INFO_FILE).write_text(json.dumps(payload, indent=2), encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"snapshot of the event store failed: {exc}") from exc
    events_per_site = {int(site): int(count) for site, count in per_site}
    return Snapshot(
        backend=BACKEND,
        schema_version=info.get("schema_version", ""),
        journal_seq=int(info.get("journal_seq") or 0),
        events=sum(events_per_site.values()),
        sessions=int(sessions_row[0]) if sessions_row else 0,
        events_per_site=events_per_site,
        files=(*(f"{table}.parquet" for table in TABLES), INFO_FILE),
    )


def _write_table(cur: duckdb.DuckDBPyConnection, table: str, target: Path) -> None:
    """Streams a table into a Parquet file a row group at a time, in the cursor's transaction.

    Written here rather than by DuckDB's own ``COPY … TO``: that writer buffers row groups
    per thread to keep their order, which costs memory in proportion to the threads and the
    row width; this way a snapshot holds one row group at a time.
    """
    reader = cur.sql(f"SELECT * FROM {table}").to_arrow_reader(_ROW_GROUP)
    with pq.ParquetWriter(target, reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch, row_group_size=_ROW_GROUP)


def read_info(directory: Path) -> dict[str, str]:
    """The ``store_info`` rows a snapshot recorded.

    Raises:
        StoreError: ``store.json`` is missing or unreadable.
    """
    try:
        payload = json.loads((directory / INFO_FILE).read_text(encoding="utf-8"))
        info = payload["store_info"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"the event store snapshot in {directory} is unreadable: {exc}") from exc
    return {str(k): str(v) for k, v in info.items()}


def restore_snapshot(directory: Path, path: Path, *, memory_limit_mb: int = 0) -> None:
    """Builds a new store file at `path` from the snapshot in `directory`.

    The tables are created with the statements the snapshot recorded, so a store of an older
    schema version comes back at that version; it is marked as not cleanly closed. With
    `memory_limit_mb`, DuckDB writes out what it loads rather than holding it.

    Raises:
        StoreError: `path` exists, or the snapshot cannot be loaded (the partial file is
            removed).
    """
    if path.exists():
        raise StoreError(f"cannot restore the event store into {path}: the file exists")
    try:
        payload = json.loads((directory / INFO_FILE).read_text(encoding="utf-8"))
        info: dict[str, str] = payload["store_info"]
        tables: dict[str, str] = payload["tables"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"the event store snapshot in {directory} is unreadable: {exc}") from exc
    try:
        con = duckdb.connect(str(path))
        try:
            con.execute("SET enable_progress_bar = false")
            if memory_limit_mb:
                con.execute(f"SET memory_limit = '{int(memory_limit_mb)}MiB'")
            con.begin()
            for table in TABLES:
                if not tables.get(table, "").startswith("CREATE TABLE"):
                    raise StoreError(f"the snapshot has no definition of the table {table}")
                con.execute(tables[table])
                source = _literal(directory / f"{table}.parquet")
                con.execute(f"INSERT INTO {table} SELECT * FROM read_parquet({source})")
            con.execute("CREATE TABLE store_info (key VARCHAR PRIMARY KEY, value VARCHAR)")
            for key, value in {**info, "clean_shutdown": "false"}.items():
                con.execute("INSERT INTO store_info VALUES (?, ?)", [key, value])
            con.commit()
            con.execute("CHECKPOINT")
        finally:
            con.close()
    except (duckdb.Error, OSError, StoreError) as exc:
        path.unlink(missing_ok=True)
        Path(f"{path}.wal").unlink(missing_ok=True)
        if isinstance(exc, StoreError):
            raise
        raise StoreError(f"cannot restore the event store from {directory}: {exc}") from exc
