"""The dashboard's export: the current view as a zip of CSV files, in Plausible's layout.

Plausible's dashboard export (``StatsController.csv_export`` and the ``csv`` branches of
``Api.StatsController``) writes one CSV per report with fixed file names and columns:
``visitors.csv`` (the graph, one row per bucket), then one file per breakdown, up to 300 rows
each (100 for pages and exit pages), with ``name`` first. With a goal filter the columns are
conversions and conversion rate. footfall writes the same files and columns, every number asked
as the Stats API asks it (v1; v2 for the custom properties' percentage). Where the Stats API
refuses a metric for the filters (session metrics next to a custom property filter) the column
is left out. Regions and cities are written with their headers only while footfall records
countries alone.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from typing import Any

from footfall.meta.sites import Site
from footfall.stats.engine import StatsEngine
from footfall.stats.model import Goal
from footfall.stats.periods import utc_bounds
from footfall.stats.v1 import timeseries_json
from footfall.web.pages.dashboard_data import (
    always_on_filters,
    breakdown_rows,
    resolve_range,
    v1_request,
)
from footfall.web.pages.dashboard_state import DashboardState
from footfall.web.pages.places import country_name, region_name
from footfall.web.pages.realtime_data import v2_query

LIMIT = 300
SHORT_LIMIT = 100
_SESSION = ("bounce_rate", "visit_duration")
# file name, property, (metric, column) after `name`, row limit.
Report = tuple[str, str, tuple[tuple[str, str], ...], int]
_VISITORS = (("visitors", "visitors"),)
_WITH_SESSIONS = (
    ("visitors", "visitors"),
    ("bounce_rate", "bounce_rate"),
    ("visit_duration", "visit_duration"),
)
REPORTS: tuple[Report, ...] = (
    (
        "pages.csv",
        "event:page",
        (
            ("visitors", "visitors"),
            ("pageviews", "pageviews"),
            ("bounce_rate", "bounce_rate"),
            ("time_on_page", "time_on_page"),
        ),
        SHORT_LIMIT,
    ),
    (
        "entry_pages.csv",
        "visit:entry_page",
        (
            ("visitors", "unique_entrances"),
            ("visits", "total_entrances"),
            ("visit_duration", "visit_duration"),
        ),
        LIMIT,
    ),
    (
        "exit_pages.csv",
        "visit:exit_page",
        (("visitors", "unique_exits"), ("visits", "total_exits"), ("exit_rate", "exit_rate")),
        SHORT_LIMIT,
    ),
    ("browsers.csv", "visit:browser", _VISITORS, LIMIT),
    ("browser_versions.csv", "visit:browser_version", _VISITORS, LIMIT),
    ("operating_systems.csv", "visit:os", _VISITORS, LIMIT),
    ("operating_system_versions.csv", "visit:os_version", _VISITORS, LIMIT),
    ("devices.csv", "visit:device", _VISITORS, LIMIT),
    ("channels.csv", "visit:channel", _WITH_SESSIONS, LIMIT),
    ("sources.csv", "visit:source", _WITH_SESSIONS, LIMIT),
    ("referrers.csv", "visit:referrer", _WITH_SESSIONS, LIMIT),
    ("utm_mediums.csv", "visit:utm_medium", _WITH_SESSIONS, LIMIT),
    ("utm_sources.csv", "visit:utm_source", _WITH_SESSIONS, LIMIT),
    ("utm_campaigns.csv", "visit:utm_campaign", _WITH_SESSIONS, LIMIT),
    ("utm_contents.csv", "visit:utm_content", _WITH_SESSIONS, LIMIT),
    ("utm_terms.csv", "visit:utm_term", _WITH_SESSIONS, LIMIT),
    ("countries.csv", "visit:country", _VISITORS, LIMIT),
    ("regions.csv", "visit:region", _VISITORS, LIMIT),
    ("cities.csv", "visit:city", _VISITORS, LIMIT),
)
_GRAPH = ("visitors", "pageviews", "visits", "views_per_visit", "bounce_rate", "visit_duration")
_GOAL_GRAPH = (
    ("visitors", "unique_conversions"),
    ("events", "total_conversions"),
    ("conversion_rate", "conversion_rate"),
)


def report_columns(
    prop: str, kind: str, wanted: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The (metric, column) pairs of a report for filters of `kind` (see `DashboardState.kind`)."""
    if kind == "goal":
        return [("visitors", "conversions"), ("conversion_rate", "conversion_rate")]
    chosen = list(wanted)
    if kind != "plain":
        # Plausible has no exit rate next to event filters (a page filter is one).
        chosen = [c for c in chosen if c[0] != "exit_rate"]
    if kind == "props":
        chosen = [c for c in chosen if c[0] not in (*_SESSION, "visits")]
    return chosen


def _csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue().encode("utf-8")


def export_name(site: Site, state: DashboardState, now: dt.datetime) -> str:
    """The zip's file name: the site and the dates it covers."""
    dates = resolve_range(state, now)
    return f"footfall-export-{site.domain}-{dates.first}-to-{dates.last}.zip"


