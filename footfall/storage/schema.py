"""The shape of stored events and sessions, shared by the ingest core and every event store.

Plausible's ClickHouse schema (`events_v2`, `sessions_v2`) is the model: visit attributes are
taken from a session's first event and copied onto every event of that session, so that the Stats
API can answer visit filters from either table without a join.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

# Visit attributes, in stored order. Empty string means "not set" (0 for city).
VISIT_COLUMNS: tuple[str, ...] = (
    "referrer",
    "referrer_source",
    "channel",
    "utm_medium",
    "utm_source",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "click_id_param",
    "country",
    "region",
    "city",
    "device",
    "browser",
    "browser_version",
    "os",
    "os_version",
)

EVENT_COLUMNS: tuple[str, ...] = (
    "site_id",
    "timestamp",
    "name",
    "hostname",
    "pathname",
    "visitor_id",
    # Not in Plausible's schema: a dense number per (site_id, visitor_id), see
    # docs/adr/0007-dense-visitor-numbers.md.
    "visitor",
    "session_id",
    "props_keys",
    "props_values",
    "scroll_depth",
    "engagement_time",
    # Not in Plausible's schema: kept so sessions (bounces) can be rebuilt from events alone.
    "interactive",
    *VISIT_COLUMNS,
)

SESSION_COLUMNS: tuple[str, ...] = (
    "site_id",
    "session_id",
    "visitor_id",
    "visitor",
    "start",
    "timestamp",
    "duration",
    "pageviews",
    "events",
    "is_bounce",
    "entry_page",
    "exit_page",
    "hostname",
    "exit_hostname",
    "entry_props_keys",
    "entry_props_values",
    *VISIT_COLUMNS,
)

# Plausible stores 255 for "no scroll depth measured".
NO_SCROLL_DEPTH = 255

_STRINGS = pa.list_(pa.string())
_VISIT_TYPES: dict[str, pa.DataType] = {
    name: pa.uint32() if name == "city" else pa.string() for name in VISIT_COLUMNS
}

# The Arrow type of every stored column: what the writer, bulk import and every backend share.
EVENT_TYPES: dict[str, pa.DataType] = {
    "site_id": pa.uint32(),
    "timestamp": pa.timestamp("us"),
    "name": pa.string(),
    "hostname": pa.string(),
    "pathname": pa.string(),
    "visitor_id": pa.uint64(),
    "visitor": pa.uint32(),
    "session_id": pa.uint64(),
    "props_keys": _STRINGS,
    "props_values": _STRINGS,
    "scroll_depth": pa.uint8(),
    "engagement_time": pa.uint32(),
    "interactive": pa.bool_(),
    **_VISIT_TYPES,
}
SESSION_TYPES: dict[str, pa.DataType] = {
    "site_id": pa.uint32(),
    "session_id": pa.uint64(),
    "visitor_id": pa.uint64(),
    "visitor": pa.uint32(),
    "start": pa.timestamp("us"),
    "timestamp": pa.timestamp("us"),
    "duration": pa.uint32(),
    "pageviews": pa.uint32(),
    "events": pa.uint32(),
    "is_bounce": pa.bool_(),
    "entry_page": pa.string(),
    "exit_page": pa.string(),
    "hostname": pa.string(),
    "exit_hostname": pa.string(),
    "entry_props_keys": _STRINGS,
    "entry_props_values": _STRINGS,
    **_VISIT_TYPES,
}
if tuple(EVENT_TYPES) != EVENT_COLUMNS or tuple(SESSION_TYPES) != SESSION_COLUMNS:
    raise ImportError("the column lists and their Arrow types disagree")

EVENT_SCHEMA = pa.schema(list(EVENT_TYPES.items()))
SESSION_SCHEMA = pa.schema(list(SESSION_TYPES.items()))

# Session columns a later event can change; the visit attributes are fixed at the start.
MUTABLE_SESSION_COLUMNS = SESSION_COLUMNS[
    SESSION_COLUMNS.index("timestamp") : SESSION_COLUMNS.index("exit_hostname") + 1
]
# A session update only ships what can change, plus the keys to find the row.
UPDATE_COLUMNS = ("session_id", "start", *MUTABLE_SESSION_COLUMNS)
UPDATE_INDEXES = tuple(SESSION_COLUMNS.index(c) for c in UPDATE_COLUMNS)
UPDATE_SCHEMA = pa.schema([(c, SESSION_TYPES[c]) for c in UPDATE_COLUMNS])


def rows_to_table(rows: Sequence[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    """Builds an Arrow table from row tuples in the schema's column order."""
    if not rows:
        return schema.empty_table()
    columns = list(zip(*rows, strict=True))
    return pa.Table.from_arrays(
        [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)],
        schema=schema,
    )
