"""What a dashboard address says: the period, filters, tabs, graph metric and interval.

The page's whole state lives in its URL. `DashboardState` reads it (dropping anything it does not
understand), writes it back as query strings for every link, and turns it into Stats API
parameters. The tables here say which panels, tabs, top stats and columns exist, and which of
them Plausible shows for a given set of filters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import orjson

PERIODS: tuple[tuple[str, str], ...] = (
    ("day", "Today"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("month", "Month to date"),
    ("6mo", "Last 6 months"),
    ("12mo", "Last 12 months"),
    ("custom", "Custom range"),
)
PERIOD_NAMES = dict(PERIODS)
DEFAULT_PERIOD = "30d"
INTERVAL_NAMES = {"hour": "Hours", "day": "Days", "week": "Weeks", "month": "Months"}

# Every metric the graph can show, with the name of its top stat.
METRIC_NAMES: dict[str, str] = {
    "visitors": "Unique visitors",
    "visits": "Total visits",
    "pageviews": "Total pageviews",
    "views_per_visit": "Views per visit",
    "bounce_rate": "Bounce rate",
    "visit_duration": "Visit duration",
    "events": "Total conversions",
    "conversion_rate": "Conversion rate",
}


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
    # Countries only: ingest resolves addresses to countries (the bundled geolocation data is
    # country-level), so regions and cities are always empty and get no tabs.
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
GOALS_TAB = Tab("goals", "event:goal", "Goal conversions")
# Every property a row click may filter by: the panels', goals and custom properties.
_FILTERABLE = {tab.prop for _, tabs in PANELS.values() for tab in tabs} | {"event:goal"}
_MAX_FILTERS = 10
_MAX_VALUE_CHARS = 2000
PROPS_PREFIX = "event:props:"


def filterable(prop: str) -> bool:
    """True for a property the dashboard can filter by."""
    return prop in _FILTERABLE or (prop.startswith(PROPS_PREFIX) and len(prop) > len(PROPS_PREFIX))


def prop_label(prop: str) -> str:
    """``visit:source`` → ``source``, ``event:props:plan`` → ``plan``."""
    return prop[len(PROPS_PREFIX) :] if prop.startswith(PROPS_PREFIX) else prop.split(":", 1)[1]


@dataclass(frozen=True, slots=True)
class DashboardState:
    """Everything the URL says about what to show."""

    period: str = DEFAULT_PERIOD
    date: str | None = None
    compare: bool = False
    filters: tuple[tuple[str, str], ...] = ()
    tabs: tuple[tuple[str, str], ...] = ()
    prop: str | None = None
    metric: str | None = None
    interval: str | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, str], multi: Sequence[str] = ()) -> DashboardState:
        """Reads the state from query parameters, dropping anything it does not understand.

        Args:
            params: The query parameters (last value of each).
            multi: Every ``f`` parameter (one filter each, ``property==value``).
        """
        period = params.get("period", DEFAULT_PERIOD)
        if period not in PERIOD_NAMES:
            period = DEFAULT_PERIOD
        date = params.get("date") or None
        if date is not None and len(date) > 21:
            date = None
        filters: list[tuple[str, str]] = []
        for item in multi[:_MAX_FILTERS]:
            prop, sep, value = item.partition("==")
            usable = sep and filterable(prop) and value and len(value) <= _MAX_VALUE_CHARS
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
        metric = params.get("metric")
        interval = params.get("interval")
        return cls(
            period,
            date,
            compare,
            tuple(filters),
            tuple(tabs),
            chosen,
            metric if metric in METRIC_NAMES and metric != "visitors" else None,
            interval if interval in INTERVAL_NAMES else None,
        )

    @property
    def kind(self) -> str:
        """Which top stats Plausible shows for these filters: goal, props, page or plain."""
        props = {prop for prop, _ in self.filters}
        if "event:goal" in props:
            return "goal"
        if any(p.startswith(PROPS_PREFIX) for p in props):
            return "props"
        return "page" if "event:page" in props else "plain"

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
        if self.metric:
            out.append(("metric", self.metric))
        if self.interval:
            out.append(("interval", self.interval))
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

    def realtime_query(self) -> str:
        """The query string of the realtime view: the filters go along, the period does not."""
        return self.query_string(
            period=DEFAULT_PERIOD, date=None, compare=False, metric=None, interval=None
        )

    def with_metric(self, metric: str) -> str:
        """The query string graphing `metric`."""
        return self.query_string(metric=None if metric == "visitors" else metric)

    def v2_filters(self, extra: Sequence[list[Any]] = ()) -> list[list[Any]]:
        """The filters as Stats API JSON filters, followed by `extra` ones."""
        return [["is", prop, [value]] for prop, value in self.filters] + list(extra)

    def v1_params(self, extra_filters: Sequence[list[Any]] = (), **extra: str) -> dict[str, str]:
        """The Stats API v1 parameters for this state, plus `extra` and `extra_filters`."""
        params = {"period": self.period, **extra}
        if self.date:
            params["date"] = self.date
        filters = self.v2_filters(extra_filters)
        if filters:
            params["filters"] = orjson.dumps(filters).decode()
        return params


# The top stats Plausible shows for each kind of filter set: (metric, label, graphable). With a
# goal filter the first is everyone's visitors, asked without the goal and property filters.
TOP_STATS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "plain": (
        ("visitors", "Unique visitors", True),
        ("visits", "Total visits", True),
        ("pageviews", "Total pageviews", True),
        ("views_per_visit", "Views per visit", True),
        ("bounce_rate", "Bounce rate", True),
        ("visit_duration", "Visit duration", True),
    ),
    "page": (
        ("visitors", "Unique visitors", True),
        ("visits", "Total visits", True),
        ("pageviews", "Total pageviews", True),
        ("bounce_rate", "Bounce rate", True),
        ("time_on_page", "Time on page", False),
    ),
    # The Stats API refuses session metrics next to a custom property filter.
    "props": (
        ("visitors", "Unique visitors", True),
        ("pageviews", "Total pageviews", True),
    ),
    "goal": (
        ("total_visitors", "Unique visitors", False),
        ("visitors", "Unique conversions", True),
        ("events", "Total conversions", True),
        ("conversion_rate", "Conversion rate", True),
    ),
}


def graph_metric(state: DashboardState) -> str:
    """The metric the graph shows: the one asked for when these filters allow it."""
    allowed = {m for m, _, graphable in TOP_STATS[state.kind] if graphable}
    return state.metric if state.metric in allowed else "visitors"


Column = tuple[str, str]
"""A breakdown column: the metric and its heading."""

_SESSION_COLUMNS: tuple[Column, ...] = (
    ("visitors", "Visitors"),
    ("bounce_rate", "Bounce rate"),
    ("visit_duration", "Visit duration"),
)
_DETAILED: dict[str, tuple[Column, ...]] = {
    "event:page": (
        ("visitors", "Visitors"),
        ("pageviews", "Pageviews"),
        ("bounce_rate", "Bounce rate"),
        ("time_on_page", "Time on page"),
    ),
    "visit:entry_page": (
        ("visitors", "Unique entrances"),
        ("visits", "Total entrances"),
        ("visit_duration", "Visit duration"),
    ),
    "visit:exit_page": (("visitors", "Unique exits"), ("visits", "Total exits")),
    "visit:country": (("visitors", "Visitors"),),
    "event:goal": (("visitors", "Uniques"), ("events", "Total"), ("conversion_rate", "CR")),
}
_SESSION_METRICS = frozenset({"visits", "bounce_rate", "visit_duration"})


def columns(prop: str, kind: str, *, detailed: bool) -> tuple[Column, ...]:
    """The columns of a breakdown by `prop`, as Plausible chooses them.

    Args:
        prop: The property broken down by.
        kind: `DashboardState.kind` of the filters.
        detailed: The details view (more columns) rather than a dashboard panel.
    """
    if prop == "event:goal":
        return _DETAILED[prop]
    if prop.startswith(PROPS_PREFIX):
        if kind == "goal":
            return (("visitors", "Conversions"), ("events", "Events"), ("conversion_rate", "CR"))
        return (("visitors", "Visitors"), ("events", "Events"))
    if kind == "goal":
        return (("visitors", "Conversions"), ("conversion_rate", "CR"))
    if not detailed:
        return (("visitors", "Visitors"),)
    chosen = _DETAILED.get(prop, _SESSION_COLUMNS)
    if kind == "props":
        chosen = tuple(c for c in chosen if c[0] not in _SESSION_METRICS)
    return chosen
