"""What the dashboard shows, asked of the stats engine exactly as the Stats API asks it.

`build_dashboard` turns a `DashboardState` (the URL) into `Dashboard`, a plain value the template
renders; every number comes from `V1Request` queries run by the one `StatsEngine`, so the
dashboard and the Stats API cannot disagree. There is no SQL here. `breakdown` is shared with
the details view and the export.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from footfall.meta.sites import Site
from footfall.stats.engine import StatsEngine
from footfall.stats.intervals import dashboard_intervals
from footfall.stats.model import Goal, Granularity, Query, StatsQueryError
from footfall.stats.periods import (
    DateRange,
    bucket_label,
    previous_period,
    today_in,
    utc_bounds,
    v1_date_range,
)
from footfall.stats.v1 import V1Request, aggregate_json, breakdown_json
from footfall.web.pages.dashboard_state import (
    GOALS_TAB,
    PANELS,
    PERIOD_NAMES,
    PROPS_PREFIX,
    TOP_STATS,
    DashboardState,
    Tab,
    columns,
    graph_metric,
    prop_label,
)
from footfall.web.pages.places import country_flag, country_name

ROWS_PER_PANEL = 9
# A lower value is the better one: a fall shows as good news.
_LOWER_IS_BETTER = frozenset({"bounce_rate"})
REVERSED_RANGE = "The custom range ends before it starts: choose a start date on or before its end."
BAD_RANGE = "The custom range needs two valid dates: choose them again."


@dataclass(frozen=True, slots=True)
class TopStat:
    """One number of the top row, with its change against the previous period."""

    metric: str
    label: str
    value: Any
    change: Any
    good: bool | None
    graphable: bool = False


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a panel: the label, its numbers, and the filter a click adds."""

    label: str
    visitors: int
    extra: tuple[Any, ...]
    fraction: float
    prop: str
    value: str
    flag: str = ""


@dataclass(frozen=True, slots=True)
class Panel:
    """A panel with its tabs and the rows of the tab shown."""

    key: str
    title: str
    tabs: tuple[Tab, ...]
    active: Tab
    rows: tuple[Row, ...]
    columns: tuple[tuple[str, str], ...] = (("visitors", "Visitors"),)

    @property
    def headings(self) -> tuple[str, ...]:
        """The column headings after the label's."""
        return tuple(label for _, label in self.columns)

    @property
    def extra_metrics(self) -> tuple[str, ...]:
        """The metrics of the columns after visitors, in `Row.extra` order."""
        return tuple(metric for metric, _ in self.columns[1:])


@dataclass(slots=True)
class Dashboard:
    """Everything the dashboard template shows."""

    state: DashboardState
    range_label: str
    top_stats: list[TopStat] = field(default_factory=list)
    metric: str = "visitors"
    interval: str = "day"
    intervals: tuple[str, ...] = ()
    chart: list[tuple[str, float | None]] = field(default_factory=list)
    chart_compare: list[tuple[str, float | None]] | None = None
    panels: list[Panel] = field(default_factory=list)
    goals: Panel | None = None
    props: Panel | None = None
    prop_names: list[str] = field(default_factory=list)
    realtime: int = 0
    error: str | None = None


def v1_request(
    site: Site, goals: tuple[Goal, ...], params: Mapping[str, str], now: dt.datetime
) -> V1Request:
    """A Stats API v1 request for `site`, as the API would build it from `params`."""
    return V1Request(params, site_id=site.id, timezone=site.timezone, goals=goals, now=now)


def resolve_range(state: DashboardState, now: dt.datetime) -> DateRange:
    """The dates `state` covers; a custom range people can fix is refused in their words.

    Raises:
        StatsQueryError: The period or date cannot be read.
    """
    if state.period == "custom" and state.date:
        first, sep, last = state.date.partition(",")
        try:
            reversed_range = sep and dt.date.fromisoformat(first) > dt.date.fromisoformat(last)
        except ValueError:
            raise StatsQueryError(BAD_RANGE) from None
        if reversed_range:
            raise StatsQueryError(REVERSED_RANGE)
    try:
        return v1_date_range(state.period, state.date, now.astimezone(dt.UTC).date())
    except StatsQueryError:
        if state.period == "custom":
            raise StatsQueryError(BAD_RANGE) from None
        raise


