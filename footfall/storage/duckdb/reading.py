"""Reading a long range of events in time order with bounded memory: windows of whole hours.

Sorting a range costs memory in proportion to its rows. So the range is cut into windows of
consecutive hours holding at most `WINDOW_ROWS` events each (an hour with more is a window of
its own), counted with one grouped scan; each window is then sorted and streamed alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import duckdb

# Events sorted at once: a few tens of MiB for DuckDB, whatever the history's length.
WINDOW_ROWS = 50_000


def windows(
    cur: duckdb.DuckDBPyConnection, site_id: int, start: dt.datetime, end: dt.datetime
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Consecutive ``[low, high)`` windows covering the site's events in ``[start, end)``."""
    hours = cur.execute(
        "SELECT date_trunc('hour', timestamp) AS hour, count(*) FROM events "
        "WHERE site_id = ? AND timestamp >= ? AND timestamp < ? GROUP BY 1 ORDER BY 1",
        [site_id, start, end],
    ).fetchall()
    low: dt.datetime | None = None
    rows = 0
    for hour, count in hours:
        if low is not None and rows + count > WINDOW_ROWS:
            yield max(low, start), hour
            low, rows = None, 0
        if low is None:
            low = hour
        rows += int(count)
    if low is not None:
        yield max(low, start), end
