"""A query's shape: what was asked, without the values, for slow-query monitoring.

Two queries with the same shape differ only in site, dates and filter values, so the shape
names a kind of question an operator can reproduce and optimise, and it shows nothing a
visitor typed (page paths, property values) nor which site asked.
"""

from __future__ import annotations

import re

from footfall.stats.model import Query, iter_conditions

_CUSTOM_PROP = re.compile(r"^(event|visit):props:.+$")


def _generic(dimension: str) -> str:
    """A custom property's name is site data: shown as ``event:props:*``."""
    return _CUSTOM_PROP.sub(r"\1:props:*", dimension)


def _span(query: Query) -> str:
    seconds = (query.end - query.start).total_seconds()
    if seconds < 2 * 3600:
        return f"{max(1, round(seconds / 60))}min"
    if seconds < 2 * 86400:
        return f"{round(seconds / 3600)}h"
    return f"{round(seconds / 86400)}d"


def query_shape(query: Query) -> str:
    """``metrics=...; dimensions=...; filters=...; range=...`` for `query`, values left out.

    Example: ``metrics=visitors,pageviews; dimensions=event:page; filters=visit:source is;
    range=30d``.
    """
    parts = [f"metrics={','.join(query.metrics)}"]
    if query.dimensions:
        parts.append(f"dimensions={','.join(_generic(d) for d in query.dimensions)}")
    conditions = iter_conditions(query.filters)
    if conditions:
        names = sorted({f"{_generic(c.dimension)} {c.op}" for c in conditions})
        parts.append(f"filters={', '.join(names)}")
    parts.append(f"range={_span(query)}")
    return "; ".join(parts)
