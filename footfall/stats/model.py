"""The stats engine's data: a parsed query, its filters, configured goals and the result.

Both API versions parse into the same `Query`; the planner and the SQL dialects only ever see
this, never request parameters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast, get_args

from footfall.errors import FootfallError

Op = Literal[
    "is",
    "is_not",
    "contains",
    "contains_not",
    "matches",
    "matches_not",
    "matches_wildcard",
    "matches_wildcard_not",
]
OPS: frozenset[str] = frozenset(get_args(Op))


def as_op(name: str) -> Op:
    """`name` as a filter operator (raises ValueError for anything else)."""
    if name not in OPS:
        raise ValueError(f"unknown filter operator {name!r}")
    return cast(Op, name)


Granularity = Literal["hour", "day", "week", "month"]
TIME_DIMENSIONS: dict[str, Granularity] = {
    "time:hour": "hour",
    "time:day": "day",
    "time:week": "week",
    "time:month": "month",
}

# Metric names, as Plausible spells them.
EVENT_ONLY_METRICS = frozenset({"pageviews", "events", "time_on_page", "scroll_depth"})
SESSION_ONLY_METRICS = frozenset({"bounce_rate", "visit_duration", "views_per_visit"})
EITHER_METRICS = frozenset(
    {"visitors", "visits", "conversion_rate", "group_conversion_rate", "percentage"}
)
ALL_METRICS = EVENT_ONLY_METRICS | SESSION_ONLY_METRICS | EITHER_METRICS

# Properties that exist only on sessions (the events table has no entry/exit page).
SESSION_ONLY_DIMENSIONS = frozenset(
    {
        "visit:entry_page",
        "visit:exit_page",
        "visit:entry_page_hostname",
        "visit:exit_page_hostname",
    }
)
UTM_DIMENSIONS = frozenset(
    {
        "visit:utm_medium",
        "visit:utm_source",
        "visit:utm_campaign",
        "visit:utm_content",
        "visit:utm_term",
    }
)
# The visit properties Stats API v1 knows (v2 adds the ones below).
V1_VISIT_DIMENSIONS = frozenset(
    {
        "visit:source",
        "visit:channel",
        "visit:referrer",
        *UTM_DIMENSIONS,
        "visit:device",
        "visit:browser",
        "visit:browser_version",
        "visit:os",
        "visit:os_version",
        "visit:country",
        "visit:region",
        "visit:city",
        "visit:entry_page",
        "visit:exit_page",
    }
)
VISIT_DIMENSIONS = V1_VISIT_DIMENSIONS | {
    "visit:screen",
    "visit:entry_page_hostname",
    "visit:exit_page_hostname",
}
EVENT_DIMENSIONS = frozenset({"event:page", "event:name", "event:goal", "event:hostname"})
PROPS_PREFIX = "event:props:"


def is_event_dimension(name: str) -> bool:
    """True for `event:*` properties (including custom props)."""
    return name.startswith("event:")


def is_valid_dimension(name: str) -> bool:
    """True for every non-time property the engine knows (custom props need a name)."""
    if name.startswith(PROPS_PREFIX):
        return len(name) > len(PROPS_PREFIX)
    return name in VISIT_DIMENSIONS or name in EVENT_DIMENSIONS


class StatsQueryError(FootfallError):
    """A query the API must refuse; `message` is sent verbatim with `status`."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class Condition:
    """One comparison: `op` applied to a property with one or more values (OR-ed)."""

    op: Op
    dimension: str
    values: tuple[str | int, ...]
    case_sensitive: bool = True


@dataclass(frozen=True, slots=True)
class And:
    """All children hold."""

    children: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one child holds."""

    children: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The child does not hold."""

    child: Filter


@dataclass(frozen=True, slots=True)
class HasDone:
    """Behavioural filter: the visit has (or has not) an event matching `child`."""

    child: Filter
    negated: bool = False


Filter = Condition | And | Or | Not | HasDone


def iter_conditions(filters: tuple[Filter, ...]) -> list[Condition]:
    """Every leaf condition of a filter tree, depth first."""
    out: list[Condition] = []
    stack: list[Filter] = list(reversed(filters))
    while stack:
        node = stack.pop()
        if isinstance(node, Condition):
            out.append(node)
        elif isinstance(node, And | Or):
            stack.extend(reversed(node.children))
        else:
            stack.append(node.child)
    return out


class Goal(Protocol):
    """A configured conversion: a custom event name, or a pageview of a path (may hold `*`).

    The metadata store's goal records (`footfall.meta.goals.Goal`) have this shape; the engine
    only reads them, and they must be hashable and have a stable repr (it is part of cache keys).
    """

    @property
    def id(self) -> int:
        """The goal's id."""
        ...

    @property
    def display_name(self) -> str:
        """The name reports show and goal filters match."""
        ...

    @property
    def event_name(self) -> str | None:
        """The custom event it counts, or None for a page goal."""
        ...

    @property
    def page_path(self) -> str | None:
        """The page path (may hold `*`) it counts, or None for an event goal."""
        ...

    @property
    def custom_props(self) -> tuple[tuple[str, str], ...]:
        """Property values the event must carry."""
        ...


@dataclass(frozen=True, slots=True)
class Query:
    """A fully validated question about one site's traffic.

    Times are naive UTC and inclusive at both ends; buckets and labels use `timezone`.
    """

    site_id: int
    timezone: str
    start: dt.datetime
    end: dt.datetime
    metrics: tuple[str, ...]
    filters: tuple[Filter, ...] = ()
    dimensions: tuple[str, ...] = ()
    # None: time dimension ascending (if any), then the first metric descending.
    order_by: tuple[tuple[str, Literal["asc", "desc"]], ...] | None = None
    limit: int | None = None
    offset: int = 0
    goals: tuple[Goal, ...] = ()
    # v1 semantics: per-group conversion rate in non-goal breakdowns, session-table pageviews
    # in legacy breakdowns, and rows with blank values dropped for some properties.
    legacy: bool = False
    include_total_rows: bool = False
    # Fill every bucket of the range for a time dimension (v1 timeseries, v2 time_labels).
    fill_time_buckets: bool = False


@dataclass(slots=True)
class QueryResult:
    """Rows of (dimension values, metric values in `Query.metrics` order)."""

    rows: list[tuple[tuple[Any, ...], tuple[Any, ...]]]
    total_rows: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
