"""Plausible Stats API v2 (``POST /api/v2/query``): JSON body → `Query`, result → JSON."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import orjson

from footfall.stats.intervals import auto_granularity
from footfall.stats.model import (
    PROPS_PREFIX,
    TIME_DIMENSIONS,
    And,
    Condition,
    Filter,
    Goal,
    HasDone,
    Not,
    Or,
    Query,
    QueryResult,
    StatsQueryError,
    as_op,
    is_valid_dimension,
    iter_conditions,
)
from footfall.stats.periods import iso_local, today_in, v2_date_range

V2_METRICS = frozenset(
    {
        "visitors",
        "visits",
        "pageviews",
        "views_per_visit",
        "bounce_rate",
        "visit_duration",
        "events",
        "percentage",
        "conversion_rate",
        "group_conversion_rate",
        "time_on_page",
        "scroll_depth",
    }
)
_COMPARISONS = frozenset({"is", "is_not", "contains", "contains_not", "matches", "matches_not"})
_WILDCARDS = frozenset({"matches_wildcard", "matches_wildcard_not"})
_BEHAVIOURAL = "Behavioral filters (has_done, has_not_done)"
_KEYS = frozenset(
    {
        "site_id",
        "metrics",
        "date_range",
        "dimensions",
        "filters",
        "order_by",
        "include",
        "pagination",
    }
)
_INCLUDE = frozenset({"imports", "time_labels", "total_rows", "trim_relative_date_range"})
_SESSION_METRICS = ("bounce_rate", "visit_duration", "views_per_visit", "visits")
_GOAL_DOCS = "https://plausible.io/docs/stats-api#filtering-by-goals"
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
# How deep `and`/`or`/`not`/`has_done` may nest; Plausible's own tests stop at a few levels.
MAX_FILTER_DEPTH = 16
# An error message quotes at most this much of the offending filter.
_MAX_SHOWN_CHARS = 1000


def _dumps(value: Any) -> str:
    try:
        text = orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # nested past what the encoder follows
        return "(too deeply nested to show)"
    return text if len(text) <= _MAX_SHOWN_CHARS else text[:_MAX_SHOWN_CHARS] + "…"


def _valid_filter_dimension(name: str) -> bool:
    return name == "event:goal" or is_valid_dimension(name)


def parse_filters(
    raw: list[Any],
    *,
    goals: tuple[Goal, ...],
    pointer: str = "#/filters",
    wildcards: bool = False,
) -> tuple[Filter, ...]:
    """Parses a v2 filter list; raises StatsQueryError naming the bad entry.

    Args:
        raw: The ``filters`` array.
        goals: The site's configured goals.
        pointer: The JSON pointer of the array, for messages.
        wildcards: Also accept ``matches_wildcard`` and ``matches_wildcard_not``, as Plausible's
            v1 endpoints do for JSON filters (`legacy_stats_api_filter_parser.ex` hands them to
            the same parser with the internal schema).
    """
    comparisons = _COMPARISONS | _WILDCARDS if wildcards else _COMPARISONS
    return tuple(
        _filter(item, f"{pointer}/{i}", top=True, comparisons=comparisons)
        for i, item in enumerate(raw)
    )


def _filter(
    item: Any,
    pointer: str,
    *,
    top: bool,
    comparisons: frozenset[str],
    behavioural: bool = False,
    depth: int = 0,
) -> Filter:
    """One filter of the tree at `pointer`.

    `top` is true where `event:goal` and `event:hostname` may be filtered: at the top level, and
    anywhere inside a behavioural filter, whose contents Plausible's top-level rule ignores
    (`query_builder.ex`, `validate_toplevel_only_filter_dimension`). `behavioural` is true
    inside `has_done` or `has_not_done`.
    """
    if depth > MAX_FILTER_DEPTH:
        # Refused before anything is built: a deep filter costs work at every level.
        raise StatsQueryError(
            f"{pointer}: Invalid filter: filters may be nested at most {MAX_FILTER_DEPTH} "
            "levels deep"
        )

    def bad() -> StatsQueryError:
        return StatsQueryError(f"{pointer}: Invalid filter {_dumps(item)}")

    def child(value: Any, at: str, *, inside: bool = behavioural) -> Filter:
        return _filter(
            value,
            at,
            top=inside,
            comparisons=comparisons,
            behavioural=inside,
            depth=depth + 1,
        )

    if not isinstance(item, list) or not item or not isinstance(item[0], str):
        raise bad()
    op = item[0]
    if op in ("and", "or"):
        if len(item) != 2 or not isinstance(item[1], list) or not item[1]:
            raise bad()
        children = tuple(child(c, f"{pointer}/1/{i}") for i, c in enumerate(item[1]))
        return And(children) if op == "and" else Or(children)
    if op == "not":
        if len(item) != 2:
            raise bad()
        return Not(child(item[1], f"{pointer}/1"))
    if op in ("has_done", "has_not_done"):
        if len(item) != 2:
            raise bad()
        if behavioural:
            raise StatsQueryError(f"Invalid filters. {_BEHAVIOURAL} cannot be nested.")
        inner = child(item[1], f"{pointer}/1", inside=True)
        # Plausible checks this after parsing (`query_builder.ex`,
        # `validate_behavioral_filters`): the visitors who did something are found by events.
        if any(not c.dimension.startswith("event:") for c in iter_conditions((inner,))):
            raise StatsQueryError(
                f"Invalid filters. {_BEHAVIOURAL} can only be used with event dimension filters."
            )
        return HasDone(inner, negated=op == "has_not_done")
    if op not in comparisons or len(item) not in (3, 4):
        raise bad()
    dimension, clauses = item[1], item[2]
    if not isinstance(dimension, str) or not _valid_filter_dimension(dimension):
        raise bad()
    if not isinstance(clauses, list) or not clauses:
        raise bad()
    expected: type = int if dimension == "visit:city" else str
    if any(not isinstance(c, expected) or isinstance(c, bool) for c in clauses):
        raise bad()
    case_sensitive = True
    if len(item) == 4:
        modifiers = item[3]
        if (
            not isinstance(modifiers, dict)
            or set(modifiers) - {"case_sensitive"}
            or not isinstance(modifiers.get("case_sensitive", True), bool)
        ):
            raise bad()
        case_sensitive = modifiers.get("case_sensitive", True)
        if not case_sensitive and op not in ("is", "contains", "is_not", "contains_not"):
            raise bad()
    if dimension in ("event:goal", "event:hostname") and not top:
        raise bad()
    if dimension == "event:goal" and op not in ("is", "contains"):
        raise bad()
    if (
        dimension == "visit:country"
        and op in ("is", "is_not")
        and any(not _COUNTRY.match(str(c)) for c in clauses)
    ):
        raise StatsQueryError(
            "Invalid visit:country filter, visit:country needs to be a valid 2-letter country code."
        )
    return Condition(as_op(op), dimension, tuple(clauses), case_sensitive)


class V2Request:
    """A parsed ``/api/v2/query`` body for one site."""

    def __init__(
        self,
        body: dict[str, Any],
        *,
        site_id: int,
        timezone: str,
        goals: tuple[Goal, ...],
        now: dt.datetime,
        first_data_day: dt.date | None,
    ) -> None:
        self.body = body
        self.site_id = site_id
        self.timezone = timezone
        self.goals = goals
        self.now = now
        self.first_data_day = first_data_day

    def query(self) -> Query:
        """Validates the body in schema order, then the semantic rules.

        Raises:
            StatsQueryError: The first problem found, in Plausible's wording.
        """
        body = self.body
        for key in body:
            if key not in _KEYS:
                raise StatsQueryError(f"#/{key}: Schema does not allow additional properties.")
        metrics = self._metrics(body.get("metrics"))
        if "date_range" not in body:
            raise StatsQueryError("#/date_range: Required property date_range was not present.")
        today = today_in(self.timezone, self.now)
        start, end = v2_date_range(
            body["date_range"], today=today, tz=self.timezone, first_data_day=self.first_data_day
        )
        dimensions = self._dimensions(body.get("dimensions", []), start, end)
        raw_filters = body.get("filters", [])
        if not isinstance(raw_filters, list):
            raise StatsQueryError(
                f"#/filters: Type mismatch. Expected Array but got {_type(raw_filters)}."
            )
        filters = parse_filters(raw_filters, goals=self.goals)
        include = self._include(body.get("include", {}))
        limit, offset = self._pagination(body.get("pagination", {}))
        order_by = self._order_by(body.get("order_by"), metrics, body.get("dimensions", []))
        if order_by is not None:
            # "time" in order_by means the time dimension it resolved to.
            resolved = next((d for d in dimensions if d in TIME_DIMENSIONS), "time")
            order_by = tuple((resolved if k == "time" else k, v) for k, v in order_by)
        self._semantics(metrics, dimensions, filters, include)
        return Query(
            site_id=self.site_id,
            timezone=self.timezone,
            start=start,
            end=end,
            metrics=metrics,
            filters=filters,
            dimensions=dimensions,
            order_by=order_by,
            limit=limit,
            offset=offset,
            goals=self.goals,
            include_total_rows=bool(include.get("total_rows")),
        )

    def _metrics(self, raw: Any) -> tuple[str, ...]:
        if raw is None:
            raise StatsQueryError("#/metrics: Required property metrics was not present.")
        if not isinstance(raw, list):
            raise StatsQueryError(f"#/metrics: Type mismatch. Expected Array but got {_type(raw)}.")
        if not raw:
            raise StatsQueryError("#/metrics: Expected a minimum of 1 items but got 0.")
        for i, metric in enumerate(raw):
            if not isinstance(metric, str) or metric not in V2_METRICS:
                raise StatsQueryError(f"#/metrics/{i}: Invalid metric {_dumps(metric)}")
        if len(set(raw)) != len(raw):
            raise StatsQueryError("#/metrics: Expected items to be unique but they were not.")
        return tuple(raw)

    def _dimensions(self, raw: Any, start: dt.datetime, end: dt.datetime) -> tuple[str, ...]:
        if not isinstance(raw, list):
            raise StatsQueryError(
                f"#/dimensions: Type mismatch. Expected Array but got {_type(raw)}."
            )
        out: list[str] = []
        for i, dim in enumerate(raw):
            if dim == "time":
                out.append(f"time:{auto_granularity(start, end)}")
            elif isinstance(dim, str) and (
                dim in TIME_DIMENSIONS
                or (is_valid_dimension(dim) and dim != "event:hostname")
                or dim == "event:hostname"
            ):
                out.append(dim)
            else:
                raise StatsQueryError(f"#/dimensions/{i}: Invalid dimension {_dumps(dim)}")
        if len(set(out)) != len(out):
            raise StatsQueryError("#/dimensions: Expected items to be unique but they were not.")
        if sum(1 for d in out if d in TIME_DIMENSIONS) > 1:
            raise StatsQueryError("Only one time dimension can be queried at a time.")
        return tuple(out)

    def _include(self, raw: Any) -> dict[str, bool]:
        if not isinstance(raw, dict):
            raise StatsQueryError(
                f"#/include: Type mismatch. Expected Object but got {_type(raw)}."
            )
        for key, value in raw.items():
            if key not in _INCLUDE:
                raise StatsQueryError(
                    f"#/include/{key}: Schema does not allow additional properties."
                )
            if not isinstance(value, bool):
                raise StatsQueryError(
                    f"#/include/{key}: Type mismatch. Expected Boolean but got {_type(value)}."
                )
        return dict(raw)

    def _pagination(self, raw: Any) -> tuple[int, int]:
        if not isinstance(raw, dict):
            raise StatsQueryError(
                f"#/pagination: Type mismatch. Expected Object but got {_type(raw)}."
            )
        limit = raw.get("limit", 10000)
        offset = raw.get("offset", 0)
        for key in raw:
            if key not in ("limit", "offset"):
                raise StatsQueryError(
                    f"#/pagination/{key}: Schema does not allow additional properties."
                )
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10000:
            raise StatsQueryError("#/pagination/limit: Expected an integer between 1 and 10000.")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise StatsQueryError("#/pagination/offset: Expected a non-negative integer.")
        return limit, offset

    def _order_by(
        self, raw: Any, metrics: tuple[str, ...], raw_dimensions: Any
    ) -> tuple[tuple[str, Any], ...] | None:
        if raw is None:
            return None
        if not isinstance(raw, list):
            raise StatsQueryError(
                f"#/order_by: Type mismatch. Expected Array but got {_type(raw)}."
            )
        out: list[tuple[str, Any]] = []
        dims = raw_dimensions if isinstance(raw_dimensions, list) else []
        for i, entry in enumerate(raw):
            if (
                not isinstance(entry, list)
                or len(entry) != 2
                or entry[1] not in ("asc", "desc")
                or not isinstance(entry[0], str)
            ):
                raise StatsQueryError(f"#/order_by/{i}: Invalid value in order_by {_dumps(entry)}")
            if entry[0] not in metrics and entry[0] not in dims:
                raise StatsQueryError(
                    f"Invalid order_by entry '{entry[0]}'. Entry is not a queried metric or "
                    "dimension."
                )
            out.append((entry[0], entry[1]))
        return tuple(out)

    def _semantics(
        self,
        metrics: tuple[str, ...],
        dimensions: tuple[str, ...],
        filters: tuple[Filter, ...],
        include: dict[str, bool],
    ) -> None:
        filtered = {c.dimension for c in iter_conditions(filters)}
        for cond in iter_conditions(filters):
            # Plausible checks only plain `is` goal filters (`query_builder.ex`,
            # `validate_filtered_goals_exist` matches three-element filters): one with
            # `{"case_sensitive": false}` selects whichever goals match and is not checked.
            if cond.dimension == "event:goal" and cond.op == "is" and cond.case_sensitive:
                names = {g.display_name for g in self.goals}
                for value in cond.values:
                    if value not in names:
                        raise StatsQueryError(
                            f"Invalid filters. The goal `{value}` is not configured for this "
                            f"site. Find out how to configure goals here: {_GOAL_DOCS}"
                        )
        for metric in metrics:
            if metric in ("conversion_rate", "group_conversion_rate") and not (
                "event:goal" in filtered or "event:goal" in dimensions
            ):
                raise StatsQueryError(
                    f"Metric `{metric}` can only be queried with event:goal filters or dimensions."
                )
            if metric in ("scroll_depth", "time_on_page") and not (
                "event:page" in filtered or "event:page" in dimensions
            ):
                raise StatsQueryError(
                    f"Metric `{metric}` can only be queried with event:page filters or dimensions."
                )
            if metric == "views_per_visit":
                if "event:page" in filtered:
                    raise StatsQueryError(
                        "Metric `views_per_visit` cannot be queried with a filter on `event:page`."
                    )
                if dimensions:
                    raise StatsQueryError(
                        "Metric `views_per_visit` cannot be queried with `dimensions`."
                    )
        event_dims = [
            d
            for d in dimensions
            if d.startswith("event:") and d not in ("event:page", "event:hostname")
        ]
        session = [m for m in metrics if m in _SESSION_METRICS and m != "visits"]
        if session and event_dims:
            raise StatsQueryError(
                f"Session metric(s) {', '.join(f'`{m}`' for m in session)} cannot be queried "
                f"along with event dimension(s) {', '.join(f'`{d}`' for d in event_dims)}"
            )
        if include.get("time_labels") and not any(d in TIME_DIMENSIONS for d in dimensions):
            raise StatsQueryError("Invalid include.time_labels: requires a time dimension.")
        self.include = include


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Number"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "Object"
    return "Null"


def response_json(request: V2Request, query: Query, result: QueryResult) -> dict[str, Any]:
    """The v2 answer: results, meta and the query as understood (Plausible's key order)."""
    body = request.body
    include = {k: v for k, v in request.include.items() if v}
    meta: dict[str, Any] = {}
    if include.get("time_labels"):
        meta["time_labels"] = result.meta.get("time_labels", [])
    if include.get("total_rows"):
        meta["total_rows"] = result.total_rows
    time_dims = [d for d in query.dimensions if d in TIME_DIMENSIONS]
    order = query.order_by or tuple([(d, "asc") for d in time_dims] + [(query.metrics[0], "desc")])
    raw_dims = body.get("dimensions", [])
    return {
        "results": [
            {"metrics": list(values), "dimensions": list(dims)} for dims, values in result.rows
        ],
        "meta": dict(sorted(meta.items())),
        "query": {
            "site_id": body.get("site_id"),
            "metrics": list(query.metrics),
            "date_range": [
                iso_local(query.start, query.timezone),
                iso_local(query.end, query.timezone),
            ],
            "filters": body.get("filters", []),
            "dimensions": raw_dims,
            "order_by": [[k, v] for k, v in order],
            "include": include,
            "pagination": {"offset": query.offset, "limit": query.limit},
        },
    }


def prop_key(dimension: str) -> str:
    """The custom property name of an ``event:props:<name>`` dimension."""
    return dimension[len(PROPS_PREFIX) :]
