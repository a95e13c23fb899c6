"""Session rows with their versions, for a store whose sessions several processes change.

A shared session store (`footfall.sessions.store`, Redis) gives every change of a session a
version and hands over the state it replaces. A store of versioned rows (ClickHouse's
`VersionedCollapsingMergeTree`) then needs, per change, the new state with ``sign = 1`` and the
replaced state with ``sign = -1`` at its own version. Whichever process writes them, and in
whatever order, the rows of all processes together sum to each session's current state.

`SessionVersions` gathers the rows of one process between two writes: a state written and
cancelled within the same batch (the visitor's next event came to this process too) is left
out, so a busy session costs two rows per write, not two per event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from footfall.storage.base import SessionRow
from footfall.storage.schema import SESSION_COLUMNS

_SESSION_ID = SESSION_COLUMNS.index("session_id")

# (sign, version, row): a row of a versioned sessions table.
VersionedRow = tuple[int, int, SessionRow]


class SessionVersions:
    """Versioned session rows waiting to be written, cancelled pairs left out."""

    __slots__ = ("_rows",)

    def __init__(self) -> None:
        # (session id, version) -> [sign, row]; a sign that sums to 0 drops the entry.
        self._rows: dict[tuple[int, int], list[Any]] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, changes: Iterable[tuple[Any, ...]]) -> None:
        """Takes (row, version, replaced row or None) changes from the session store."""
        for row, version, replaced in changes:
            session_id = row[_SESSION_ID]
            self._put((session_id, version), 1, row)
            if replaced is not None:
                self._put((session_id, version - 1), -1, replaced)

    def merge(self, newer: SessionVersions) -> None:
        """Takes every row of `newer` into these."""
        for key, (sign, row) in newer._rows.items():
            self._put(key, sign, row)

    def rows(self) -> list[VersionedRow]:
        """The rows to write, as (sign, version, row)."""
        return [(sign, key[1], row) for key, (sign, row) in self._rows.items()]

    def clear(self) -> None:
        """Forgets every row."""
        self._rows.clear()

    def _put(self, key: tuple[int, int], sign: int, row: SessionRow) -> None:
        found = self._rows.get(key)
        if found is None:
            self._rows[key] = [sign, row]
            return
        found[0] += sign
        if found[0] == 0:
            del self._rows[key]
