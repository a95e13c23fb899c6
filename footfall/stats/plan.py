"""The planner: which table answers which metric, following Plausible's table decider.

A query becomes one or more `Part`s, each answered by one table and joined on the dimensions
afterwards. Plausible's rules (`table_decider.ex`) decide; footfall adds one shortcut: without
any event-level filter or dimension, visitors and visits come from the sessions table even when
pageviews come from events — a session is active in a range exactly when it has an event in it,
so the figures are the same and the sessions table is a third the size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from footfall.stats.model import (
    EVENT_ONLY_METRICS,
    SESSION_ONLY_DIMENSIONS,
    SESSION_ONLY_METRICS,
    TIME_DIMENSIONS,
    Condition,
    Filter,
    Query,
    iter_conditions,
)
from footfall.stats.sql.scope import Table

ENGAGEMENT_METRICS = frozenset({"time_on_page", "scroll_depth"})
# Metrics derived after the parts are merged.
DERIVED_METRICS = frozenset({"conversion_rate", "group_conversion_rate", "percentage"})
# Breakdowns an `event:hostname` filter also narrows to the session's entry or exit hostname,
# so that no source or entry page is shown from a visit that landed on another hostname.
_HOSTNAME_OF_VISIT: dict[str, str] = {
    "visit:source": "visit:entry_page_hostname",
    "visit:referrer": "visit:entry_page_hostname",
    "visit:entry_page": "visit:entry_page_hostname",
    "visit:utm_medium": "visit:entry_page_hostname",
    "visit:utm_source": "visit:entry_page_hostname",
    "visit:utm_campaign": "visit:entry_page_hostname",
    "visit:utm_content": "visit:entry_page_hostname",
    "visit:utm_term": "visit:entry_page_hostname",
    "visit:exit_page": "visit:exit_page_hostname",
}


@dataclass(frozen=True, slots=True)
class Part:
    """One SQL query of a plan: `metrics` from `table`, grouped by `dimensions`."""

    table: Table
    metrics: tuple[str, ...]
    filters: tuple[Filter, ...]
    dimensions: tuple[str, ...]


def is_goal_or_prop(node: Filter) -> bool:
    """True for a top-level goal or custom-property condition (conversion rates drop them)."""
    return isinstance(node, Condition) and (
        node.dimension == "event:goal" or node.dimension.startswith("event:props:")
    )


def base_metrics(query: Query) -> tuple[str, ...]:
    """The stored metrics a query needs, derived ones replaced by what they are made of."""
    needed: list[str] = []
    for metric in query.metrics:
        if metric in DERIVED_METRICS:
            needed.append("visitors")
        else:
            needed.append(metric)
    return tuple(dict.fromkeys(needed))


def extend_hostname_filters(query: Query) -> Query:
    """`query` with each top-level `event:hostname` filter repeated on the visit's hostname.

    Plausible's query optimizer (`extend_hostname_filters_to_visit`) does this before it splits
    a query between tables, so the added filters also count when choosing tables and in the
    totals of `percentage` and `conversion_rate`.
    """
    hostname = [
        f for f in query.filters if isinstance(f, Condition) and f.dimension == "event:hostname"
    ]
    targets = dict.fromkeys(
        _HOSTNAME_OF_VISIT[d] for d in query.dimensions if d in _HOSTNAME_OF_VISIT
    )
    if not hostname or not targets:
        return query
    extra = tuple(replace(f, dimension=target) for target in targets for f in hostname)
    return replace(query, filters=query.filters + extra)


def _has_event_filter(filters: tuple[Filter, ...]) -> bool:
    return any(c.dimension.startswith("event:") for c in iter_conditions(filters))


def _has_session_only(filters: tuple[Filter, ...], dimensions: tuple[str, ...]) -> bool:
    return any(c.dimension in SESSION_ONLY_DIMENSIONS for c in iter_conditions(filters)) or any(
        d in SESSION_ONLY_DIMENSIONS for d in dimensions
    )


def plan(query: Query, metrics: tuple[str, ...] | None = None) -> list[Part]:
    """Splits a query's metrics between the events, sessions and engagement tables."""
    wanted = metrics if metrics is not None else base_metrics(query)
    dims = query.dimensions
    filters = query.filters
    plain_dims = tuple(d for d in dims if d not in TIME_DIMENSIONS)
    event_dims = any(d.startswith("event:") for d in plain_dims)
    event_level = event_dims or _has_event_filter(filters)
    event_only = set(EVENT_ONLY_METRICS - ENGAGEMENT_METRICS)
    if query.legacy and plain_dims:
        # v1 breakdowns count pageviews and events from either table (Plausible's
        # legacy_breakdown), so they follow the visit metrics.
        event_only -= {"pageviews", "events"}
    engagement = tuple(m for m in wanted if m in ENGAGEMENT_METRICS)
    rest = [m for m in wanted if m not in ENGAGEMENT_METRICS]
    wants_event_only = [m for m in rest if m in event_only]
    wants_session_only = [m for m in rest if m in SESSION_ONLY_METRICS]
    either = [m for m in rest if m not in event_only and m not in SESSION_ONLY_METRICS]
    parts: list[Part] = []

    def add(table: Table, names: list[str] | tuple[str, ...]) -> None:
        if names:
            parts.append(Part(table, tuple(names), filters, dims))

    if not wants_event_only and not event_level:
        add("sessions", rest)
    elif not wants_session_only and not _has_session_only(filters, dims):
        add("events", rest)
    elif not wants_event_only and not event_dims and not (either and wants_session_only):
        # One kind only: session metrics, or "either" metrics next to session-only filters.
        # Never by an event dimension: sessions hold no event name, goal or custom property,
        # and only the entry page (Plausible's table decider leaves those to events).
        add("sessions", rest)
    elif not wants_session_only and not either:
        add("events", rest)
    elif not event_level:
        add("events", wants_event_only)
        add("sessions", either + wants_session_only)
    else:
        add("events", wants_event_only + either)
        add("sessions", wants_session_only)
    add("engagement", engagement)
    return parts
