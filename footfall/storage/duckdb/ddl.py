"""DuckDB DDL from the shared Arrow column types, and the thread count for the store."""

from __future__ import annotations

import os

import pyarrow as pa

# DuckDB's type for each Arrow type of the stored columns.
_SQL_TYPES: dict[pa.DataType, str] = {
    pa.uint8(): "UTINYINT",
    pa.uint32(): "UINTEGER",
    pa.uint64(): "UBIGINT",
    pa.timestamp("us"): "TIMESTAMP",
    pa.string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.list_(pa.string()): "VARCHAR[]",
}


def usable_cpus() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def ddl(table: str, types: dict[str, pa.DataType]) -> str:
    """The CREATE TABLE statement of a table with these columns, all NOT NULL."""
    columns = ",\n  ".join(f"{name} {_SQL_TYPES[arrow]} NOT NULL" for name, arrow in types.items())
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {columns}\n)"
