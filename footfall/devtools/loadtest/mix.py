"""The load test's traffic as plain data: a weighted dashboard query mix and ingest events.

Standard library only (no httpx, no asyncio): ``bench/locustfile.py`` imports this module in
Locust's own process. Randomness comes in as a `random.Random`, so a seed replays the same
sequence of queries.

The weights model people looking at a dashboard: most look at the default view (the last 30
days, unfiltered), fewer at today or a month, a few apply a filter; every view asks the top
stats, the main graph and the panels, and the realtime counter is polled.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

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

T = TypeVar("T")


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

PAGES: tuple[tuple[str, float], ...] = (
    ("/", 30),
    ("/pricing", 10),
    ("/blog", 8),
    ("/blog/self-hosted-analytics", 6),
    ("/blog/privacy-without-cookies", 4),
    ("/docs", 8),
    ("/docs/getting-started", 6),
    ("/docs/api", 4),
    ("/about", 3),
    ("/signup", 5),
)
REFERRERS: tuple[tuple[str | None, float], ...] = (
    (None, 40),
    ("https://www.google.com/", 25),
    ("https://duckduckgo.com/", 5),
    ("https://news.ycombinator.com/", 8),
    ("https://www.reddit.com/r/programming/", 6),
    ("https://github.com/", 6),
    ("https://twitter.com/", 5),
    ("https://www.bing.com/", 5),
)
CAMPAIGNS: tuple[tuple[str, float], ...] = (
    ("", 90),
    ("?utm_source=newsletter&utm_medium=email&utm_campaign=launch", 6),
    ("?utm_source=twitter&utm_medium=social", 4),
)
USER_AGENTS: tuple[tuple[str, float], ...] = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        35,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.1 Safari/605.1.15",
        15,
    ),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", 10),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        20,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36",
        20,
    ),
)
CUSTOM_EVENT_SHARE = 0.05
VISITOR_POOL = 2000


def _public_ipv4(rng: random.Random) -> str:
    """A random address outside the private, loopback, shared and multicast ranges."""
    while True:
        a, b = rng.randint(1, 223), rng.randint(0, 255)
        if a in (10, 127) or (a == 172 and 16 <= b <= 31) or (a, b) in ((192, 168), (169, 254)):
            continue
        if a == 100 and 64 <= b <= 127:
            continue
        return f"{a}.{b}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _weighted(rng: random.Random, items: Sequence[tuple[T, float]]) -> T:
    return rng.choices([i for i, _ in items], weights=[w for _, w in items])[0]


class EventFactory:
    """Plausible Events API payloads for one site, from a fixed pool of visitors.

    Each visitor is an address (sent as ``X-Forwarded-For``) and a User-Agent, so that events
    repeat visitors and form sessions of several pages, and ingest's per-IP rate limit is
    spread over the pool.
    """

    def __init__(self, domain: str, rng: random.Random, *, visitors: int = VISITOR_POOL) -> None:
        self.domain = domain
        self.rng = rng
        self.visitors = [
            (_public_ipv4(rng), _weighted(rng, USER_AGENTS)) for _ in range(max(visitors, 1))
        ]

    def next(self) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one ``POST /api/event``, as the tracker sends it."""
        rng = self.rng
        ip, agent = rng.choice(self.visitors)
        event: dict[str, Any] = {
            "n": "pageview",
            "u": f"https://{self.domain}{_weighted(rng, PAGES)}{_weighted(rng, CAMPAIGNS)}",
            "d": self.domain,
            "r": _weighted(rng, REFERRERS),
        }
        if rng.random() < CUSTOM_EVENT_SHARE:
            event["n"] = "Signup"
            event["p"] = {"plan": rng.choice(("free", "pro", "team"))}
        headers = {
            # The tracker's content type: no CORS preflight in a browser.
            "Content-Type": "text/plain",
            "User-Agent": agent,
            "X-Forwarded-For": ip,
        }
        return json.dumps(event).encode(), headers
