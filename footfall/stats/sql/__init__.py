"""SQL for the stats engine: one `Dialect` per backend, the pieces every query shares, and parts.

Nothing here talks to a database: modules produce statement text with numbered ``$n``
placeholders and their values, which the event store (`footfall.storage.base.EventStore.query`)
runs. Only names defined in code (columns, functions) are written into the text.
"""

from __future__ import annotations

from footfall.stats.sql.clickhouse import ClickHouseDialect
from footfall.stats.sql.dialect import Dialect
from footfall.stats.sql.duckdb import DuckDBDialect

_DIALECTS: dict[str, type[Dialect]] = {"duckdb": DuckDBDialect, "clickhouse": ClickHouseDialect}


def dialect_for(backend: str) -> Dialect:
    """The dialect of an event-store backend by its name.

    Raises:
        ValueError: No dialect for that backend.
    """
    try:
        return _DIALECTS[backend]()
    except KeyError:
        raise ValueError(f"no SQL dialect for the event store backend {backend!r}") from None