def range_label(state: DashboardState, date_range: DateRange) -> str:
    """``Last 30 days (27 Oct - 25 Nov 2026)``, with an en dash: the period and its dates."""
    first, last = date_range.first, date_range.last
    if first == last:
        dates = f"{first.day} {first:%b %Y}"
    elif first.year == last.year:
        dates = f"{first.day} {first:%b} \u2013 {last.day} {last:%b %Y}"
    else:
        dates = f"{first.day} {first:%b %Y} \u2013 {last.day} {last:%b %Y}"
    return f"{PERIOD_NAMES.get(state.period, 'Custom range')} ({dates})"


def build_dashboard(
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
) -> Dashboard:
    """Asks the engine every question of the dashboard for `state`.

    A state the Stats API would refuse (a malformed custom range, a filter on a goal that no
    longer exists) yields a dashboard with `error` set and nothing else, never an exception.

    Raises:
        QueryTimeoutError: A query ran past the time limit.
    """
    try:
        date_range = resolve_range(state, now)
        board = Dashboard(state=state, range_label=range_label(state, date_range))
        _top_stats(board, stats, site, goals, state, now)
        _chart(board, stats, site, goals, state, now, date_range)
        for key in PANELS:
            board.panels.append(panel(stats, site, goals, state, now, key))
        if goals:
            cols = columns(GOALS_TAB.prop, state.kind, detailed=False)
            rows = breakdown(stats, site, goals, state, now, GOALS_TAB.prop, cols)
            board.goals = Panel("goals", GOALS_TAB.title, (GOALS_TAB,), GOALS_TAB, rows, cols)
        _props(board, stats, site, goals, state, now, date_range)
    except StatsQueryError as exc:
        return Dashboard(state=state, range_label="", error=exc.message)
    board.realtime = stats.realtime_visitors(site.id, now)
    return board


def _aggregate(
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
    metrics: Sequence[str],
) -> dict[str, Any]:
    params = state.v1_params(metrics=",".join(metrics), compare="previous_period")
    query, compare = v1_request(site, goals, params, now).aggregate()
    previous = stats.run(compare) if compare else None
    results: dict[str, Any] = aggregate_json(query, stats.run(query), previous)["results"]
    return results


def _top_stats(
    board: Dashboard,
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
) -> None:
    spec = TOP_STATS[state.kind]
    asked = [metric for metric, _, _ in spec if metric != "total_visitors"]
    body = _aggregate(stats, site, goals, state, now, asked)
    if state.kind == "goal":
        # Everyone's visitors, converted or not: the same question without the conversion.
        kept = tuple(
            (p, v) for p, v in state.filters if p != "event:goal" and not p.startswith(PROPS_PREFIX)
        )
        everyone = replace(state, filters=kept)
        body["total_visitors"] = _aggregate(stats, site, goals, everyone, now, ["visitors"])[
            "visitors"
        ]
    for metric, label, graphable in spec:
        entry = body[metric]
        change = entry.get("change")
        good = None
        if isinstance(change, int | float) and change:
            good = (change < 0) if metric in _LOWER_IS_BETTER else (change > 0)
        board.top_stats.append(TopStat(metric, label, entry["value"], change, good, graphable))


def _chart(
    board: Dashboard,
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
    date_range: DateRange,
) -> None:
    board.metric = graph_metric(state)
    params = state.v1_params(metrics=board.metric)
    if state.interval:
        params["interval"] = state.interval
    query = v1_request(site, goals, params, now).timeseries(dashboard=True)
    granularity: Granularity = query.dimensions[0].split(":", 1)[1]  # type: ignore[assignment]
    board.interval = granularity
    board.intervals = dashboard_intervals(state.period, date_range)
    local_now = now.astimezone(ZoneInfo(site.timezone))
    current = bucket_label(local_now, granularity, date_range.first)
    board.chart = _series(stats.run(query), current)
    if not state.compare:
        return
    # The same question over the previous period, bucket for bucket (Plausible's shift_back).
    earlier = previous_period(date_range, today_in(site.timezone, now))
    start, end = utc_bounds(earlier, site.timezone)
    previous = replace(query, start=start, end=end)
    board.chart_compare = _series(stats.run(previous), None)


def _series(result: Any, current: str | None) -> list[tuple[str, float | None]]:
    """Bucket label and value; buckets after `current` are None (not yet happened).

    An empty past bucket counts as 0, as Plausible plots it (visit duration has no value there).
    """
    points: list[tuple[str, float | None]] = []
    for dims, values in result.rows:
        label = str(dims[0])
        value: float | None = values[0]
        if current is not None and label > current:
            value = None
        elif value is None:
            value = 0
        points.append((label, value))
    return points


