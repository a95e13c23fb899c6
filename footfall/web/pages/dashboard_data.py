"""What the dashboard shows, asked of the stats engine exactly as the Stats API asks it.

The page's state lives in its URL (`DashboardState`): period, date, comparison, filters and the
tab of each panel. `build_dashboard` turns a state into `Dashboard`, a plain value the template
renders; every number comes from `V1Request` queries run by the one `StatsEngine`, so the
dashboard and the Stats API cannot disagree. There is no SQL here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

import orjson

from footfall.meta.sites import Site
from footfall.stats.engine import StatsEngine
from footfall.stats.model import Goal, Query, StatsQueryError
from footfall.stats.periods import DateRange, previous_period, today_in, utc_bounds, v1_date_range
from footfall.stats.v1 import V1Request, aggregate_json, breakdown_json

PERIODS: tuple[tuple[str, str], ...] = (
    ("day", "Today"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("month", "Month to date"),
    ("6mo", "Last 6 months"),
    ("12mo", "Last 12 months"),
    ("custom", "Custom range"),
)
_PERIOD_NAMES = dict(PERIODS)
DEFAULT_PERIOD = "30d"
ROWS_PER_PANEL = 9

TOP_STATS: tuple[tuple[str, str], ...] = (
    ("visitors", "Unique visitors"),
    ("visits", "Total visits"),
    ("pageviews", "Total pageviews"),
    ("views_per_visit", "Views per visit"),
    ("bounce_rate", "Bounce rate"),
    ("visit_duration", "Visit duration"),
)
# A lower value is the better one: a fall shows as good news.
_LOWER_IS_BETTER = frozenset({"bounce_rate"})


@dataclass(frozen=True, slots=True)
class Tab:
    """One tab of a panel: its URL key, the property it breaks down by, and its title."""

    key: str
    prop: str
    title: str


PANELS: dict[str, tuple[str, tuple[Tab, ...]]] = {
    "sources": (
        "Top sources",
        (
            Tab("channels", "visit:channel", "Channels"),
            Tab("sources", "visit:source", "Sources"),
            Tab("utm_medium", "visit:utm_medium", "UTM mediums"),
            Tab("utm_source", "visit:utm_source", "UTM sources"),
            Tab("utm_campaign", "visit:utm_campaign", "UTM campaigns"),
        ),
    ),
    "pages": (
        "Top pages",
        (
            Tab("top", "event:page", "Top pages"),
            Tab("entry", "visit:entry_page", "Entry pages"),
            Tab("exit", "visit:exit_page", "Exit pages"),
        ),
    ),
    "locations": ("Locations", (Tab("countries", "visit:country", "Countries"),)),
    "devices": (
        "Devices",
        (
            Tab("browser", "visit:browser", "Browsers"),
            Tab("os", "visit:os", "Operating systems"),
            Tab("size", "visit:device", "Devices"),
        ),
    ),
}
# Every property a row click may filter by: the panels', goals and custom properties.
_FILTERABLE = {tab.prop for _, tabs in PANELS.values() for tab in tabs} | {"event:goal"}
_MAX_FILTERS = 10
_MAX_VALUE_CHARS = 2000


@dataclass(frozen=True, slots=True)
class DashboardState:
    """Everything the URL says about what to show."""

    period: str = DEFAULT_PERIOD
    date: str | None = None
    compare: bool = False
    filters: tuple[tuple[str, str], ...] = ()
    tabs: tuple[tuple[str, str], ...] = ()
    prop: str | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, str], multi: Sequence[str] = ()) -> DashboardState:
        """Reads the state from query parameters, dropping anything it does not understand.

        Args:
            params: The query parameters (last value of each).
            multi: Every ``f`` parameter (one filter each, ``property==value``).
        """
        period = params.get("period", DEFAULT_PERIOD)
        if period not in _PERIOD_NAMES:
            period = DEFAULT_PERIOD
        date = params.get("date") or None
        if date is not None and len(date) > 21:
            date = None
        filters: list[tuple[str, str]] = []
        for item in multi[:_MAX_FILTERS]:
            prop, sep, value = item.partition("==")
            usable = sep and _filterable(prop) and value and len(value) <= _MAX_VALUE_CHARS
            if usable and (prop, value) not in filters:
                filters.append((prop, value))
        tabs = []
        for panel, (_, choices) in PANELS.items():
            wanted = params.get(panel)
            if wanted and wanted != choices[0].key and any(t.key == wanted for t in choices):
                tabs.append((panel, wanted))
        chosen: str | None = params.get("prop") or None
        if chosen is not None and (len(chosen) > 300 or not chosen.strip()):
            chosen = None
        compare = params.get("compare") == "1"
        return cls(period, date, compare, tuple(filters), tuple(tabs), chosen)

    def tab(self, panel: str) -> Tab:
        """The tab shown in `panel`."""
        chosen = dict(self.tabs).get(panel)
        choices = PANELS[panel][1]
        return next((t for t in choices if t.key == chosen), choices[0])

    def params(self) -> list[tuple[str, str]]:
        """The state as query parameters (defaults left out, so URLs stay short)."""
        out: list[tuple[str, str]] = []
        if self.period != DEFAULT_PERIOD:
            out.append(("period", self.period))
        if self.date:
            out.append(("date", self.date))
        if self.compare:
            out.append(("compare", "1"))
        out.extend(("f", f"{prop}=={value}") for prop, value in self.filters)
        out.extend(self.tabs)
        if self.prop:
            out.append(("prop", self.prop))
        return out

    def query_string(self, **changes: Any) -> str:
        """``?...`` for this state with `changes` applied ('' when all defaults)."""
        state = replace(self, **changes) if changes else self
        text = urlencode(state.params())
        return f"?{text}" if text else ""

    def with_filter(self, prop: str, value: str) -> str:
        """The query string adding a filter (replacing one on the same property)."""
        kept = tuple((p, v) for p, v in self.filters if p != prop)
        return self.query_string(filters=(*kept, (prop, value)))

    def without_filter(self, prop: str, value: str) -> str:
        """The query string removing one filter."""
        return self.query_string(filters=tuple(f for f in self.filters if f != (prop, value)))

    def with_tab(self, panel: str, key: str) -> str:
        """The query string showing tab `key` in `panel`."""
        tabs = tuple((p, k) for p, k in self.tabs if p != panel)
        default = PANELS[panel][1][0].key
        return self.query_string(tabs=tabs if key == default else (*tabs, (panel, key)))

    def v1_params(self, **extra: str) -> dict[str, str]:
        """The Stats API v1 parameters for this state, plus `extra`."""
        params = {"period": self.period, **extra}
        if self.date:
            params["date"] = self.date
        if self.filters:
            filters = [["is", prop, [value]] for prop, value in self.filters]
            params["filters"] = orjson.dumps(filters).decode()
        return params


def _filterable(prop: str) -> bool:
    return prop in _FILTERABLE or (prop.startswith("event:props:") and len(prop) > 12)


@dataclass(frozen=True, slots=True)
class TopStat:
    """One number of the top row, with its change against the previous period."""

    metric: str
    label: str
    value: Any
    change: Any
    good: bool | None


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a panel: the label, its numbers, and the filter a click adds."""

    label: str
    visitors: int
    extra: tuple[Any, ...]
    fraction: float
    prop: str
    value: str


