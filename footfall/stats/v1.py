"""Plausible Stats API v1: request parameters → `Query`, and results → v1 JSON.

Validation runs in Plausible's documented order per endpoint, with its exact messages.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import orjson

from footfall.stats.filters import parse_legacy_filters
from footfall.stats.intervals import dashboard_interval
from footfall.stats.model import (
    EVENT_DIMENSIONS,
    PROPS_PREFIX,
    V1_VISIT_DIMENSIONS,
    VISIT_DIMENSIONS,
    Condition,
    Filter,
    Goal,
    Query,
    QueryResult,
    StatsQueryError,
    iter_conditions,
)
from footfall.stats.periods import (
    DateRange,
    previous_period,
    today_in,
    utc_bounds,
    v1_date_range,
    v1_interval,
)
from footfall.stats.v2 import parse_filters as parse_v2_filters

V1_METRICS = (
    "visitors",
    "visits",
    "pageviews",
    "views_per_visit",
    "bounce_rate",
    "visit_duration",
    "events",
    "conversion_rate",
    "time_on_page",
)
V1_PROPERTIES = V1_VISIT_DIMENSIONS | EVENT_DIMENSIONS
# JSON-array filters go through the v2 parser, which also knows these.
_JSON_ONLY_FILTERS = VISIT_DIMENSIONS - V1_VISIT_DIMENSIONS
_SESSION_METRICS = ("visits", "bounce_rate", "visit_duration")
_DOCS = "https://plausible.io/docs/stats-api"


def _valid_property(name: str) -> bool:
    if name.startswith(PROPS_PREFIX):
        return len(name) > len(PROPS_PREFIX)
    return name in V1_PROPERTIES


class V1Request:
    """One parsed v1 request for a site, validated up to the point of running it."""

    def __init__(
        self,
        params: Mapping[str, str],
        *,
        site_id: int,
        timezone: str,
        goals: tuple[Goal, ...],
        now: dt.datetime,
    ) -> None:
        self.params = params
        self.site_id = site_id
        self.timezone = timezone
        self.goals = goals
        self.now = now

    # -- shared steps, each raising StatsQueryError ----------------------------------------

    def _range(self) -> DateRange:
        today_utc = self.now.astimezone(dt.UTC).date()
        return v1_date_range(self.params.get("period"), self.params.get("date"), today_utc)

    def _filters(self) -> tuple[Filter, ...]:
        text = self.params.get("filters")
        if not text:
            return ()
        parsed: list[Filter]
        try:
            decoded = orjson.loads(text)
        except orjson.JSONDecodeError:
            decoded = None
        if isinstance(decoded, list):
            parsed = list(parse_v2_filters(decoded, goals=self.goals, wildcards=True))
        elif decoded is not None and not isinstance(decoded, str | int | float):
            parsed = []
        else:
            parsed = parse_legacy_filters(text)
        for cond in iter_conditions(tuple(parsed)):
            if cond.dimension == "event:goal":
                _check_goals(cond, self.goals, prefix="")
            elif not _valid_property(cond.dimension) and cond.dimension not in _JSON_ONLY_FILTERS:
                raise StatsQueryError(
                    f"Invalid filter property '{cond.dimension}'. Please provide a valid filter "
                    f"property: {_DOCS}#properties"
                )
        return tuple(parsed)

    def _metrics(self, filters: tuple[Filter, ...], prop: str | None) -> tuple[str, ...]:
        names = self.params.get("metrics", "visitors").split(",")
        if len(set(names)) != len(names):
            raise StatsQueryError("Metrics cannot be queried multiple times.")
        filtered = {c.dimension for c in iter_conditions(filters)}
        for metric in names:
            _check_metric(metric, filtered, prop)
        return tuple(names)

    def _query(
        self,
        date_range: DateRange,
        metrics: tuple[str, ...],
        filters: tuple[Filter, ...],
        dimensions: tuple[str, ...] = (),
        **extra: Any,
    ) -> Query:
        start, end = utc_bounds(date_range, self.timezone)
        return Query(
            site_id=self.site_id,
            timezone=self.timezone,
            start=start,
            end=end,
            metrics=metrics,
            filters=filters,
            dimensions=dimensions,
            goals=self.goals,
            legacy=True,
            **extra,
        )

    def comparison(self, date_range: DateRange) -> DateRange | None:
        """The previous period when ``compare=previous_period`` was asked for."""
        if self.params.get("compare") != "previous_period":
            return None
        return previous_period(date_range, today_in(self.timezone, self.now))

    # -- endpoints -------------------------------------------------------------------------

    def aggregate(self) -> tuple[Query, Query | None]:
        """The query (and its comparison) of ``/api/v1/stats/aggregate``."""
        date_range = self._range()
        filters = self._filters()
        metrics = self._metrics(filters, None)
        query = self._query(date_range, metrics, filters)
        previous = self.comparison(date_range)
        return query, (self._query(previous, metrics, filters) if previous else None)

    def timeseries(self, *, dashboard: bool = False) -> Query:
        """The query of ``/api/v1/stats/timeseries``.

        Args:
            dashboard: Accept every interval Plausible's dashboard graph offers for the period
                (hour and week too, see `dashboard_interval`); the public endpoint accepts only
                `day` and `month`.
        """
        date_range = self._range()
        period = self.params.get("period") or "30d"
        interval = self.params.get("interval")
        if dashboard:
            granularity = dashboard_interval(period, interval, date_range)
        else:
            granularity = v1_interval(period, interval)
        filters = self._filters()
        metrics = self._metrics(filters, None)
        return self._query(
            date_range, metrics, filters, (f"time:{granularity}",), fill_time_buckets=True
        )

    def breakdown(self) -> tuple[Query, Query | None, str]:
        """The query (and comparison) of ``/api/v1/stats/breakdown``, and its property."""
        date_range = self._range()
        prop = self.params.get("property")
        if not prop:
            raise StatsQueryError(
                "The `property` parameter is required. Please provide at least one property "
                "to show a breakdown by."
            )
        if prop == "event:hostname":
            raise StatsQueryError(
                "Property 'event:hostname' is currently not supported for breakdowns.  Please "
                f"provide a valid property for the breakdown endpoint: {_DOCS}#properties"
            )
        if not _valid_property(prop):
            raise StatsQueryError(
                f"Invalid property '{prop}'. Please provide a valid property for the breakdown "
                f"endpoint: {_DOCS}#properties"
            )
        filters = self._filters()
        metrics = self._metrics(filters, prop)
        limit = _int_param(self.params.get("limit"), 100)
        if limit is None or not 1 <= limit <= 1000:
            raise StatsQueryError("Please provide limit as a number between 1 and 1000.")
        page = _int_param(self.params.get("page"), 1)
        if page is None or page < 1:
            raise StatsQueryError("Please provide page as a number greater than 0.")
        dimensions: tuple[str, ...] = (prop,)
        if prop == "visit:browser_version":
            dimensions = ("visit:browser", prop)
        elif prop == "visit:os_version":
            dimensions = ("visit:os", prop)
        run_metrics = metrics
        if metrics == ("time_on_page",):
            # Rows are ordered by visitors, which is computed but not returned.
            run_metrics = ("visitors", "time_on_page")
        first = next(m for m in run_metrics if m != "time_on_page")
        order: list[tuple[str, Any]] = [(first, "desc")]
        if prop != "event:goal":
            order += [(d, "asc") for d in dimensions]
        extra = {"order_by": tuple(order), "limit": limit, "offset": (page - 1) * limit}
        query = self._query(date_range, run_metrics, filters, dimensions, **extra)
        previous = self.comparison(date_range)
        compare = self._query(previous, run_metrics, filters, dimensions) if previous else None
        return query, compare, prop


def _int_param(value: str | None, default: int) -> int | None:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        return None


def _check_goals(cond: Condition, goals: tuple[Goal, ...], *, prefix: str) -> None:
    names = {g.display_name for g in goals}
    for value in cond.values:
        if value in names or cond.op.startswith("contains") or not cond.case_sensitive:
            continue
        text = str(value)
        if text.startswith("Visit "):
            message = (
                f"The pageview goal for the pathname `{text.removeprefix('Visit ')}` is not "
                "configured for this site. Find out how to configure goals here: "
                f"{_DOCS}#filtering-by-goals"
            )
        else:
            message = (
                f"The goal `{text}` is not configured for this site. Find out how to configure "
                f"goals here: {_DOCS}#filtering-by-goals"
            )
        raise StatsQueryError(prefix + message)


def _event_level(prop: str) -> bool:
    return prop in ("event:name", "event:goal") or prop.startswith(PROPS_PREFIX)


def _check_metric(metric: str, filtered: set[str], prop: str | None) -> None:
    if metric not in V1_METRICS:
        raise StatsQueryError(
            f"The metric `{metric}` is not recognized. Find valid metrics from the "
            f"documentation: {_DOCS}#metrics"
        )
    if metric in _SESSION_METRICS or metric == "views_per_visit":
        if prop is not None and _event_level(prop):
            raise StatsQueryError(
                f"Session metric `{metric}` cannot be queried for breakdown by `{prop}`."
            )
        for name in sorted(filtered):
            if _event_level(name):
                raise StatsQueryError(
                    f"Session metric `{metric}` cannot be queried when using a filter on `{name}`."
                )
    if metric == "views_per_visit":
        if "event:page" in filtered:
            raise StatsQueryError(
                "Metric `views_per_visit` cannot be queried with a filter on `event:page`."
            )
        if prop is not None:
            raise StatsQueryError("Metric `views_per_visit` is not supported in breakdown queries.")
    if metric == "conversion_rate" and prop != "event:goal" and "event:goal" not in filtered:
        raise StatsQueryError(
            "Metric `conversion_rate` can only be queried in a goal breakdown or with a goal filter"
        )
    if metric == "time_on_page":
        for name in ("event:goal", "event:name"):
            if name in filtered:
                raise StatsQueryError(
                    f"Metric `time_on_page` cannot be queried when filtering by `{name}`"
                )
        if prop is not None and prop != "event:page":
            raise StatsQueryError(
                "Metric `time_on_page` is not supported in breakdown queries (except `event:page` "
                "breakdown)"
            )
        if prop is None and "event:page" not in filtered:
            raise StatsQueryError(
                "Metric `time_on_page` can only be queried in a page breakdown or with a page "
                "filter."
            )


# -- responses -----------------------------------------------------------------------------


def _round_away(value: float) -> int:
    """Elixir's round/1: ties away from zero."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def change(metric: str, new: Any, old: Any) -> Any:
    """Plausible's "change" between a value and its comparison value."""
    if metric == "bounce_rate":
        return new - old if old is not None and new is not None and old > 0 else None
    if metric == "conversion_rate":
        return round(float(new) - float(old), 1)
    if new is None or old is None:
        return None
    if old == 0:
        return 100 if new > 0 else 0
    return _round_away((new - old) / old * 100)


