"""The ops dashboards (admins only): performance, resources and errors of this footfall process.

Drawn from the sampled history (`footfall.monitoring.sampler`) with the dashboard's chart code;
no query reaches the event store. ``?range=`` picks the window: 1h and 6h show every sample,
24h and 7d the 5-minute means (and maxima) of the coarse tier.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.cluster.board import WorkerRow
from footfall.monitoring.history import Sample
from footfall.services import Services
from footfall.web.pages import charts
from footfall.web.pages.accounts import (
    current_user,
    login_redirect,
    not_found,
    redirect,
    render_page,
)

RANGES = {"1h": 3600.0, "6h": 6 * 3600.0, "24h": 86400.0, "7d": 7 * 86400.0}
DEFAULT_RANGE = "1h"
PAGES = (("performance", "Performance"), ("resources", "Resources"), ("errors", "Errors"))
# The most points a chart draws; longer series are averaged into this many buckets.
MAX_POINTS = 120
# A chart's drawing in user units. Charts sit in columns at least 20rem wide, where text that
# footfall.css sets at 14 units is drawn at least 11 px tall.
CHART_WIDTH = 360
CHART_HEIGHT = 200
TOP_ROUTES = 6
MIB = 1024 * 1024


@dataclass(frozen=True)
class Window:
    """The samples of the chosen range, bucketed for drawing."""

    key: str
    samples: list[Sample]
    step: float  # seconds a sample stands for (the sampling interval or the coarse step)

    def labels(self) -> list[str]:
        """Each drawn bucket's local time of day (with the date on multi-day ranges)."""
        fmt = "%a %H:%M" if RANGES[self.key] > 86400 else "%H:%M:%S"
        return [
            dt.datetime.fromtimestamp(group[0].at, dt.UTC).strftime(fmt) for group in self._groups()
        ]

    def _groups(self) -> list[list[Sample]]:
        size = max(1, -(-len(self.samples) // MAX_POINTS))
        return [self.samples[i : i + size] for i in range(0, len(self.samples), size)]

    def series(self, name: str, scale: float = 1.0) -> list[float | None]:
        """`name`'s mean per drawn bucket (None where no sample has it), times `scale`."""
        out: list[float | None] = []
        for group in self._groups():
            values = [s.values[name] for s in group if name in s.values]
            out.append(sum(values) / len(values) * scale if values else None)
        return out

    def total(self, name: str) -> float:
        """`name` summed over the range's samples (times `step`, a rate becomes a count)."""
        return sum(s.values.get(name, 0.0) for s in self.samples)

    def latest(self, name: str) -> float | None:
        """The newest value of `name` in the range."""
        for sample in reversed(self.samples):
            if name in sample.values:
                return sample.values[name]
        return None

    def maximum(self, name: str) -> float | None:
        """The largest value of `name` in the range (of its bucket maxima on the coarse tier)."""
        values = [
            s.values.get(f"{name}:max", s.values[name]) for s in self.samples if name in s.values
        ]
        return max(values) if values else None

    def suffixes(self, prefix: str) -> list[str]:
        """The names after `prefix` (e.g. route templates after ``p95_ms:``) seen in the range."""
        found = {
            name[len(prefix) :]
            for s in self.samples
            for name in s.values
            if name.startswith(prefix) and not name.endswith(":max")
        }
        return sorted(found)


def _state(request: Request) -> Services:
    state: Services = request.app.state.footfall
    return state


def _window(state: Services, key: str) -> Window:
    now = time.time()
    history = state.history
    samples = history.samples(now - RANGES[key], now)
    fine = RANGES[key] <= history.fine_seconds
    return Window(key, samples, history.interval if fine else history.coarse_step)


@dataclass(frozen=True)
class Chart:
    """One chart of a dashboard: its caption, its drawing, and its series' names in order."""

    caption: str
    svg: Markup
    legend: tuple[str, ...]


def _chart(
    window: Window,
    title: str,
    series: Sequence[tuple[str, str]],
    *,
    unit: str = "",
    scale: float = 1.0,
    formatter: Callable[[float], str] = charts.format_number,
) -> Chart:
    svg = charts.multi_line_chart(
        window.labels(),
        [(label, window.series(name, scale)) for label, name in series],
        title=title,
        unit=unit,
        value_formatter=formatter,
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        # The legend is HTML beside the drawing, where it wraps instead of overlapping.
        legend=False,
        compact_axis=True,
    )
    caption = f"{title} ({unit})" if unit else title
    return Chart(caption, svg, tuple(label for label, _ in series))


def _performance(window: Window, state: Services) -> dict[str, Any]:
    routes = window.suffixes("p95_ms:")
    step = window.step
    rows: list[dict[str, Any]] = []
    for route in routes:
        requests = window.total(f"requests_per_s:{route}") * step
        rows.append(
            {
                "route": route,
                "requests": requests,
                "p50": window.latest(f"p50_ms:{route}"),
                "p95": window.latest(f"p95_ms:{route}"),
                "p99": window.latest(f"p99_ms:{route}"),
                "worst_p99": window.maximum(f"p99_ms:{route}"),
            }
        )
    rows.sort(key=lambda row: -row["requests"])
    charts_out = [
        _chart(window, "Requests per second", [("requests/s", "requests_per_s")]),
        _chart(window, "Ingested events per second", [("events/s", "ingest_events_per_s")]),
    ]
    for row in rows[:TOP_ROUTES]:
        route = row["route"]
        charts_out.append(
            _chart(
                window,
                f"Latency of {route}",
                [(q, f"{q}_ms:{route}") for q in ("p50", "p95", "p99")],
                unit="ms",
            )
        )
    endpoints = window.suffixes("query_p95_ms:")
    for endpoint in endpoints[:TOP_ROUTES]:
        charts_out.append(
            _chart(
                window,
                f"Query latency for {endpoint}",
                [(q, f"query_{q}_ms:{endpoint}") for q in ("p50", "p95")],
                unit="ms",
            )
        )
    return {"routes": rows, "charts": charts_out, "slow": state.metrics.slow_queries.slowest()}


def _resources(window: Window, state: Services) -> dict[str, Any]:
    gens = [(f"gen {g}", f"gc_collections_per_s:{g}") for g in range(3)]
    pauses = [(f"gen {g}", f"gc_pause_ms:{g}") for g in range(3)]
    reuse = [(name, f"pool_reuse:{name}") for name in window.suffixes("pool_reuse:")]
    reuse += [(name, f"buffer_reuse:{name}") for name in window.suffixes("buffer_reuse:")]
    dbs = [(name, f"db_bytes:{name}") for name in window.suffixes("db_bytes:")]
    out = [
        _chart(window, "Resident memory (RSS)", [("RSS", "rss_bytes")], unit="MiB", scale=1 / MIB),
        _chart(window, "CPU", [("CPU", "cpu_percent")], unit="%"),
        _chart(window, "GC collections per second", gens),
        _chart(window, "GC pause per interval", pauses, unit="ms"),
        _chart(window, "Open files and threads", [("fds", "open_fds"), ("threads", "threads")]),
        _chart(window, "Database size", dbs, unit="MiB", scale=1 / MIB),
        _chart(window, "Disk free", [("free", "disk_free_bytes")], unit="MiB", scale=1 / MIB),
        _chart(window, "Query cache hit rate", [("hits", "cache_hit_rate")], unit="%", scale=100),
        _chart(window, "Pool and buffer reuse", reuse, unit="%", scale=100),
        _chart(window, "Ingest queue depth", [("events", "queue_depth")]),
    ]
    leaks = state.leaks.status()
    return {"charts": out, "leak": leaks}


def _errors(window: Window, state: Services) -> dict[str, Any]:
    routes: list[dict[str, Any]] = []
    step = window.step
    for route in window.suffixes("errors_5xx_per_s:"):
        client = window.total(f"errors_4xx_per_s:{route}") * step
        server = window.total(f"errors_5xx_per_s:{route}") * step
        if client or server:
            routes.append({"route": route, "client": client, "server": server})
    routes.sort(key=lambda row: (-row["server"], -row["client"]))
    chart = _chart(
        window,
        "Error answers per second",
        [("4xx", "errors_4xx_per_s"), ("5xx", "errors_5xx_per_s")],
        unit="/s",
    )
    return {"charts": [], "chart": chart, "routes": routes, "groups": state.metrics.errors.groups()}


_BUILDERS: dict[str, Callable[[Window, Services], dict[str, Any]]] = {
    "performance": _performance,
    "resources": _resources,
    "errors": _errors,
}


def worker_rows(rows: list[WorkerRow]) -> dict[str, Any]:
    """Each worker's latest figures, and the cluster's (sums; CPU as the workers' total)."""
    totals: dict[str, float] = {}
    for row in rows:
        for name, value in row.figures.items():
            totals[name] = totals.get(name, 0.0) + value
    return {"workers": rows, "cluster": totals}


def _when(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


async def ops_page(request: Request) -> Response:
    """GET /ops/{page}: one ops dashboard, for admins; others get the not-found page."""
    user = await current_user(request)
    if user is None:
        return login_redirect(request)
    page = request.path_params["page"]
    if user.role != "admin" or page not in _BUILDERS:
        return not_found(request)
    key = request.query_params.get("range", DEFAULT_RANGE)
    if key not in RANGES:
        key = DEFAULT_RANGE
    state = _state(request)
    window = _window(state, key)
    workers = (
        await asyncio.to_thread(state.cluster.board.rows)
        if state.cluster is not None and page == "performance"
        else []
    )
    context = {
        "user": user,
        "page": page,
        "pages": PAGES,
        "ranges": list(RANGES),
        "range": key,
        "samples": len(window.samples),
        "interval": state.history.interval,
        "when": _when,
        "ms": lambda v: "-" if v is None else charts.format_number(round(v, 1)),
        **_BUILDERS[page](window, state),
        **worker_rows(workers),
    }
    return render_page(request, "ops.html", context, headers={"Cache-Control": "no-store"})


async def ops_index(request: Request) -> Response:
    """GET /ops: the performance dashboard."""
    return redirect("/ops/performance")


ROUTES = [
    Route("/ops", ops_index, methods=["GET"]),
    Route("/ops/{page}", ops_page, methods=["GET"]),
]
