"""Result rows: the order Plausible answers them in, and their cached form."""

from __future__ import annotations

from typing import Any, Literal

import orjson

from footfall.stats.model import TIME_DIMENSIONS, Query, QueryResult

Row = tuple[tuple[Any, ...], dict[str, Any]]


def order_rows(query: Query, rows: list[Row]) -> list[Row]:
    """`rows` in the order the query asks for.

    Without `order_by`: time ascending, then the first metric descending, then the other
    dimensions ascending. Goals that tie keep the order they were configured in.
    """
    order = query.order_by
    if order is None:
        time_dims = [d for d in query.dimensions if d in TIME_DIMENSIONS]
        keys: list[tuple[str, Literal["asc", "desc"]]] = [(d, "asc") for d in time_dims]
        first = next((m for m in query.metrics if m != "time_on_page"), None)
        if first is not None and not (query.fill_time_buckets and time_dims):
            keys.append((first, "desc"))
        keys += [(d, "asc") for d in query.dimensions if d not in TIME_DIMENSIONS]
        order = tuple(keys)
    position = {dim: i for i, dim in enumerate(query.dimensions)}
    out = list(rows)
    if "event:goal" in position:
        # Goals that tie keep the order they were configured in.
        rank = {goal.display_name: i for i, goal in enumerate(query.goals)}
        at = position["event:goal"]
        out.sort(key=lambda row: rank.get(row[0][at], len(rank)))
    for key, direction in reversed(order or ()):
        if key in position:
            index = position[key]

            def by_dim(row: tuple[tuple[Any, ...], dict[str, Any]], i: int = index) -> Any:
                value = row[0][i]
                return (value is None, value if value is not None else 0)

            out.sort(key=by_dim, reverse=direction == "desc")
        else:

            def by_metric(row: tuple[tuple[Any, ...], dict[str, Any]], m: str = key) -> Any:
                value = row[1].get(m)
                return (value is not None, value if value is not None else 0)

            out.sort(key=by_metric, reverse=direction == "desc")
    return out


def encode_result(result: QueryResult) -> bytes:
    """`result` as the bytes the query cache keeps."""
    return orjson.dumps({"rows": result.rows, "total": result.total_rows, "meta": result.meta})


def decode_result(data: bytes) -> QueryResult:
    """The result `encode_result` made `data` from."""
    raw = orjson.loads(data)
    rows = [(tuple(dims), tuple(values)) for dims, values in raw["rows"]]
    return QueryResult(rows=rows, total_rows=raw["total"], meta=raw["meta"])
