"""The DuckDB dialect's expressions, run on a real DuckDB event store."""

from __future__ import annotations

from pathlib import Path

from footfall.stats.sql import dialect_for
from footfall.storage.duckdb.store import DuckDBEventStore
from tests.storage.rows import event


def test_bitmap_visitor_count_stays_exact_for_rows_outside_its_bounds(tmp_path: Path) -> None:
    """Bounds come from an earlier statement; visitors written after it must still count.

    Cache warming read the bounds, then new events arrived before the count ran, and DuckDB
    refused the count ("Value 121 is outside of provided min and max range (1 <-> 120)").
    """
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        store.write([event(visitor=v, session_id=v) for v in (1, 2, 3, 3, 7, 9, 12)], [], [])
        count = dialect_for("duckdb").distinct_visitors(("$1", "$2"))
        rows = store.query(f"SELECT {count} FROM events", [3, 8], timeout=10, tag="test")
        assert rows == [(6,)]
        # Every row outside: the bitmap part is empty, the rest still counts.
        rows = store.query(f"SELECT {count} FROM events", [100, 200], timeout=10, tag="test")
        assert rows == [(6,)]
    finally:
        store.close()
