"""Parquet import files: the import line's fields as columns, read back as lines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from footfall.ingest.bulk.lines import RAW_SCHEMA
from footfall.ingest.bulk.parquet import is_parquet, read_import_blocks, read_parquet_blocks


def test_columns_of_any_type_become_the_fields_of_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    table = pa.table(
        {
            # A timestamp without a zone is read as UTC; fractions of a second are dropped.
            "timestamp": pa.array(
                [dt.datetime(2026, 11, 2, 10, 0, 5, 500), dt.datetime(2026, 11, 2, 10, 1)],
                pa.timestamp("us"),
            ),
            "name": ["pageview", "Signup"],
            "url": ["https://example.com/", "https://example.com/join"],
            "visitor_id": pa.array([7, 8], pa.uint64()),
            "interactive": [None, False],
            "props": [None, '{"plan": "pro", "nested": {"x": 1}}'],
            "something_else": [1, 2],
        }
    )
    pq.write_table(table, path, row_group_size=1)
    assert is_parquet(path)
    blocks = list(read_parquet_blocks(path, batch_rows=1))
    assert len(blocks) == 2 and all(block.fast for block in blocks)
    lines = pa.concat_tables([block.parsed.table for block in blocks])
    assert lines.schema == RAW_SCHEMA
    assert lines["line"].to_pylist() == [1, 2]
    assert lines["timestamp"].to_pylist() == ["2026-11-02T10:00:05Z", "2026-11-02T10:01:00Z"]
    assert lines["visitor_id"].to_pylist() == ["7", "8"]
    assert lines["ip"].to_pylist() == [None, None]  # an absent column is an absent field
    assert lines["interactive"].to_pylist() == [None, False]
    assert lines["props"].to_pylist() == [None, '{"plan":"pro"}']


def test_ndjson_is_still_read_as_ndjson(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_text('{"timestamp":"2026-11-02T10:00:00Z","name":"pageview","url":"https://a.b/"}\n')
    assert not is_parquet(path)
    (block,) = list(read_import_blocks(path))
    assert block.parsed.table["name"].to_pylist() == ["pageview"]