@dataclass(frozen=True, slots=True)
class Panel:
    """A panel with its tabs and the rows of the tab shown."""

    key: str
    title: str
    tabs: tuple[Tab, ...]
    active: Tab
    rows: tuple[Row, ...]
    columns: tuple[str, ...] = ("Visitors",)


@dataclass(slots=True)
class Dashboard:
    """Everything the dashboard template shows."""

    state: DashboardState
    range_label: str
    top_stats: list[TopStat] = field(default_factory=list)
    chart: list[tuple[str, float | None]] = field(default_factory=list)
    chart_compare: list[tuple[str, float | None]] | None = None
    panels: list[Panel] = field(default_factory=list)
    goals: Panel | None = None
    props: Panel | None = None
    prop_names: list[str] = field(default_factory=list)
    realtime: int = 0
    error: str | None = None


def _v1(
    site: Site, goals: tuple[Goal, ...], params: Mapping[str, str], now: dt.datetime
) -> V1Request:
    return V1Request(params, site_id=site.id, timezone=site.timezone, goals=goals, now=now)


def _range(state: DashboardState, now: dt.datetime) -> DateRange:
    today_utc = now.astimezone(dt.UTC).date()
    return v1_date_range(state.period, state.date, today_utc)


def range_label(state: DashboardState, date_range: DateRange) -> str:
    """``Last 30 days (27 Oct - 25 Nov 2026)``, with an en dash: the period and its dates."""
    first, last = date_range.first, date_range.last
    if first == last:
        dates = f"{first.day} {first:%b %Y}"
    elif first.year == last.year:
        dates = f"{first.day} {first:%b} \u2013 {last.day} {last:%b %Y}"
    else:
        dates = f"{first.day} {first:%b %Y} \u2013 {last.day} {last:%b %Y}"
    return f"{_PERIOD_NAMES.get(state.period, 'Custom range')} ({dates})"


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
        date_range = _range(state, now)
        board = Dashboard(state=state, range_label=range_label(state, date_range))
        _top_stats(board, stats, site, goals, state, now)
        _chart(board, stats, site, goals, state, now, date_range)
        for key in PANELS:
            board.panels.append(_panel(stats, site, goals, state, now, key))
        if goals:
            board.goals = _goals_panel(stats, site, goals, state, now)
        _props(board, stats, site, goals, state, now, date_range)
    except StatsQueryError as exc:
        return Dashboard(state=state, range_label="", error=exc.message)
    board.realtime = stats.realtime_visitors(site.id, now)
    return board


