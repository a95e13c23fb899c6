"""Batch ids when several footfall processes write to one ClickHouse, each from its own journal.

Every insert carries a batch id (its deduplication token is made from it, and a retried insert
is recognised by it). A single process numbers batches as before: its journal entries are
batch ids 1, 2, 3 …, and its own writes (imports, session rows) count up from ``2^62``. Each
worker of a cluster has a journal *stream*, a number the journal directory keeps: its entries
are the batch ids ``stream · 2^40 + seq`` and its own writes count up from
``2^62 + stream · 2^40``. Streams never share a batch id, so no insert of one worker is taken
for a retry of another's, and each worker finds its own journal position in the shared tables.
Stream 0 is the single process's, so a store written before streams existed reads the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from footfall.storage.base import SessionRow
from footfall.storage.schema import SESSION_SCHEMA, rows_to_table

# Journal entries one stream may number (a thousand billion group commits).
STREAM_SPAN = 1 << 40
# Batch ids at or above this are the processes' own (imports, session rows, writes without a
# journal entry); below it, a batch id is a journal entry of some stream.
OWN_BATCHES = 1 << 62
# Streams that fit: their own batch ids must stay below 2^64.
MAX_STREAMS = 1 << 21


def check_stream(stream: int) -> int:
    """The stream number, checked to fit the batch-id layout.

    Raises:
        ValueError: It is negative or too large.
    """
    if not 0 <= stream < MAX_STREAMS:
        raise ValueError(f"journal stream {stream} is outside 0 to {MAX_STREAMS - 1}")
    return stream


def journal_range(stream: int) -> tuple[int, int]:
    """[first, end) of the batch ids of a stream's journal entries (entry n is first + n)."""
    first = stream * STREAM_SPAN
    return first, first + STREAM_SPAN


def own_range(stream: int) -> tuple[int, int]:
    """[first, end) of the batch ids a stream's process gives its own writes."""
    first = OWN_BATCHES + stream * STREAM_SPAN
    return first, first + STREAM_SPAN


def info_key(key: str, stream: int) -> str:
    """The `store_info` key of a per-stream fact (stream 0 keeps the plain key)."""
    return key if stream == 0 else f"{key}:{stream}"


def versioned_table(rows: Sequence[tuple[int, int, SessionRow]], batch: int) -> pa.Table:
    """(sign, version, row) session rows as the Arrow table of one insert into `sessions`."""
    table = rows_to_table([row for *_, row in rows], SESSION_SCHEMA)
    table = table.append_column("sign", pa.array([r[0] for r in rows], pa.int8()))
    table = table.append_column("version", pa.array([r[1] for r in rows], pa.uint32()))
    return table.append_column("batch", pa.array([batch] * len(rows), pa.uint64()))
