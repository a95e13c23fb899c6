"""Deleting rows from the DuckDB event store durably, and measuring the space it gives back."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any, Protocol

import duckdb

from footfall.errors import StoreError
from footfall.storage.base import Deletion


class DuckDBEventStore(Protocol):
    """What a deletion needs of `footfall.storage.duckdb.store.DuckDBEventStore`."""

    @property
    def writer_lock(self) -> threading.Lock:
        """Held while the writer's connection is in use."""
        ...

    @property
    def writer_connection(self) -> duckdb.DuckDBPyConnection:
        """The connection every write goes through."""
        ...

    def cursor(self, *, pooled: bool = True) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A cursor for reading."""
        ...

    def checkpoint(self) -> None:
        """Folds the WAL into the database file."""
        ...

    def bump_data_version(self) -> None:
        """Marks cached statistics stale."""
        ...


def delete_rows(
    store: DuckDBEventStore, where: str, params: list[Any], *, always: bool
) -> Deletion:
    """Deletes the events and sessions matching `where` in one transaction, durably.

    The checkpoint before the deletion puts everything in the file, so that the space in use
    is measured there; the one after makes the deletion durable without the WAL (the journal
    cannot replay a deletion) and lets DuckDB drop emptied row groups.

    Args:
        store: The store.
        where: A condition on columns both tables have, with ``?`` placeholders.
        params: The placeholders' values.
        always: Delete (and checkpoint) even when no row matches; otherwise such a call
            changes nothing.

    Raises:
        StoreError: DuckDB refused; nothing was deleted.
    """
    with store.cursor() as cur:
        due = cur.execute(
            f"SELECT (SELECT count(*) FROM events WHERE {where})"
            f" + (SELECT count(*) FROM sessions WHERE {where})",
            params + params,
        ).fetchone()
    if not always and not (due and due[0]):
        return Deletion(events=0, sessions=0, bytes_freed=0)
    store.checkpoint()
    used_before = used_bytes(store)
    with store.writer_lock:
        con = store.writer_connection
        con.begin()
        try:
            events = con.execute(f"DELETE FROM events WHERE {where}", params).fetchone()
            sessions = con.execute(f"DELETE FROM sessions WHERE {where}", params).fetchone()
            con.commit()
        except duckdb.Error as exc:
            con.rollback()
            raise StoreError(f"deleting from the event store failed: {exc}") from exc
    store.bump_data_version()
    store.checkpoint()
    return Deletion(
        events=int(events[0]) if events else 0,
        sessions=int(sessions[0]) if sessions else 0,
        bytes_freed=max(0, used_before - used_bytes(store)),
    )


def used_bytes(store: DuckDBEventStore) -> int:
    """Bytes of the database file in use (its blocks not free for reuse)."""
    with store.cursor() as cur:
        row = cur.execute(
            "SELECT block_size * used_blocks FROM pragma_database_size() "
            "WHERE database_name = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0
