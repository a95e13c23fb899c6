"""The ingest journal: an append-only, fsynced log in front of the event store.

Appending a few hundred bytes and one `fdatasync` costs far less than a DuckDB transaction, so
`POST /api/event` is acknowledged once its event is in the journal; a second thread moves
events into DuckDB in large batches and records, in the same transaction, the sequence number
it applied up to. After a crash the entries past that number are replayed.

Format: one line per group commit in numbered segment files: the CRC32 of the rest of the line
as eight lower-case hex digits, a space, then ``{"s": seq, "e": [row, ...]}`` encoded with
orjson and its newline (the checksum covers the newline, so a line cut short never passes).
Lines written before checksums existed start with the ``{`` of their JSON and are read as they
are. A line that fails its checksum is skipped, counted and logged, and the lines after it are
kept; a torn last line (the process died mid-write, before the fsync that would have
acknowledged it) is ignored.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import os
import threading
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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
# "xxxxxxxx " ahead of the JSON of a checksummed line.
_HEADER = 9
# Where an entry's JSON starts; searched for inside a corrupt line, whose newline may be gone.
_ENTRY_START = b' {"s":'

Entry = tuple[int, list[tuple[Any, ...]]]


@dataclass
class ReplayCounts:
    """What a replay found (the problems are exposed as metrics)."""

    # Entries past the store's position, replayed into it (their sessions need rebuilding).
    entries: int = 0
    # Lines that failed their checksum (or did not parse) and may have held unapplied events.
    corrupt_lines: int = 0
    # Entry numbers past the store's position that no line holds, corrupt lines aside.
    missing_entries: int = 0


def _segment_name(number: int) -> str:
    return f"{number:012d}.log"


def _header(payload: bytes) -> bytes:
    return b"%08x " % zlib.crc32(payload)


class Journal:
    """Numbered segment files under `directory`; only the event loop thread appends.

    The apply thread may call `drop_applied` while the event loop appends and rotates.

    Attributes:
        replay: What the replay before this process started found (filled by the caller).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        segments = self.segments()
        self._number = (int(segments[-1].stem) + 1) if segments else 1
        self._file = self._open_segment()
        self._seq = 0
        self.appended_bytes = 0
        self.replay = ReplayCounts()
        # Guards the open segment's number and the bookkeeping of closed segments between the
        # event loop (rotate) and the apply thread (drop_applied); appends never take it.
        self._lock = threading.Lock()
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
        seq = self._seq + 1
        # orjson appends the newline itself, and writev sends the checksum and the line in one
        # call: neither copies the line.
        payload = orjson.dumps({"s": seq, "e": rows}, option=_DUMP_OPTIONS)
        header = _header(payload)
        try:
            written = os.writev(self._file.fileno(), (header, payload))
            if written != len(header) + len(payload):
                raise OSError(errno.ENOSPC, f"short write to the journal ({written} bytes)")
            os.fdatasync(self._file.fileno())
        except OSError:
            # A partial line may now end this segment: later entries start in a fresh one, and
            # the number is used again (nothing with it was acknowledged), so that a gap in
            # the numbers always means lost lines.
            self.rotate()
            raise
        self._seq = seq
        size = len(header) + len(payload)
        self._size += size
        self.appended_bytes += size
        if self._size >= SEGMENT_BYTES:
            self.rotate()
        return seq

    def rotate(self) -> None:
        """Starts a new segment so that applied ones can be deleted whole."""
        with self._lock:
            self._closed_last[self.directory / _segment_name(self._number)] = self._seq
            self._file.close()
            self._number += 1
            self._file = self._open_segment()

    def drop_applied(self, through_seq: int, *, closed: bool = False) -> None:
        """Deletes segments whose entries are all applied (the open one only once `closed`).

        Call only once the entries up to `through_seq` are durable in the store without its
        own write-ahead log (after a checkpoint): the journal is what restores them if that
        log is lost.
        """
        with self._lock:
            current = self._number
            known = dict(self._closed_last)
        for path in self.segments():
            # A segment opened after `current` was read is newer still: keep it too.
            if int(path.stem) >= current and not closed:
                continue
            last = known.get(path)
            if last is None:
                last = _last_seq(path)
            if last is None or last <= through_seq:
                path.unlink(missing_ok=True)
                with self._lock:
                    self._closed_last.pop(path, None)

    def close(self) -> None:
        """Closes the open segment."""
        self._file.close()


