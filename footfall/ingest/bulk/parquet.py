"""Reading an import from a Parquet file, row group by row group, as import lines.

The fields are those of an NDJSON import line, as columns: ``timestamp`` (text, or a
timestamp, read as UTC when it has no zone), ``name``, ``url``, ``referrer``, ``user_agent``,
``ip``, ``visitor_id`` (text or numbers), ``interactive`` (boolean) and ``props`` (a JSON object
as text). Missing columns are absent fields. Row ``n`` of the file is reported as line ``n``
(counting from 1), so a rejected row is found as a rejected line is. ``footfall export
--format parquet`` writes such files.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from footfall.ingest.bulk.lines import RAW_SCHEMA, TEXT_FIELDS, Parsed, props_text
from footfall.ingest.bulk.reading import Block, read_blocks

MAGIC = b"PAR1"
_BATCH_ROWS = 262_144


def is_parquet(path: Path) -> bool:
    """Whether the file starts with Parquet's magic bytes (an NDJSON line never does)."""
    with path.open("rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def read_import_blocks(path: Path) -> Iterator[Block]:
    """The file's lines in blocks: NDJSON (`read_blocks`) or Parquet (`read_parquet_blocks`)."""
    return read_parquet_blocks(path) if is_parquet(path) else read_blocks(path)


def read_parquet_blocks(path: Path, *, batch_rows: int = _BATCH_ROWS) -> Iterator[Block]:
    """Reads a Parquet import file in batches of rows, as `RAW_SCHEMA` blocks."""
    source = pq.ParquetFile(path)
    wanted = [
        name for name in (*TEXT_FIELDS, "interactive", "props") if name in source.schema_arrow.names
    ]
    first = 1
    for batch in source.iter_batches(batch_size=batch_rows, columns=wanted):
        table = pa.Table.from_batches([batch])
        count = table.num_rows
        columns = [pa.array(range(first, first + count), pa.int64())]
        for name in TEXT_FIELDS:
            columns.append(_text(table, name, count))
        columns.append(_interactive(table, count))
        columns.append(_props(table, count))
        yield Block(Parsed(pa.Table.from_arrays(columns, schema=RAW_SCHEMA), [], count), True)
        first += count


def _text(table: pa.Table, name: str, count: int) -> pa.Array | pa.ChunkedArray:
    if name not in table.column_names:
        return pa.nulls(count, pa.string())
    column = table[name]
    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            column = pc.assume_timezone(column, "UTC")
        seconds = pc.cast(column, pa.timestamp("s", tz="UTC"), safe=False)
        return pc.strftime(seconds, "%Y-%m-%dT%H:%M:%SZ")
    if pa.types.is_string(column.type):
        return column
    return pc.cast(column, pa.string())


def _interactive(table: pa.Table, count: int) -> pa.Array | pa.ChunkedArray:
    if "interactive" in table.column_names and pa.types.is_boolean(table["interactive"].type):
        return table["interactive"]
    return pa.nulls(count, pa.bool_())


def _props(table: pa.Table, count: int) -> pa.Array:
    if "props" not in table.column_names or not pa.types.is_string(table["props"].type):
        return pa.nulls(count, pa.string())
    texts: list[str | None] = []
    for text in table["props"].to_pylist():
        if text is None:
            texts.append(None)
            continue
        try:
            texts.append(props_text(orjson.loads(text)))
        except orjson.JSONDecodeError:
            texts.append(props_text(text))
    return pa.array(texts, pa.string())
