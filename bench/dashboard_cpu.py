"""CPU per uncached dashboard request: the dashboards mix asked in-process, one at a time.

Usage::

    python bench/dashboard_cpu.py --events 1000000 --dashboards 40

The load test's figures (`bench/dashboard_load.py`) depend on what else the machine is doing;
the CPU a question costs does much less, and two cores answer about 2 / (CPU per request)
requests per second at best. This builds (once; reused while ``--workdir`` holds it) the same
store as `bench/dashboard_load.py`, draws ``--dashboards`` dashboards from the load test's
varied-filter mix (seeded), parses each request as the v1 API does and runs its queries
through the stats engine without a cache, timing the process's CPU (DuckDB's threads
included). Prints Markdown: CPU per request by panel and the ceiling it implies.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from stats_queries import _queries

from footfall.clock import FixedClock
from footfall.devtools.loadtest.dashboards import dashboard
from footfall.meta.goals import list_goals
from footfall.meta.sites import get_site
from footfall.services import Services
from footfall.settings import load_settings
from footfall.stats.cache import NullCache
from footfall.stats.engine import StatsEngine
from footfall.stats.v1 import V1Request

SITE = "bench.example"


def _build(data: Path, events: int) -> None:
    if (data / "events.duckdb").exists():
        return
    subprocess.run(
        [sys.executable, "-m", "footfall", "demo-data", "--site", SITE, "--events", str(events),
         "--days", "30", "--data-dir", str(data)],
        check=True,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--dashboards", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=Path("bench/out/dashboard-load"))
    args = parser.parse_args()
    data = args.workdir / f"data-{args.events}"
    _build(data, args.events)
    settings = load_settings({"data_dir": data}, environ={})
    services = Services.open(settings, clock=FixedClock(dt.datetime.now(dt.UTC)))
    site = get_site(services.meta, SITE)
    goals = tuple(list_goals(services.meta, site.id))
    last = services.store.query("SELECT max(timestamp) FROM events", [], timeout=60, tag="")
    today = last[0][0].date()
    now = dt.datetime.combine(today, dt.time(23), tzinfo=dt.UTC)
    engine = StatsEngine(services.store, now=lambda: now, cache=NullCache())
    rng = random.Random(args.seed)
    by_kind: dict[str, list[float]] = {}
    for _ in range(args.dashboards):
        for request in dashboard(SITE, rng, today):
            params = {k: v for k, v in request.params.items() if k != "site_id"}
            v1 = V1Request(params, site_id=site.id, timezone=site.timezone, goals=goals, now=now)
            started = time.process_time()
            for query in _queries(v1, request.kind):
                engine.run(query)
            by_kind.setdefault(request.kind, []).append((time.process_time() - started) * 1000)
    services.close()
    every = [ms for values in by_kind.values() for ms in values]
    mean = statistics.mean(every)
    print(f"{len(every)} requests ({args.dashboards} dashboards, seed {args.seed}), uncached\n")
    print("| request | CPU ms mean | CPU ms p95 |")
    print("|---|---:|---:|")
    for kind, values in by_kind.items():
        p95 = sorted(values)[round(0.95 * (len(values) - 1))]
        print(f"| {kind} | {statistics.mean(values):.1f} | {p95:.1f} |")
    print(f"| all | {mean:.1f} | {sorted(every)[round(0.95 * (len(every) - 1))]:.1f} |")
    print(f"\nceiling on 2 cores: about {2000 / mean:.0f} requests/s")


if __name__ == "__main__":
    main()
