"""The stored rows of an import, as Arrow tables in the event store's column order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from footfall.ingest.bulk.distinct import Texts
from footfall.ingest.bulk.visits import Column
from footfall.storage.schema import (
    EVENT_SCHEMA,
    NO_SCROLL_DEPTH,
    SESSION_SCHEMA,
    VISIT_COLUMNS,
)

Ints = npt.NDArray[np.int64]


def strings(values: Sequence[str], codes: Ints) -> pa.Array:
    """`values[code]` for every code, as a string array."""
    return pa.array(values, pa.string()).take(pa.array(codes, pa.int64()))


def timestamps(seconds: Ints) -> pa.Array:
    """Whole seconds since the epoch as the stored timestamp type (naive UTC)."""
    return pa.array(seconds * 1_000_000, pa.int64()).view(pa.timestamp("us"))


def visit_arrays(visits: dict[str, Column], sessions: Ints) -> list[pa.Array]:
    """The visit columns of rows belonging to `sessions` (indexes into the visit columns)."""
    arrays = []
    for name in VISIT_COLUMNS:
        if name == "city":
            arrays.append(pa.array(np.zeros(len(sessions), np.uint32)))
        elif name == "region":
            arrays.append(strings([""], np.zeros(len(sessions), np.int64)))
        else:
            column = visits[name]
            arrays.append(strings(column.values, column.codes[sessions]))
    return arrays


@dataclass(frozen=True, slots=True)
class SessionRows:
    """What the sessions table needs, one entry per session, in session-id order."""

    site_id: int
    first_id: int
    visitor_ids: npt.NDArray[np.uint64]
    visitors: npt.NDArray[np.uint32]
    starts: Ints
    lasts: Ints
    pageviews: Ints
    events: Ints
    bounces: npt.NDArray[np.bool_]
    entry_pages: Texts
    exit_pages: Texts
    hostnames: Texts
    exit_hostnames: Texts
    entry_props: tuple[pa.Array, pa.Array]
    visits: dict[str, Column]
    # Index of each session into `visits`.
    visit_rows: Ints


def session_table(rows: SessionRows) -> pa.Table:
    """The sessions in `footfall.storage.schema.SESSION_SCHEMA`."""
    count = len(rows.starts)
    columns = [
        pa.array(np.full(count, rows.site_id, np.uint32)),
        pa.array(rows.first_id + np.arange(count, dtype=np.uint64)),
        pa.array(rows.visitor_ids),
        pa.array(rows.visitors),
        timestamps(rows.starts),
        timestamps(rows.lasts),
        pa.array((rows.lasts - rows.starts).astype(np.uint32)),
        pa.array(rows.pageviews.astype(np.uint32)),
        pa.array(rows.events.astype(np.uint32)),
        pa.array(rows.bounces),
        *(
            strings(texts.values, texts.codes)
            for texts in (rows.entry_pages, rows.exit_pages, rows.hostnames, rows.exit_hostnames)
        ),
        *rows.entry_props,
        *visit_arrays(rows.visits, rows.visit_rows),
    ]
    return pa.Table.from_arrays(columns, schema=SESSION_SCHEMA)


@dataclass(frozen=True, slots=True)
class EventRows:
    """What the events table needs, one entry per event, in stored order."""

    site_id: int
    seconds: Ints
    names: Texts
    hostnames: Texts
    pathnames: Texts
    visitor_ids: npt.NDArray[np.uint64]
    visitors: npt.NDArray[np.uint32]
    session_ids: npt.NDArray[np.uint64]
    # Keys and values of each distinct props, and a code into them per event.
    props: tuple[pa.Array, pa.Array]
    props_codes: Ints
    interactive: npt.NDArray[np.bool_]
    visits: dict[str, Column]
    # Index of each event's session into `visits`.
    visit_rows: Ints


def event_batches(rows: EventRows, *, batch_rows: int = 1 << 17) -> pa.RecordBatchReader:
    """The events in `footfall.storage.schema.EVENT_SCHEMA`, a batch at a time.

    Each batch is built when the reader is asked for it: a consumer that writes as it reads
    never has all of the rows in memory.
    """
    count = len(rows.seconds)
    batches = (
        _event_batch(rows, slice(start, start + batch_rows))
        for start in range(0, count, batch_rows)
    )
    return pa.RecordBatchReader.from_batches(EVENT_SCHEMA, batches)


def _event_batch(rows: EventRows, part: slice) -> pa.RecordBatch:
    seconds = rows.seconds[part]
    count = len(seconds)
    keys, values = rows.props
    props = rows.props_codes[part]
    columns = [
        pa.array(np.full(count, rows.site_id, np.uint32)),
        timestamps(seconds),
        *(strings(t.values, t.codes[part]) for t in (rows.names, rows.hostnames, rows.pathnames)),
        pa.array(rows.visitor_ids[part]),
        pa.array(rows.visitors[part]),
        pa.array(rows.session_ids[part]),
        keys.take(pa.array(props)),
        values.take(pa.array(props)),
        pa.array(np.full(count, NO_SCROLL_DEPTH, np.uint8)),
        pa.array(np.zeros(count, np.uint32)),
        pa.array(rows.interactive[part]),
        *visit_arrays(rows.visits, rows.visit_rows[part]),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=EVENT_SCHEMA)
