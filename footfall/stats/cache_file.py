"""Keeping the in-process query cache across a clean restart.

A restarted server used to meet every dashboard with an empty cache: each question ran on the
store again, and the first minute after a restart was the slowest of the day. A serving process
that stops cleanly now writes its cache's unexpired entries to `CACHE_FILE` in the data
directory, and the next one to open the store reads them back, once.

Only an exact copy is ever served. Cache keys carry the store's data version, which every
opening for writing bumps; the file names the version it was written at, and the entries are
taken back (under the new version) only when the store was closed cleanly and still held that
version when it was opened. An import, a deletion, a restore or a crash in between changes one
or the other, and the file is dropped unread. Whatever happens, the file is removed once read.

Format: a JSON header line, then for each entry a JSON line ``[key, expiry (wall clock),
length]`` followed by that many bytes of the cached value.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import orjson

from footfall.stats.cache import MemoryCache, QueryCache, key_data_version, with_data_version

log = logging.getLogger(__name__)

CACHE_FILE = "query-cache.bin"
_FORMAT = 1


class ClosingStore(Protocol):
    """What an event store tells of how it was left (`footfall.storage.base.EventReader`)."""

    was_closed_cleanly: bool
    opened_data_version: int

    def data_version(self) -> int:
        """The data version now."""
        ...


def take_back_cache(cache: QueryCache, data_dir: Path, store: ClosingStore) -> int:
    """Fills a serving process's new cache with what the last clean stop kept, if still exact.

    Returns:
        The number of entries taken back (none unless `cache` is in-process).
    """
    path = data_dir / CACHE_FILE
    if not isinstance(cache, MemoryCache):
        path.unlink(missing_ok=True)
        return 0
    taken = load_cache(
        cache,
        path,
        closed_at_version=store.opened_data_version if store.was_closed_cleanly else None,
        data_version=store.data_version(),
    )
    if taken:
        log.info("took back %d query cache entries from the last run", taken)
    return taken


def keep_cache(cache: QueryCache, data_dir: Path, store: ClosingStore) -> None:
    """Writes a stopping process's in-process cache for the next start, after a clean close."""
    if not isinstance(cache, MemoryCache):
        return
    try:
        save_cache(cache, data_dir / CACHE_FILE, data_version=store.data_version())
    except OSError as exc:  # a full disk costs the next start its warm cache, nothing more
        log.warning("the query cache could not be kept for the next start: %s", exc)


def save_cache(
    cache: MemoryCache, path: Path, *, data_version: int, now: Callable[[], float] = time.time
) -> int:
    """Writes the entries of `cache` keyed at `data_version` to `path` (atomically).

    Args:
        cache: The in-process cache of a server that is stopping.
        path: Where to write (a temporary file beside it is renamed over it).
        data_version: The store's data version, as it is now and in the entries' keys.
        now: Wall-clock seconds, to turn each entry's remaining lifetime into an expiry time.

    Returns:
        The number of entries written.
    """
    wall = now()
    # Entries of older versions are already unreachable: they are left behind.
    kept = [
        (key, wall + seconds_left, value)
        for key, seconds_left, value in cache.entries()
        if key_data_version(key) == data_version
    ]
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as handle:
        header = {"format": _FORMAT, "data_version": data_version, "entries": len(kept)}
        handle.write(orjson.dumps(header) + b"\n")
        for key, expires, value in kept:
            handle.write(orjson.dumps([key, expires, len(value)]) + b"\n")
            handle.write(value)
    temporary.replace(path)
    return len(kept)


def load_cache(
    cache: MemoryCache,
    path: Path,
    *,
    closed_at_version: int | None,
    data_version: int,
    now: Callable[[], float] = time.time,
) -> int:
    """Takes back what `save_cache` wrote, when the data has not changed since, then removes it.

    Args:
        cache: The new process's (empty) cache.
        path: The file `save_cache` wrote; absent is fine.
        closed_at_version: The data version the store held when it was opened, if the last
            process closed it cleanly; None when it did not (nothing is taken back).
        data_version: The version the entries are keyed under from now on.
        now: Wall-clock seconds, to drop entries that expired while the server was down.

    Returns:
        The number of entries taken back.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    except OSError as exc:
        log.warning("the query cache of the last run could not be read: %s", exc)
        return 0
    finally:
        path.unlink(missing_ok=True)
    try:
        entries = _entries(data, closed_at_version, now())
    except (ValueError, TypeError, KeyError) as exc:
        log.warning("the query cache of the last run is unreadable and was dropped: %s", exc)
        return 0
    for key, seconds_left, value in entries:
        cache.set(with_data_version(key, data_version), value, seconds_left)
    return len(entries)


def _entries(
    data: bytes, closed_at_version: int | None, wall: float
) -> list[tuple[str, float, bytes]]:
    """The unexpired entries of a file's bytes; none when it was written at another version."""
    end = data.index(b"\n")
    header: Any = orjson.loads(data[:end])
    if header.get("format") != _FORMAT:
        raise ValueError(f"format {header.get('format')!r} is not {_FORMAT}")
    if closed_at_version is None or header["data_version"] != closed_at_version:
        return []
    out: list[tuple[str, float, bytes]] = []
    position = end + 1
    for _ in range(int(header["entries"])):
        end = data.index(b"\n", position)
        key, expires, length = orjson.loads(data[position:end])
        value = data[end + 1 : end + 1 + int(length)]
        if len(value) != int(length):
            raise ValueError("the file ends inside an entry")
        position = end + 1 + int(length)
        if expires > wall:
            out.append((str(key), float(expires) - wall, value))
    return out
