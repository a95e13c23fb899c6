"""The load test's traffic as plain data: a weighted dashboard query mix and ingest events.

Standard library only (no httpx, no asyncio), like the traffic generator the ingest events
come from: ``bench/locustfile.py`` imports this module in Locust's own process. Randomness comes
in as a `random.Random`, so a seed replays the same sequence of queries and events.

The weights model people looking at a dashboard: most look at the default view (the last 30
days, unfiltered), fewer at today or a month, a few apply a filter; every view asks the top
stats, the main graph and the panels, and the realtime counter is polled.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from footfall.devtools.traffic import tracker_requests

AGGREGATE = "/api/v1/stats/aggregate"
TIMESERIES = "/api/v1/stats/timeseries"
BREAKDOWN = "/api/v1/stats/breakdown"
REALTIME = "/api/v1/stats/realtime/visitors"
QUERY_V2 = "/api/v2/query"
EVENT = "/api/event"

# (v1 period, weight); the same names are valid v2 date ranges.
PERIODS: tuple[tuple[str, float], ...] = (
    ("30d", 40),
    ("7d", 20),
    ("day", 20),
    ("month", 12),
    ("6mo", 8),
)
# The v1 timeseries interval the dashboard asks for each period (None: the default, hourly).
INTERVALS: Mapping[str, str | None] = {
    "day": None,
    "7d": "date",
    "30d": "date",
    "month": "date",
    "6mo": "month",
}
# (dimension, value, weight); None is the unfiltered view.
FILTERS: tuple[tuple[str, str, float] | None, ...] = (
    None,
    ("visit:source", "Google", 8),
    ("event:page", "/", 7),
    ("visit:country", "US", 6),
    ("visit:device", "Desktop", 5),
    ("visit:browser", "Chrome", 4),
)
UNFILTERED_WEIGHT = 70.0
# Share of aggregates and breakdowns that compare with the previous period.
COMPARE_SHARE = 0.4
TOP_STATS = ("visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration")
# (property, metrics, weight) of the breakdown panels.
BREAKDOWNS: tuple[tuple[str, str, float], ...] = (
    ("visit:source", "visitors,bounce_rate,visit_duration", 8),
    ("event:page", "visitors,pageviews", 8),
    ("visit:country", "visitors", 5),
    ("visit:browser", "visitors", 3),
    ("visit:device", "visitors", 3),
    ("visit:os", "visitors", 2),
    ("visit:utm_source", "visitors", 2),
    ("visit:entry_page", "visitors", 2),
)
ROWS_PER_PANEL = "9"
# Weight of each kind of request, as a share of all Stats API requests (the breakdowns' own
# weights split BREAKDOWN_WEIGHT).
AGGREGATE_WEIGHT = 14.0
TIMESERIES_WEIGHT = 14.0
BREAKDOWN_WEIGHT = 56.0
REALTIME_WEIGHT = 6.0
V2_WEIGHT = 10.0


@dataclass(frozen=True, eq=False)
class StatsRequest:
    """One Stats API request of the mix.

    Attributes:
        kind: The query's shape, e.g. ``breakdown visit:source`` (periods and filters vary
            within a kind); the report summarises latency per kind too.
        method: ``GET`` or ``POST``.
        path: The endpoint, which is also the report's row for it.
        params: Query-string parameters.
        body: The JSON body of a POST.
        weight: Relative frequency in the mix.
    """

    kind: str
    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None
    weight: float = 1.0

    def describe(self) -> str:
        """The request as one line, for messages and tests."""
        if self.body is not None:
            return f"{self.method} {self.path} {json.dumps(self.body, sort_keys=True)}"
        query = "&".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.method} {self.path}?{query}"


def _filter_weights() -> list[tuple[tuple[str, str] | None, float]]:
    filtered = sum(f[2] for f in FILTERS if f is not None)
    out: list[tuple[tuple[str, str] | None, float]] = []
    for item in FILTERS:
        if item is None:
            out.append((None, UNFILTERED_WEIGHT / (UNFILTERED_WEIGHT + filtered)))
        else:
            out.append(((item[0], item[1]), item[2] / (UNFILTERED_WEIGHT + filtered)))
    return out


def _period_weights() -> list[tuple[str, float]]:
    total = sum(w for _, w in PERIODS)
    return [(p, w / total) for p, w in PERIODS]


def _v1_params(site: str, period: str, flt: tuple[str, str] | None) -> dict[str, str]:
    params = {"site_id": site, "period": period}
    if flt is not None:
        params["filters"] = f"{flt[0]}=={flt[1]}"
    return params


def _v1_requests(site: str) -> list[StatsRequest]:
    out: list[StatsRequest] = []
    views = itertools.product(_period_weights(), _filter_weights())
    breakdown_total = sum(w for _, _, w in BREAKDOWNS)
    for (period, period_w), (flt, filter_w) in views:
        view_w = period_w * filter_w
        base = _v1_params(site, period, flt)
        # views_per_visit cannot follow a page filter (Plausible's rule).
        top = [
            m for m in TOP_STATS if not (flt and flt[0] == "event:page" and m == "views_per_visit")
        ]
        for compare, share in ((False, 1 - COMPARE_SHARE), (True, COMPARE_SHARE)):
            extra = {"compare": "previous_period"} if compare else {}
            out.append(
                StatsRequest(
                    "aggregate",
                    "GET",
                    AGGREGATE,
                    {**base, "metrics": ",".join(top), **extra},
                    weight=AGGREGATE_WEIGHT * view_w * share,
                )
            )
            for prop, metrics, prop_w in BREAKDOWNS:
                params = {**base, "property": prop, "metrics": metrics, "limit": ROWS_PER_PANEL}
                out.append(
                    StatsRequest(
                        f"breakdown {prop}",
                        "GET",
                        BREAKDOWN,
                        {**params, **extra},
                        weight=BREAKDOWN_WEIGHT * view_w * share * prop_w / breakdown_total,
                    )
                )
        params = {**base, "metrics": "visitors,pageviews"}
        interval = INTERVALS[period]
        if interval is not None:
            params["interval"] = interval
        out.append(
            StatsRequest("timeseries", "GET", TIMESERIES, params, weight=TIMESERIES_WEIGHT * view_w)
        )
    return out


def _v2_bodies(site: str, period: str, flt: tuple[str, str] | None) -> list[dict[str, Any]]:
    filters = [] if flt is None else [["is", flt[0], [flt[1]]]]
    common: dict[str, Any] = {"site_id": site, "date_range": period, "filters": filters}
    return [
        {**common, "metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]},
        {
            **common,
            "metrics": ["visitors", "bounce_rate"],
            "dimensions": ["visit:source"],
            "order_by": [["visitors", "desc"]],
            "pagination": {"limit": 10},
        },
        {
            **common,
            "metrics": ["visitors", "pageviews"],
            "dimensions": ["event:page"],
            "pagination": {"limit": 10},
            "include": {"total_rows": True},
        },
        {**common, "metrics": ["visitors"], "dimensions": ["time"]},
    ]


_V2_KINDS = ("v2 aggregate", "v2 sources", "v2 pages", "v2 timeseries")


def _v2_requests(site: str) -> list[StatsRequest]:
    out: list[StatsRequest] = []
    for (period, period_w), (flt, filter_w) in itertools.product(
        _period_weights(), _filter_weights()
    ):
        bodies = _v2_bodies(site, period, flt)
        for kind, body in zip(_V2_KINDS, bodies, strict=True):
            weight = V2_WEIGHT * period_w * filter_w / len(bodies)
            out.append(StatsRequest(kind, "POST", QUERY_V2, body=body, weight=weight))
    return out


class QueryMix:
    """Every request of the dashboard mix for one site, and a weighted pick among them.

    Attributes:
        requests: The distinct requests, each with its weight.
    """

    def __init__(self, site: str) -> None:
        realtime = StatsRequest(
            "realtime", "GET", REALTIME, {"site_id": site}, weight=REALTIME_WEIGHT
        )
        self.requests: tuple[StatsRequest, ...] = (
            *_v1_requests(site),
            realtime,
            *_v2_requests(site),
        )
        self._cumulative = list(itertools.accumulate(r.weight for r in self.requests))

    def pick(self, rng: random.Random) -> StatsRequest:
        """One request, drawn with the mix's weights."""
        return rng.choices(self.requests, cum_weights=self._cumulative)[0]


def think_seconds(rng: random.Random, mean_ms: float) -> float:
    """A think time between two requests: exponential with mean `mean_ms` (0 means none)."""
    if mean_ms <= 0:
        return 0.0
    return rng.expovariate(1000.0 / mean_ms)


# -- ingest --------------------------------------------------------------------------------

# Visitors the ingest events come from: enough that ingest's per-address rate limit sees many
# clients, few enough that they keep coming back.
VISITOR_POOL = 2000


class EventFactory:
    """Plausible Events API requests for one site, from the synthetic-traffic generator.

    Events are pageviews and custom events of realistic visits (pages, sources, UTM tags,
    browsers, countries, ~1 % crawlers) from a pool of `visitors`, each an address (sent as
    ``X-Forwarded-For``) and a User-Agent, so that events repeat visitors and form visits of
    several pages.
    """

    def __init__(self, domain: str, rng: random.Random, *, visitors: int = VISITOR_POOL) -> None:
        self.domain = domain
        self._requests = tracker_requests(domain, rng, visitors=max(visitors, 1))

    def next(self) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one ``POST /api/event``, as the tracker sends it."""
        request = next(self._requests)
        return request.body, request.headers