def build_export(
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
) -> dict[str, bytes]:
    """Every CSV of the export for `state`, by file name, in Plausible's order.

    Raises:
        StatsQueryError: The state is one the Stats API refuses.
    """
    resolve_range(state, now)  # a range people can fix is refused in their words
    files = {"visitors.csv": _graph(stats, site, goals, state, now)}
    for name, prop, wanted, limit in REPORTS:
        files[name] = _report(stats, site, goals, state, now, prop, wanted, limit)
    props = _custom_props(stats, site, goals, state, now)
    if props is not None:
        files["custom_props.csv"] = props
    rows = breakdown_rows(stats, site, goals, state, now, "event:goal", ("visitors", "events"))
    conversions = [[r["goal"], r["visitors"], r["events"]] for r in rows]
    files["conversions.csv"] = _csv(
        ["name", "unique_conversions", "total_conversions"], conversions
    )
    return files


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """`files` as one zip archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _graph(
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
) -> bytes:
    kind = state.kind
    if kind == "goal":
        pairs = list(_GOAL_GRAPH)
    elif kind == "props":
        pairs = [("visitors", "visitors"), ("pageviews", "pageviews")]
    else:
        pairs = [(m, m) for m in _GRAPH if not (kind == "page" and m == "views_per_visit")]
    params = state.v1_params(metrics=",".join(m for m, _ in pairs))
    if state.interval:
        params["interval"] = state.interval
    query = v1_request(site, goals, params, now).timeseries(dashboard=True)
    body = timeseries_json(query, stats.run(query))["results"]
    rows = [[row["date"], *(row[m] for m, _ in pairs)] for row in body]
    return _csv(["date", *(c for _, c in pairs)], rows)


def _report(
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
    prop: str,
    wanted: Sequence[tuple[str, str]],
    limit: int,
) -> bytes:
    chosen = report_columns(prop, state.kind, wanted)
    metrics = [m for m, _ in chosen if m != "exit_rate"]
    body = breakdown_rows(stats, site, goals, state, now, prop, metrics, limit=limit)
    versioned = prop in ("visit:browser_version", "visit:os_version")
    header = ["name", "version"] if versioned else ["name"]
    exits = _exit_rates(stats, site, goals, state, now, body) if prop == "visit:exit_page" else {}
    rows = []
    for r in body:
        if prop == "visit:browser_version":
            names = [r["browser"], r["browser_version"]]
        elif prop == "visit:os_version":
            names = [r["os"], r["os_version"]]
        elif prop == "visit:country":
            names = [country_name(str(r["country"]))]
        elif prop == "visit:region":
            names = [region_name(str(r["region"]))]
        else:
            names = [r[prop.split(":", 1)[1]]]
        values = {**r, "exit_rate": exits.get(str(r.get("exit_page")))}
        rows.append([*names, *(values[m] for m, _ in chosen)])
    return _csv([*header, *(c for _, c in chosen)], rows)


def _exit_rates(
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
    exits: list[dict[str, Any]],
) -> dict[str, float | None]:
    """Exits as a share of each exit page's pageviews, ``round(100 * exits / pageviews, 1)``."""
    if state.kind != "plain" or not exits:
        return {}
    pages = [str(r["exit_page"]) for r in exits]
    views = breakdown_rows(
        stats,
        site,
        goals,
        state,
        now,
        "event:page",
        ("pageviews",),
        limit=len(pages),
        extra_filters=[["is", "event:page", pages]],
    )
    by_page = {str(r["page"]): int(r["pageviews"]) for r in views}
    rates: dict[str, float | None] = {}
    for r in exits:
        seen = by_page.get(str(r["exit_page"]))
        rates[str(r["exit_page"])] = round(100 * int(r["visits"]) / seen, 1) if seen else None
    return rates


def _custom_props(
    stats: StatsEngine,
    site: Site,
    goals: tuple[Goal, ...],
    state: DashboardState,
    now: dt.datetime,
) -> bytes | None:
    """``custom_props.csv``: every property's values; None when no event carries one."""
    dates = resolve_range(state, now)
    start, end = utc_bounds(dates, site.timezone)
    names = stats.property_names(site.id, start, end)
    if not names:
        return None
    share = "conversion_rate" if state.kind == "goal" else "percentage"
    metrics = ["visitors", "events", share]
    rows: list[list[Any]] = []
    for name in names:
        prop = f"event:props:{name}"
        body = {
            "metrics": metrics,
            "date_range": [dates.first.isoformat(), dates.last.isoformat()],
            "filters": state.v2_filters(always_on_filters(prop, state)),
            "dimensions": [prop],
            "order_by": [["visitors", "desc"], [prop, "asc"]],
            "pagination": {"limit": LIMIT},
        }
        result = stats.run(v2_query(site, goals, body, now))
        rows.extend([name, dims[0], *values] for dims, values in result.rows)
    return _csv(["property", "value", *metrics], rows)
