"""The ingest journal: an append-only, fsynced log in front of the event store.

Appending a few hundred bytes and one `fdatasync` costs far less than a DuckDB transaction, so
`POST /api/event` is acknowledged once its event is in the journal; a second thread moves
events into DuckDB in large batches and records, in the same transaction, the sequence number
it applied up to. After a crash the entries past that number are replayed.

Format: one line per group commit, ``{"s": seq, "e": [row, ...]}`` encoded with orjson, in
numbered segment files. A torn last line (the process died mid-write, before the fsync that
would have acknowledged it) is ignored.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from footfall.storage.schema import EVENT_COLUMNS

log = logging.getLogger(__name__)

SEGMENT_BYTES = 64 << 20
_TIMESTAMP = 1  # index of the timestamp in an event row (footfall.storage.schema.EVENT_COLUMNS)
_VISITOR = EVENT_COLUMNS.index("visitor")
_DUMP_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_APPEND_NEWLINE
# Rows journalled before events had a visitor number are one column short.
_ROW_WIDTH_BEFORE_VISITOR = len(EVENT_COLUMNS) - 1


def _segment_name(number: int) -> str:
    return f"{number:012d}.log"


class Journal:
    """Numbered segment files under `directory`; only the event loop thread appends."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        segments = self.segments()
        self._number = (int(segments[-1].stem) + 1) if segments else 1
        self._file = self._open_segment()
        self._seq = 0
        self.appended_bytes = 0
        # Last sequence number of each segment closed by this process (no need to re-read it).
        self._closed_last: dict[Path, int] = {}

    def segments(self) -> list[Path]:
        """Segment files, oldest first."""
        return sorted(self.directory.glob("*.log"))

    def _open_segment(self) -> Any:
        path = self.directory / _segment_name(self._number)
        handle = path.open("ab", buffering=0)
        self._size = handle.tell()
        return handle

    def set_sequence(self, seq: int) -> None:
        """Continues numbering after `seq` (the highest number already used)."""
        self._seq = seq

    def append(self, rows: Sequence[tuple[Any, ...]]) -> int:
        """Writes one batch durably and returns its sequence number."""
        self._seq += 1
        # orjson appends the newline itself: `+ b"\n"` would copy the whole line once more.
        line = orjson.dumps({"s": self._seq, "e": rows}, option=_DUMP_OPTIONS)
        try:
            self._file.write(line)
            os.fdatasync(self._file.fileno())
        except OSError:
            # A partial line may now end this segment; replay stops reading a segment at its
            # first bad line, so later entries must start in a fresh one.
            self.rotate()
            raise
        self._size += len(line)
        self.appended_bytes += len(line)
        if self._size >= SEGMENT_BYTES:
            self.rotate()
        return self._seq

    def rotate(self) -> None:
        """Starts a new segment so that applied ones can be deleted whole."""
        self._closed_last[self.directory / _segment_name(self._number)] = self._seq
        self._file.close()
        self._number += 1
        self._file = self._open_segment()

    def drop_applied(self, through_seq: int, *, closed: bool = False) -> None:
        """Deletes segments whose entries are all applied (the open one only once `closed`)."""
        current = self.directory / _segment_name(self._number)
        for path in self.segments():
            if path == current and not closed:
                continue
            last = self._closed_last.get(path)
            if last is None:
                last = _last_seq(path)
            if last is None or last <= through_seq:
                path.unlink(missing_ok=True)
                self._closed_last.pop(path, None)

    def close(self) -> None:
        """Closes the open segment."""
        self._file.close()


def _parse(line: bytes) -> tuple[int, list[tuple[Any, ...]]] | None:
    try:
        entry = orjson.loads(line)
        rows = [tuple(row) for row in entry["e"]]
        for i, row in enumerate(rows):
            if len(row) == _ROW_WIDTH_BEFORE_VISITOR:
                # 0 means "not numbered yet": the replay numbers such rows once they are
                # stored (DuckDBEventStore.fill_visitor_numbers).
                row = (*row[:_VISITOR], 0, *row[_VISITOR:])
            rows[i] = (
                *row[:_TIMESTAMP],
                dt.datetime.fromisoformat(row[_TIMESTAMP]).replace(tzinfo=None),
                *row[_TIMESTAMP + 1 :],
            )
        return int(entry["s"]), rows
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def _last_seq(path: Path) -> int | None:
    last = None
    for seq, _ in read_segment(path):
        last = seq
    return last


def read_segment(path: Path) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
    """The entries of one segment, stopping at the first torn or corrupt line."""
    with path.open("rb") as handle:
        for line in handle:
            parsed = _parse(line)
            if parsed is None:
                log.warning("journal %s ends in an incomplete entry; ignoring it", path.name)
                return
            yield parsed


def pending_entries(directory: Path, after_seq: int) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
    """Every journal entry with a sequence number above `after_seq`, oldest first."""
    if not directory.exists():
        return
    for path in sorted(directory.glob("*.log")):
        for seq, rows in read_segment(path):
            if seq > after_seq:
                yield seq, rows
