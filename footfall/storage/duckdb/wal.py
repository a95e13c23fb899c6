"""Opening the DuckDB file, and recovering when its write-ahead log cannot be replayed.

DuckDB replays `<file>.wal` when it opens the database and refuses to open at all when a WAL
entry fails its checksum. Everything such a log held is also in footfall's ingest journal: the
writer deletes journal segments only after a checkpoint has folded their events into the
database file, imports and site deletions checkpoint before they report success, and sessions
are rebuilt from their events. So a log that fails to replay is renamed with a timestamp (kept
for forensics) and the database file is opened as of its last checkpoint; the journal replay
then brings back every event the store lacks. A read-only open never moves files: it fails
with a one-line message instead, as does an open whose database file is unreadable even
without its log (the log is then put back where it was).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import duckdb

from footfall.errors import StoreBusyError, StoreError

log = logging.getLogger(__name__)

RECOVERY_STEPS = 'see "The event store will not open" in docs/troubleshooting.md'
# DuckDB names the log it failed on, whatever the failure (checksum, decoding, IO).
_REPLAY_FAILURE = re.compile(r'Failure while replaying WAL file "(?P<path>[^"]+)"')
# A database with more logs than this is not one footfall wrote.
_MAX_SET_ASIDE = 3
_LOCK_HOLDER = re.compile(r"\(PID (\d+)\)")


def connect(path: Path, *, read_only: bool, threads: int) -> tuple[duckdb.DuckDBPyConnection, bool]:
    """Opens the DuckDB file, setting aside a write-ahead log that fails to replay.

    Args:
        path: The database file.
        read_only: Open for reading only; a log that fails to replay is then an error.
        threads: DuckDB's thread pool size.

    Returns:
        The connection, and whether a log was set aside (the store then lacks what it held
        until the journal replay restores it).

    Raises:
        StoreBusyError: Another process holds the file.
        StoreError: It cannot be opened; the one-line message names the file and, where
            the store needs an operator, points to the recovery steps.
    """
    moved: list[tuple[Path, Path, str]] = []
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only, config={"threads": threads})
        except duckdb.Error as exc:
            failed = _failed_log(exc)
            if (
                failed is None
                or read_only
                or len(moved) == _MAX_SET_ASIDE
                or any(failed == original for original, _, _ in moved)
                or not failed.is_file()
            ):
                _put_back(moved)
                raise _open_error(
                    path, exc, failed, read_only=read_only, moved=bool(moved)
                ) from exc
            try:
                aside = _set_aside(failed)
            except OSError as err:
                _put_back(moved)
                raise StoreError(
                    f"cannot open the event store {path}: its write-ahead log {failed} cannot "
                    f"be replayed ({_reason(exc)}) nor moved aside ({err}); {RECOVERY_STEPS}"
                ) from exc
            moved.append((failed, aside, _reason(exc)))
            continue
        # Said only now: when the file does not open either, the logs are put back instead.
        for original, aside, reason in moved:
            log.warning(
                "the event store's write-ahead log %s cannot be replayed (%s); moved it to %s "
                "and opened %s as of its last checkpoint: the ingest journal restores the "
                "events applied since",
                original,
                reason,
                aside.name,
                path.name,
            )
        return con, bool(moved)


def _failed_log(exc: duckdb.Error) -> Path | None:
    found = _REPLAY_FAILURE.search(str(exc))
    return Path(found["path"]) if found else None


def _reason(exc: duckdb.Error) -> str:
    """DuckDB's words after the log's name: what failed, and at which byte."""
    text = " ".join(str(exc).split())
    found = _REPLAY_FAILURE.search(text)
    return text[found.end() :].lstrip(": ") if found else text


def _set_aside(wal: Path) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = wal.with_name(f"{wal.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = wal.with_name(f"{wal.name}.corrupt-{stamp}-{n}")
    wal.rename(aside)
    return aside


def _put_back(moved: list[tuple[Path, Path, str]]) -> None:
    """Undoes the renames, newest first, so that the operator finds the files as they were."""
    for original, aside, _ in reversed(moved):
        try:
            aside.rename(original)
        except OSError as exc:  # the one-line error that follows matters more
            log.error("cannot move %s back to %s: %s", aside, original, exc)


def _open_error(
    path: Path, exc: duckdb.Error, failed: Path | None, *, read_only: bool, moved: bool
) -> StoreError:
    text = " ".join(str(exc).split())
    if moved:
        return StoreError(
            f"cannot recover the event store {path}: its write-ahead log is corrupt and the "
            f"database file does not open without it either ({_reason(exc)}); {RECOVERY_STEPS}"
        )
    if failed is not None and read_only:
        return StoreError(
            f"the event store {path} has a write-ahead log that cannot be replayed ({failed}); "
            f"open it for writing once (footfall serve) to recover it, {RECOVERY_STEPS}"
        )
    if failed is not None:
        return StoreError(
            f"cannot open the event store {path}: its write-ahead log {failed} cannot be "
            f"replayed ({_reason(exc)}); {RECOVERY_STEPS}"
        )
    if isinstance(exc, duckdb.IOException) and "lock" in text.lower():
        # DuckDB names the process holding the lock: "... (PID 1234)".
        holder = _LOCK_HOLDER.search(text)
        who = f" (PID {holder.group(1)})" if holder else ""
        return StoreBusyError(
            f"the event store {path} is in use by another footfall process{who} "
            "(stop the server, or send the data to its HTTP API instead)"
        )
    return StoreError(f"cannot open the event store {path}: {text}; {RECOVERY_STEPS}")
