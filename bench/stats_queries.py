"""Stats API query speed on a large store, next to naive SQL asking the same questions.

Usage::

    python bench/stats_queries.py --events 10000000 --runs 20 --workdir bench-data

Builds (once; reused while ``--workdir`` holds it) a store of seeded demo traffic — 30 days,
one site — through ``footfall import``. Then, in one process, for each query shape: the v1
request is parsed and run through the stats engine uncached (p50/p95 over ``--runs``), then
cached, and the same question is asked in naive SQL straight on the DuckDB tables. Also times
the whole 30-day dashboard (every panel requested at once, six at a time, as a browser does)
uncached and cached, checks that
the engine's visitor counts equal exact ``count(DISTINCT visitor_id)`` per row, and reports
RSS. Prints Markdown; ``--json`` prints the same data as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from footfall.clock import FixedClock
from footfall.devtools.traffic import write_ndjson
from footfall.meta.sites import get_site
from footfall.services import Services
from footfall.settings import load_settings
from footfall.stats.cache import MemoryCache, NullCache
from footfall.stats.engine import StatsEngine
from footfall.stats.model import Query
from footfall.stats.v1 import V1Request

DOMAIN = "bench.example"
END = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
NOW = END + dt.timedelta(hours=12)
MONTH = {"period": "30d", "date": "2026-11-01"}
S, E = "2026-10-02 00:00:00", "2026-10-31 23:59:59"

# name → (v1 endpoint, params, naive SQL for the same question)
SHAPES: dict[str, tuple[str, dict[str, str], str]] = {
    "aggregate": (
        "aggregate",
        {
            **MONTH,
            "metrics": "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration",
        },
        f"""SELECT count(DISTINCT visitor_id), count(DISTINCT session_id),
                   count(*) FILTER (WHERE name = 'pageview') FROM events
            WHERE site_id = 1 AND timestamp BETWEEN '{S}' AND '{E}' AND name <> 'engagement'""",
    ),
    "timeseries, daily (the dashboard's main graph)": (
        "timeseries",
        {**MONTH, "metrics": "visitors"},
        f"""SELECT date_trunc('day', timestamp), count(DISTINCT visitor_id) FROM events
            WHERE site_id = 1 AND timestamp BETWEEN '{S}' AND '{E}' GROUP BY 1""",
    ),
    "timeseries, daily, visitors + pageviews": (
        "timeseries",
        {**MONTH, "metrics": "visitors,pageviews"},
        f"""SELECT date_trunc('day', timestamp), count(DISTINCT visitor_id),
                   count(*) FILTER (WHERE name = 'pageview') FROM events
            WHERE site_id = 1 AND timestamp BETWEEN '{S}' AND '{E}' GROUP BY 1""",
    ),
    "timeseries, hourly (one day)": (
        "timeseries",
        {"period": "day", "date": "2026-10-20", "metrics": "visitors,pageviews"},
        """SELECT date_trunc('hour', timestamp), count(DISTINCT visitor_id), count(*)
           FROM events WHERE site_id = 1
             AND timestamp BETWEEN '2026-10-20 00:00:00' AND '2026-10-20 23:59:59'
           GROUP BY 1""",
    ),
    "top pages": (
        "breakdown",
        {**MONTH, "property": "event:page", "metrics": "visitors,pageviews"},
        f"""SELECT pathname, count(DISTINCT visitor_id) v, count(*) FROM events
            WHERE site_id = 1 AND timestamp BETWEEN '{S}' AND '{E}' AND name = 'pageview'
            GROUP BY 1 ORDER BY v DESC LIMIT 100""",
    ),
    "sources": (
        "breakdown",
        {**MONTH, "property": "visit:source", "metrics": "visitors,bounce_rate"},
        f"""SELECT referrer_source, count(DISTINCT visitor_id) v,
                   avg(is_bounce::INTEGER) FROM sessions
            WHERE site_id = 1 AND timestamp >= '{S}' AND start <= '{E}'
            GROUP BY 1 ORDER BY v DESC LIMIT 100""",
    ),
    "countries": (
        "breakdown",
        {**MONTH, "property": "visit:country", "metrics": "visitors"},
        f"""SELECT country, count(DISTINCT visitor_id) v FROM sessions
            WHERE site_id = 1 AND timestamp >= '{S}' AND start <= '{E}'
            GROUP BY 1 ORDER BY v DESC LIMIT 100""",
    ),
    "filtered aggregate (page prefix + country)": (
        "aggregate",
        {
            **MONTH,
            "metrics": "visitors,pageviews",
            "filters": "event:page==/blog*;visit:country==US",
        },
        f"""SELECT count(DISTINCT visitor_id), count(*) FILTER (WHERE name = 'pageview')
            FROM events WHERE site_id = 1 AND timestamp BETWEEN '{S}' AND '{E}'
              AND pathname LIKE '/blog%' AND country = 'US'""",
    ),
}

DASHBOARD: list[tuple[str, dict[str, str]]] = [
    (
        "aggregate",
        {
            **MONTH,
            "metrics": "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration",
            "compare": "previous_period",
        },
    ),
    ("timeseries", {**MONTH, "metrics": "visitors"}),
    *(
        ("breakdown", {**MONTH, "property": prop, "limit": "9"})
        for prop in (
            "visit:source",
            "visit:channel",
            "visit:utm_source",
            "event:page",
            "visit:entry_page",
            "visit:exit_page",
            "visit:country",
            "visit:browser",
            "visit:os",
            "visit:device",
            "event:goal",
        )
    ),
]


def _build(workdir: Path, events: int) -> Path:
    data = workdir / f"data-{events}"
    if (data / "events.duckdb").exists():
        return data
    source = workdir / f"events-{events}.ndjson"
    with source.open("w") as handle:
        write_ndjson(handle, domain=DOMAIN, events=events, days=30, end=END)
    ff = [sys.executable, "-m", "footfall"]
    subprocess.run([*ff, "site", "add", DOMAIN, "--data-dir", str(data)], check=True)
    subprocess.run(
        [*ff, "import", str(source), "--site", DOMAIN, "--data-dir", str(data)], check=True
    )
    source.unlink()
    return data


def _timed(func: Callable[[], Any], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _queries(request: V1Request, endpoint: str) -> list[Query]:
    if endpoint == "aggregate":
        query, compare = request.aggregate()
        return [query] + ([compare] if compare else [])
    if endpoint == "timeseries":
        return [request.timeseries()]
    query, compare, _ = request.breakdown()
    return [query] + ([compare] if compare else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=Path("bench-data"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    data = _build(args.workdir, args.events)
    settings = load_settings({"data_dir": data}, environ={})
    services = Services.open(settings, clock=FixedClock(NOW))
    site = get_site(services.meta, DOMAIN)
    uncached = StatsEngine(services.store, now=services.clock.now, cache=NullCache())
    cached = StatsEngine(services.store, now=services.clock.now, cache=MemoryCache(1000))

    def ask(engine: StatsEngine, endpoint: str, params: dict[str, str]) -> None:
        request = V1Request(params, site_id=site.id, timezone=site.timezone, goals=(), now=NOW)
        for query in _queries(request, endpoint):
            engine.run(query)

    rows: list[dict[str, Any]] = []
    with services.store.cursor() as cur:
        for name, (endpoint, params, naive_sql) in SHAPES.items():
            ask(uncached, endpoint, params)  # warm the file cache, as a running server has
            cold = _timed(lambda e=endpoint, p=params: ask(uncached, e, p), args.runs)
            warm = _timed(lambda e=endpoint, p=params: ask(cached, e, p), args.runs + 1)[1:]
            naive = _timed(lambda s=naive_sql: cur.execute(s).fetchall(), max(5, args.runs // 2))
            rows.append(
                {
                    "query": name,
                    "p50_ms": round(statistics.median(cold), 1),
                    "p95_ms": round(_p(cold, 0.95), 1),
                    "cached_p50_ms": round(statistics.median(warm), 2),
                    "cached_p95_ms": round(_p(warm, 0.95), 2),
                    "naive_p50_ms": round(statistics.median(naive), 1),
                    "naive_p95_ms": round(_p(naive, 0.95), 1),
                }
            )
        # Exactness: the engine's visitors per page and per source against count(DISTINCT).
        worst = 0
        for prop, column, table in (
            ("event:page", "pathname", "events WHERE name = 'pageview' AND"),
            ("visit:source", "referrer_source", "sessions WHERE"),
        ):
            request = V1Request(
                {**MONTH, "property": prop, "limit": "1000"},
                site_id=site.id,
                timezone=site.timezone,
                goals=(),
                now=NOW,
            )
            query = request.breakdown()[0]
            got = {dims[0]: values[0] for dims, values in uncached.run(query).rows}
            time_range = (
                f"timestamp BETWEEN '{S}' AND '{E}'"
                if table.startswith("events")
                else f"timestamp >= '{S}' AND start <= '{E}'"
            )
            exact = dict(
                cur.execute(
                    f"SELECT {column}, count(DISTINCT visitor_id) FROM {table} site_id = 1 "
                    f"AND {time_range} GROUP BY 1"
                ).fetchall()
            )
            for key, value in got.items():
                raw = "" if key == "Direct / None" else key
                worst = max(worst, abs(value - exact.get(raw, 0)))
    # A browser asks for the panels at once, over about six connections.
    pool = ThreadPoolExecutor(max_workers=6)

    def dashboard(engine: StatsEngine) -> None:
        list(pool.map(lambda panel: ask(engine, *panel), DASHBOARD))

    dash_cold = _timed(lambda: dashboard(uncached), max(3, args.runs // 4))
    dash_warm = _timed(lambda: dashboard(cached), args.runs + 1)[1:]
    pool.shutdown()
    result = {
        "events": services.store.count_events(site.id),
        "queries": rows,
        "dashboard": {
            "panels": len(DASHBOARD),
            "p50_ms": round(statistics.median(dash_cold), 1),
            "p95_ms": round(_p(dash_cold, 0.95), 1),
            "cached_p50_ms": round(statistics.median(dash_warm), 2),
            "cached_p95_ms": round(_p(dash_warm, 0.95), 2),
        },
        "max_visitor_error": worst,
        "rss_mb": round(_rss_mb(), 0),
    }
    services.close()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['events']:,} events; runs per shape: {args.runs}\n")
    print("| query | p50 ms | p95 ms | cached p50 ms | cached p95 ms | naive SQL p50 | naive p95 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['query']} | {r['p50_ms']} | {r['p95_ms']} | {r['cached_p50_ms']} | "
            f"{r['cached_p95_ms']} | {r['naive_p50_ms']} | {r['naive_p95_ms']} |"
        )
    d = result["dashboard"]
    print(
        f"| whole dashboard ({d['panels']} panels) | {d['p50_ms']} | {d['p95_ms']} | "
        f"{d['cached_p50_ms']} | {d['cached_p95_ms']} | | |"
    )
    print(f"\nlargest visitor-count difference from count(DISTINCT): {worst}")
    print(f"RSS after the run: {result['rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
