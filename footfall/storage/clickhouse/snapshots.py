"""Snapshots of the ClickHouse event store: a logical copy taken while it serves, and back.

A snapshot is the store's three tables as files in a directory, read through the same client
the store uses, so it works against any server and against chdb without a backup disk
configured on the server:

- ``events.parquet`` and ``sessions.parquet``: every stored row, batch ids, signs and
  versions included, zstd-compressed, streamed a block at a time;
- ``store.json``: the ``store_info`` facts (schema version, journal positions, data version).

ClickHouse has no read transaction over several statements: the tables are read one after
the other, after the writer was flushed, so rows written meanwhile may or may not be in the
copy. Batch ids travel with the rows, so the restored store knows which journal entries it
holds; it restores as not cleanly closed, so the first open rebuilds the newest sessions
from their events. For large server deployments, ClickHouse's own ``BACKUP`` to a disk or S3
(docs/clickhouse.md) copies the parts without reading them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from footfall.errors import StoreError
from footfall.storage.base import Snapshot

BACKEND = "clickhouse"
TABLES = ("events", "sessions")
INFO_FILE = "store.json"
# Rows per insert when restoring: chdb holds each insert in memory.
_RESTORE_ROWS = 262_144


def write_snapshot(
    client: Client, directory: Path, schema_version: str, journal: tuple[int, int]
) -> Snapshot:
    """Copies the store's tables into `directory` (an existing, empty one).

    Args:
        client: The store's client.
        directory: Where the files go.
        schema_version: The store's schema version.
        journal: [first, end) of the batch ids of this process's journal entries: the copy
            holds exactly the entries up to the newest stored when it starts.

    Raises:
        StoreError: ClickHouse or the file system refused (a full disk included).
    """
    first, end = journal
    try:
        found = client.query(
            f"SELECT max(batch), count() FROM events WHERE batch >= {first} AND batch < {end}"
        ).result_rows
        cut = int(found[0][0]) if found and found[0][1] else first
        # Entries of this journal stored after the cut are left out, whole.
        where = f"NOT (batch >= {first} AND batch < {end} AND batch > {cut})"
        info = {
            str(key): str(value)
            for key, value in client.query(
                "SELECT key, argMax(value, seq) FROM store_info GROUP BY key"
            ).result_rows
        }
        for table in TABLES:
            _write_table(
                client, f"SELECT * FROM {table} WHERE {where}", directory / f"{table}.parquet"
            )
        per_site = client.query(
            f"SELECT site_id, count() FROM events WHERE {where} GROUP BY site_id ORDER BY site_id"
        ).result_rows
        sessions = client.query(f"SELECT sum(sign) FROM sessions WHERE {where}").result_rows
        (directory / INFO_FILE).write_text(
            json.dumps({"store_info": info, "schema_version": schema_version}, indent=2),
            encoding="utf-8",
        )
    except (ClickHouseError, OSError, pa.ArrowException) as exc:
        raise StoreError(f"snapshot of the event store failed: {exc}") from exc
    events_per_site = {int(site): int(count) for site, count in per_site}
    return Snapshot(
        backend=BACKEND,
        schema_version=schema_version,
        journal_seq=max(cut - first, int(info.get("journal_seq") or 0)),
        events=sum(events_per_site.values()),
        sessions=int(sessions[0][0] or 0) if sessions else 0,
        events_per_site=events_per_site,
        files=(*(f"{table}.parquet" for table in TABLES), INFO_FILE),
    )


def _write_table(client: Client, select: str, target: Path) -> None:
    """Streams the rows of `select` into a Parquet file, one block of rows at a time."""
    writer: pq.ParquetWriter | None = None
    try:
        with client.query_arrow_stream(select) as stream:
            for batch in stream:
                if writer is None:
                    writer = pq.ParquetWriter(target, batch.schema, compression="zstd")
                writer.write_batch(batch)
        if writer is None:  # an empty table: its columns still travel
            schema = client.query_arrow(f"{select} LIMIT 0").schema
            writer = pq.ParquetWriter(target, schema, compression="zstd")
    finally:
        if writer is not None:
            writer.close()


def restore_snapshot(client: Client, directory: Path, *, replace: bool) -> None:
    """Loads a snapshot into the (migrated) store `client` reaches.

    Args:
        client: A client of a store at the snapshot's schema version.
        directory: What `write_snapshot` wrote.
        replace: Empty the tables first; without it a store that holds events is refused.

    Raises:
        StoreError: The store holds events (without `replace`), or the snapshot cannot be
            loaded.
    """
    try:
        payload = json.loads((directory / INFO_FILE).read_text(encoding="utf-8"))
        info: dict[str, Any] = payload["store_info"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"the event store snapshot in {directory} is unreadable: {exc}") from exc
    try:
        held = int(client.query("SELECT count() FROM events").result_rows[0][0])
        if held and not replace:
            raise StoreError(
                f"the ClickHouse event store already holds {held} events: restore with --force "
                "to replace them"
            )
        for table in (*TABLES, "store_info"):
            client.command(f"TRUNCATE TABLE {table}")
        for table in TABLES:
            source = pq.ParquetFile(directory / f"{table}.parquet")
            for batch in source.iter_batches(batch_size=_RESTORE_ROWS):
                client.insert_arrow(table, pa.Table.from_batches([batch]))
        rows = [[str(k), str(v), seq] for seq, (k, v) in enumerate(info.items(), start=1)]
        rows.append(["clean_shutdown", "false", len(rows) + 1])
        client.insert("store_info", rows, column_names=["key", "value", "seq"])
    except (ClickHouseError, OSError, pa.ArrowException) as exc:
        raise StoreError(f"cannot restore the event store from {directory}: {exc}") from exc
