"""The realtime view: the last 30 minutes, asked of the engine as Stats API v2 asks.

Plausible's realtime dashboard shows the current visitors (the last five minutes), visitors and
pageviews of the last 30 minutes, a graph of those minutes, and the top pages, sources and
countries. The Stats API v1 only knows whole days, so these questions use v2's date-time
ranges (``"date_range": [start, end]``), parsed by `V2Request` like ``POST /api/v2/query``.
footfall's time buckets are no finer than an hour, so the graph asks one aggregate per minute:
every finished minute is a range in the past, which the query cache keeps, and a refresh
computes little more than the current minute.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from footfall.meta.sites import Site
from footfall.stats.engine import StatsEngine
from footfall.stats.model import Goal, Query, StatsQueryError
from footfall.stats.v2 import V2Request
from footfall.web.pages.dashboard_data import Panel, to_rows
from footfall.web.pages.dashboard_state import DashboardState, Tab

MINUTES = 30
ROWS = 9
# (panel key, title, tab): what the realtime view breaks the last 30 minutes down by.
PANELS: tuple[tuple[str, str, Tab], ...] = (
    ("pages", "Top pages", Tab("top", "event:page", "Page")),
    ("sources", "Top sources", Tab("sources", "visit:source", "Source")),
    ("locations", "Countries", Tab("countries", "visit:country", "Country")),
)


@dataclass(slots=True)
class Realtime:
    """Everything the realtime view shows."""

    current: int = 0
    metric: str = "visitors"
    # (metric, label, value) of the last 30 minutes.
    totals: list[tuple[str, str, Any]] = field(default_factory=list)
    chart: list[tuple[str, float | None]] = field(default_factory=list)
    panels: list[Panel] = field(default_factory=list)
    error: str | None = None


def _stamp(moment: dt.datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}Z"


def window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The last 30 minutes as naive-UTC bounds.

    They run from the start of the minute 29 minutes before the current one to now.
    """
    end = now.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)
    start = end.replace(second=0) - dt.timedelta(minutes=MINUTES - 1)
    return start, end


def v2_body(
    state: DashboardState,
    start: dt.datetime,
    end: dt.datetime,
    metrics: list[str],
    dimensions: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The ``POST /api/v2/query`` body of one realtime question (without ``site_id``)."""
    body: dict[str, Any] = {
        "metrics": metrics,
        "date_range": [_stamp(start), _stamp(end)],
        "filters": state.v2_filters(),
        **extra,
    }
    if dimensions:
        body["dimensions"] = dimensions
    return body


def v2_query(site: Site, goals: tuple[Goal, ...], body: dict[str, Any], now: dt.datetime) -> Query:
    """`body` parsed for `site` exactly as the Stats API v2 parses it."""
    request = V2Request(
        {"site_id": site.domain, **body},
        site_id=site.id,
        timezone=site.timezone,
        goals=goals,
        now=now,
        first_data_day=None,
    )
    return request.query()


def metrics_for(state: DashboardState) -> list[tuple[str, str]]:
    """The two totals of the last 30 minutes: conversions with a goal filter, as Plausible."""
    if state.kind == "goal":
        return [("visitors", "Unique conversions"), ("events", "Total conversions")]
    return [("visitors", "Unique visitors"), ("pageviews", "Pageviews")]


def build_realtime(
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
) -> Realtime:
    """Asks the engine every question of the realtime view.

    A state the Stats API refuses (a goal that no longer exists) yields `error`, never an
    exception.
    """
    view = Realtime()
    start, end = window(now)
    wanted = metrics_for(state)
    view.metric = state.metric if state.metric in {m for m, _ in wanted} else "visitors"
    try:
        totals = v2_query(site, goals, v2_body(state, start, end, [m for m, _ in wanted]), now)
        values = stats.run(totals).rows[0][1]
        view.totals = [(m, label, v) for (m, label), v in zip(wanted, values, strict=True)]
        view.chart = _minutes(stats, site, goals, state, now, start, view.metric)
        for key, title, tab in PANELS:
            view.panels.append(_panel(stats, site, goals, state, now, key, title, tab))
    except StatsQueryError as exc:
        return Realtime(error=exc.message)
    view.current = stats.realtime_visitors(site.id, now)
    return view


def _minutes(
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
    start: dt.datetime,
    metric: str,
) -> list[tuple[str, float | None]]:
    """One point per minute: `metric` over that minute, labelled in the site's time zone."""
    zone = ZoneInfo(site.timezone)
    points: list[tuple[str, float | None]] = []
    for index in range(MINUTES):
        first = start + dt.timedelta(minutes=index)
        last = first + dt.timedelta(seconds=59)
        query = v2_query(site, goals, v2_body(state, first, last, [metric]), now)
        value = stats.run(query).rows[0][1][0]
        local = first.replace(tzinfo=dt.UTC).astimezone(zone)
        points.append((f"{local:%Y-%m-%d %H:%M}:00", float(value or 0)))
    return points


def _panel(
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
    key: str,
    title: str,
    tab: Tab,
) -> Panel:
    start, end = window(now)
    order = [["visitors", "desc"], [tab.prop, "asc"]]
    # One row more than shown: visits without a country are left out, as the dashboard does.
    body = v2_body(
        state,
        start,
        end,
        ["visitors"],
        [tab.prop],
        order_by=order,
        pagination={"limit": ROWS + 1},
    )
    result = stats.run(v2_query(site, goals, body, now))
    rows = [(str(dims[0]), int(values[0] or 0)) for dims, values in result.rows]
    if tab.prop == "visit:country":
        rows = [(code, n) for code, n in rows if code]
    shown = to_rows(tab.prop, [(value, visitors, ()) for value, visitors in rows[:ROWS]])
    return Panel(key, title, (tab,), tab, shown)