def aggregate_json(
    query: Query, result: QueryResult, previous: QueryResult | None
) -> dict[str, Any]:
    """The body of an aggregate answer."""
    values = result.rows[0][1]
    old = previous.rows[0][1] if previous is not None else None
    out: dict[str, Any] = {}
    for i, metric in enumerate(query.metrics):
        entry: dict[str, Any] = {"value": values[i]}
        if old is not None:
            entry["comparison_value"] = old[i]
            entry["change"] = change(metric, values[i], old[i])
        out[metric] = entry
    return {"results": out}


def timeseries_json(query: Query, result: QueryResult) -> dict[str, Any]:
    """The body of a timeseries answer: one object per bucket, oldest first."""
    rows = []
    for dims, values in result.rows:
        row: dict[str, Any] = {"date": dims[0]}
        row.update(zip(query.metrics, values, strict=True))
        rows.append(row)
    return {"results": rows}


def _key(dimension: str) -> str:
    if dimension.startswith(PROPS_PREFIX):
        return dimension[len(PROPS_PREFIX) :]
    return dimension.split(":", 1)[1]


def breakdown_json(
    query: Query,
    result: QueryResult,
    previous: QueryResult | None,
    returned: tuple[str, ...],
) -> dict[str, Any]:
    """The body of a breakdown answer; `returned` are the metrics the caller asked for."""
    earlier: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    if previous is not None:
        earlier = dict(previous.rows)
    rows = []
    for dims, values in result.rows:
        row: dict[str, Any] = {_key(d): v for d, v in zip(query.dimensions, dims, strict=True)}
        named = dict(zip(query.metrics, values, strict=True))
        row.update((m, named[m]) for m in returned)
        if previous is not None:
            old_values = dict(zip(query.metrics, earlier.get(dims, ()), strict=False))
            comparison: dict[str, Any] = {m: old_values.get(m, 0) for m in returned}
            comparison["change"] = {m: change(m, named[m], old_values.get(m, 0)) for m in returned}
            row["comparison"] = comparison
        rows.append(row)
    return {"results": rows}