def _parse(data: bytes | memoryview) -> Entry | None:
    try:
        entry = orjson.loads(data)
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


def _checked(data: bytes, start: int = 0) -> Entry | None:
    """The checksummed entry that starts at `start` of `data` and runs to its end, if valid."""
    body = memoryview(data)[start + _HEADER :]
    if data[start + _HEADER - 1 : start + _HEADER] != b" ":
        return None
    if data[start : start + _HEADER - 1] != b"%08x" % zlib.crc32(body):
        return None
    return _parse(body)


def _decode(line: bytes) -> Entry | None:
    if line.startswith(b"{"):  # written before checksums: nothing to verify
        return _parse(line)
    return _checked(line)


def _resync(line: bytes) -> Entry | None:
    """A whole entry at the end of a corrupt line, when the corruption took a newline.

    The checksum makes a false match practically impossible (one in four billion).
    """
    at = line.find(_ENTRY_START, _HEADER - 1)
    while at != -1:
        found = _checked(line, at - (_HEADER - 1))
        if found is not None:
            return found
        at = line.find(_ENTRY_START, at + 1)
    return None


def _scan(path: Path) -> Iterator[tuple[int, Entry | None, bool]]:
    """(line number, entry or None when corrupt, whether the line is complete) per line."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            complete = line.endswith(b"\n")
            entry = _decode(line)
            if entry is None and complete:
                found = _resync(line)
                if found is not None:
                    yield number, None, True  # the corrupt start of the line
                    yield number, found, True
                    continue
            yield number, entry, complete or entry is not None


def _last_seq(path: Path) -> int | None:
    last = None
    for _, entry, _ in _scan(path):
        if entry is not None:
            last = entry[0]
    return last


def read_segment(path: Path) -> Iterator[Entry]:
    """The good entries of one segment, in order (corrupt lines and a torn tail left out)."""
    for _, entry, _ in _scan(path):
        if entry is not None:
            yield entry


def pending_entries(
    directory: Path, after_seq: int, *, counts: ReplayCounts | None = None
) -> Iterator[Entry]:
    """Every journal entry with a sequence number above `after_seq`, oldest first.

    A corrupt line is skipped and the entries after it are kept; unless the entries around it
    show that it was applied already, it is logged (segment and line number) and counted in
    `counts`. Numbers missing past `after_seq` without a corrupt line to explain them (segments
    deleted before their events were safe in the store) are logged and counted too. A torn
    last line is ignored with a warning.
    """
    if not directory.exists():
        return
    # Corrupt lines seen since the last good entry: (segment, line number).
    suspect: list[tuple[str, int]] = []
    last = after_seq  # the highest number known to be applied or replayed so far
    for path in sorted(directory.glob("*.log")):
        for number, entry, complete in _scan(path):
            if not complete:
                log.warning("journal %s ends in an incomplete entry; ignoring it", path.name)
            elif entry is None:
                suspect.append((path.name, number))
            else:
                seq, rows = entry
                # The numbers between `last` and `seq` belong to lines lost or never written.
                if seq - 1 > last:
                    _report(suspect, counts)
                    unexplained = seq - 1 - last - len(suspect)
                    if unexplained > 0:
                        _report_missing(last + 1, seq - 1, unexplained, counts)
                suspect.clear()
                last = max(last, seq)
                if seq > after_seq:
                    if counts is not None:
                        counts.entries += 1
                    yield seq, rows
    _report(suspect, counts)


def _report(lines: list[tuple[str, int]], counts: ReplayCounts | None) -> None:
    for name, number in lines:
        log.warning(
            "journal %s line %d is corrupt; skipping it (its events are lost) and replaying "
            "the entries after it",
            name,
            number,
        )
        if counts is not None:
            counts.corrupt_lines += 1


def _report_missing(first: int, through: int, count: int, counts: ReplayCounts | None) -> None:
    log.warning(
        "journal entries %d to %d are missing (%d not accounted for by corrupt lines); their "
        "events cannot be replayed",
        first,
        through,
        count,
    )
    if counts is not None:
        counts.missing_entries += count