def panel(
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
    key: str,
) -> Panel:
    """The panel `key` of the dashboard: the rows of the tab `state` shows."""
    title, tabs = PANELS[key]
    active = state.tab(key)
    cols = columns(active.prop, state.kind, detailed=False)
    rows = breakdown(stats, site, goals, state, now, active.prop, cols)
    return Panel(key, title, tabs, active, rows, cols)


def always_on_filters(prop: str, state: DashboardState) -> list[list[Any]]:
    """Filters a breakdown by `prop` always carries.

    A custom property's breakdown lists the values events carry: events without the property
    are left out (``is_not (none)``), as Plausible's property report leaves them out, unless
    the dashboard already filters on that property (a ``(none)`` filter brings them back).
    """
    if prop.startswith(PROPS_PREFIX) and all(p != prop for p, _ in state.filters):
        return [["is_not", prop, ["(none)"]]]
    return []


def breakdown_rows(
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
    prop: str,
    metrics: Sequence[str],
    *,
    limit: int = ROWS_PER_PANEL,
    page: int = 1,
    extra_filters: Sequence[list[Any]] = (),
) -> list[dict[str, Any]]:
    """A breakdown by `prop` as ``/api/v1/stats/breakdown`` answers it, asked the same way.

    Args:
        stats: The engine.
        site: The site.
        goals: Its goals.
        state: The dashboard's state (period and filters).
        now: The current time.
        prop: The property to break down by.
        metrics: The metrics, in the API's spelling.
        limit: Rows per page.
        page: The page, from 1.
        extra_filters: More filters (JSON form), such as a search.

    Returns:
        The rows of the answer's ``results``.
    """
    filters = [*always_on_filters(prop, state), *extra_filters]
    params = state.v1_params(
        filters, property=prop, metrics=",".join(metrics), limit=str(limit), page=str(page)
    )
    query, _, _ = v1_request(site, goals, params, now).breakdown()
    rows: list[dict[str, Any]] = breakdown_json(query, stats.run(query), None, tuple(metrics))[
        "results"
    ]
    return rows


def breakdown(
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
    prop: str,
    cols: Sequence[tuple[str, str]],
    **paging: Any,
) -> tuple[Row, ...]:
    """The rows of a breakdown by `prop` with columns `cols` (visitors first) as panel rows.

    `paging` is `breakdown_rows`'s limit, page and extra filters.
    """
    metrics = tuple(metric for metric, _ in cols)
    body = breakdown_rows(stats, site, goals, state, now, prop, metrics, **paging)
    name = prop_label(prop)
    found = [(str(r[name]), int(r["visitors"]), tuple(r[m] for m in metrics[1:])) for r in body]
    return to_rows(prop, found)


def to_rows(prop: str, found: Sequence[tuple[str, int, tuple[Any, ...]]]) -> tuple[Row, ...]:
    """Panel rows from (value, visitors, other values), bars scaled to the largest count."""
    top = max((visitors for _, visitors, _ in found), default=0)
    rows = []
    for value, visitors, extra in found:
        label, flag = value, ""
        if prop == "visit:country":
            label, flag = country_name(value), country_flag(value)
        fraction = visitors / top if top else 0.0
        rows.append(Row(label, visitors, extra, fraction, prop, value, flag))
    return tuple(rows)


def _props(
    board: Dashboard,
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
    date_range: DateRange,
) -> None:
    start, end = utc_bounds(date_range, site.timezone)
    board.prop_names = stats.property_names(site.id, start, end)
    if not board.prop_names:
        return
    name = state.prop if state.prop in board.prop_names else board.prop_names[0]
    tab = Tab("props", f"{PROPS_PREFIX}{name}", name)
    cols = columns(tab.prop, state.kind, detailed=False)
    rows = breakdown(stats, site, goals, state, now, tab.prop, cols)
    board.props = Panel("props", "Properties", (tab,), tab, rows, cols)


def sparkline(stats: StatsEngine, site: Site, now: dt.datetime) -> tuple[list[float], int]:
    """Visitors per hour over the last 24 hours, and their total, for the sites list."""
    end = now.astimezone(dt.UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(hours=23)
    hourly = Query(
        site_id=site.id,
        timezone="UTC",
        start=start,
        end=end + dt.timedelta(minutes=59, seconds=59),
        metrics=("visitors",),
        dimensions=("time:hour",),
        fill_time_buckets=True,
    )
    total = replace(hourly, dimensions=(), fill_time_buckets=False)
    points = [float(values[0] or 0) for _, values in stats.run(hourly).rows]
    rows = stats.run(total).rows
    return points, int(rows[0][1][0]) if rows else 0