def _top_stats(
    board: Dashboard,
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
) -> None:
    metrics = ",".join(m for m, _ in TOP_STATS)
    params = state.v1_params(metrics=metrics, compare="previous_period")
    if any(p.startswith("event:") for p, _ in state.filters):
        # Plausible's rule: session metrics cannot follow an event-level filter.
        params["metrics"] = "visitors,visits,pageviews"
    query, compare = _v1(site, goals, params, now).aggregate()
    result = stats.run(query)
    previous = stats.run(compare) if compare else None
    body = aggregate_json(query, result, previous)["results"]
    labels = dict(TOP_STATS)
    for metric in query.metrics:
        entry = body[metric]
        change = entry.get("change")
        good = None
        if isinstance(change, int | float) and change:
            good = (change < 0) if metric in _LOWER_IS_BETTER else (change > 0)
        board.top_stats.append(TopStat(metric, labels[metric], entry["value"], change, good))


def _chart(
    board: Dashboard,
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
    date_range: DateRange,
) -> None:
    request = _v1(site, goals, state.v1_params(metrics="visitors"), now)
    query = request.timeseries()
    board.chart = _series(query, stats.run(query), now)
    if not state.compare:
        return
    earlier = previous_period(date_range, today_in(site.timezone, now))
    granularity = query.dimensions[0].split(":", 1)[1]
    params = {
        **state.v1_params(metrics="visitors"),
        "period": "custom",
        "date": f"{earlier.first},{earlier.last}",
        "interval": granularity,
    }
    previous = _v1(site, goals, params, now).timeseries()
    board.chart_compare = _series(previous, stats.run(previous), None)


def _series(query: Query, result: Any, now: dt.datetime | None) -> list[tuple[str, float | None]]:
    """Bucket label and visitors; buckets after `now` are None (not yet happened)."""
    cutoff = None
    if now is not None:
        cutoff = now.astimezone(dt.UTC).replace(tzinfo=None)
    points: list[tuple[str, float | None]] = []
    for index, (dims, values) in enumerate(result.rows):
        label = str(dims[0])
        value: float | None = values[0]
        if cutoff is not None and _bucket_start(query, index, len(result.rows)) > cutoff:
            value = None
        points.append((label, value))
    return points


def _bucket_start(query: Query, index: int, count: int) -> dt.datetime:
    # Buckets split the range evenly enough to tell the past from the future.
    span = (query.end - query.start) / max(count, 1)
    return query.start + span * index


def _panel(
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
    key: str,
) -> Panel:
    title, tabs = PANELS[key]
    active = state.tab(key)
    rows = _breakdown(stats, site, goals, state, now, active.prop, ("visitors",))
    return Panel(key, title, tabs, active, rows)


def _breakdown(
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
    prop: str,
    metrics: tuple[str, ...],
) -> tuple[Row, ...]:
    params = state.v1_params(property=prop, metrics=",".join(metrics), limit=str(ROWS_PER_PANEL))
    query, _, _ = _v1(site, goals, params, now).breakdown()
    body = breakdown_json(query, stats.run(query), None, metrics)["results"]
    name = prop[len("event:props:") :] if prop.startswith("event:props:") else prop.split(":")[1]
    top = max((int(r["visitors"]) for r in body), default=0)
    return tuple(
        Row(
            label=str(r[name]),
            visitors=int(r["visitors"]),
            extra=tuple(r[m] for m in metrics[1:]),
            fraction=(int(r["visitors"]) / top) if top else 0.0,
            prop=prop,
            value=str(r[name]),
        )
        for r in body
    )


def _goals_panel(
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
) -> Panel:
    tab = Tab("goals", "event:goal", "Goal conversions")
    metrics = ("visitors", "events", "conversion_rate")
    rows = _breakdown(stats, site, goals, state, now, tab.prop, metrics)
    return Panel("goals", "Goal conversions", (tab,), tab, rows, ("Uniques", "Total", "CR"))


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
    tab = Tab("props", f"event:props:{name}", name)
    metrics = ("visitors", "events")
    rows = _breakdown(stats, site, goals, state, now, tab.prop, metrics)
    board.props = Panel("props", "Properties", (tab,), tab, rows, ("Visitors", "Events"))


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
