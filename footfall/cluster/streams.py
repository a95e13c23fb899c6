"""Journal streams: which worker's journal an insert into the shared event store came from.

Each worker journals in its own directory, and the event store tells the streams apart by a
number (`footfall.storage.clickhouse.streams`). The number is drawn once from a Redis counter,
so it is unique across machines, and kept in the directory's ``stream`` file: whichever
process replays that directory later (the worker restarted with the same index) continues the
same stream and finds its position in the store. A number the store already holds batches of
(Redis lost its counter) is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import redis

from footfall.errors import StoreError

STREAM_FILE = "stream"
STREAM_COUNTER = "footfall:seq:journal-stream"


def journal_stream(directory: Path, allocate: Callable[[], int]) -> int:
    """The stream of a journal directory, allocated and recorded the first time.

    Raises:
        StoreError: The file cannot be read or written, or allocating failed.
    """
    path = directory / STREAM_FILE
    try:
        return int(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read the journal stream in {path}: {exc}") from None
    stream = allocate()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        with partial.open("w", encoding="ascii") as handle:
            handle.write(f"{stream}\n")
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(path)
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StoreError(f"cannot record the journal stream in {path}: {exc}") from None
    return stream


def allocate_stream(client: redis.Redis, in_use: Callable[[int], bool]) -> int:
    """A new stream number from the Redis counter, skipping numbers the store has batches of.

    Raises:
        StoreError: Redis failed.
    """
    try:
        while True:
            stream = int(client.incr(STREAM_COUNTER))
            if not in_use(stream):
                return stream
    except redis.RedisError as exc:
        raise StoreError(f"allocating a journal stream (Redis) failed: {exc}") from None
