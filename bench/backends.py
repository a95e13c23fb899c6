"""DuckDB next to ClickHouse (chdb, in-process) on the same data, in one run.

Usage::

    python bench/backends.py --events 10000000 --runs 20 --workdir bench-data

Generates seeded demo traffic (30 days, one site; not timed), then for each backend creates a
data directory, registers the site and times the whole ``footfall import`` process into it
(DuckDB: the default file; ClickHouse: ``FOOTFALL_EVENTS_URL=chdb:///…``). It measures bytes per
event on disk (DuckDB: the file; ClickHouse: the active parts of its tables, as
``system.parts`` counts them, once the parts the import wrote are merged), then asks every
Stats API shape of ``bench/stats_queries.py`` through the stats engine on both, uncached
(p50/p95 over ``--runs``) and cached, and the whole 30-day dashboard, and checks that both
give the same answers. Prints Markdown with the ratio ClickHouse / DuckDB per shape; ``--json``
prints the same data as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from stats_queries import DASHBOARD, DOMAIN, END, NOW, SHAPES, _p, _queries, _timed

from footfall.clock import FixedClock
from footfall.devtools.traffic import write_ndjson
from footfall.meta.sites import get_site
from footfall.services import Services
from footfall.settings import load_settings
from footfall.stats.cache import MemoryCache, NullCache
from footfall.stats.engine import StatsEngine
from footfall.stats.v1 import V1Request

FOOTFALL = [sys.executable, "-m", "footfall"]
BACKENDS = ("duckdb", "clickhouse")


def _env(backend: str, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")}
    if backend == "clickhouse":
        env["FOOTFALL_EVENTS_URL"] = f"chdb://{data / 'chdb'}"
    return env


def _import(backend: str, data: Path, source: Path) -> float:
    """Seconds the whole ``footfall import`` process takes into a fresh store."""
    env = _env(backend, data)
    subprocess.run(
        [*FOOTFALL, "site", "add", DOMAIN, "--data-dir", str(data)],
        env=env,
        check=True,
        capture_output=True,
    )
    started = time.perf_counter()
    subprocess.run(
        [*FOOTFALL, "import", str(source), "--site", DOMAIN, "--data-dir", str(data)],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def _bytes_on_disk(backend: str, services: Services) -> int:
    store = services.store
    if backend == "duckdb":
        path = services.settings.event_store_path
        return path.stat().st_size
    # Merging the import's parts is what ClickHouse does in the background anyway.
    for table in ("events", "sessions"):
        store.query(f"OPTIMIZE TABLE {table} FINAL", [], timeout=3600, tag="bench")
    rows = store.query(
        "SELECT sum(bytes_on_disk) FROM system.parts WHERE active "
        "AND database = currentDatabase() AND table IN ('events', 'sessions')",
        [],
        timeout=60,
        tag="bench",
    )
    return int(rows[0][0])


def _measure(backend: str, data: Path, runs: int) -> dict[str, Any]:
    settings = load_settings({"data_dir": data}, environ=_env(backend, data))
    services = Services.open(settings, clock=FixedClock(NOW))
    try:
        site = get_site(services.meta, DOMAIN)
        events = services.store.count_events(site.id)
        on_disk = _bytes_on_disk(backend, services)
        uncached = StatsEngine(
            services.store, now=services.clock.now, cache=NullCache(), timeout_seconds=300
        )
        cached = StatsEngine(
            services.store, now=services.clock.now, cache=MemoryCache(1000), timeout_seconds=300
        )

        def ask(engine: StatsEngine, endpoint: str, params: dict[str, str]) -> list[Any]:
            request = V1Request(params, site_id=site.id, timezone=site.timezone, goals=(), now=NOW)
            return [engine.run(q).rows for q in _queries(request, endpoint)]

        shapes: dict[str, Any] = {}
        answers: dict[str, Any] = {}
        for name, (endpoint, params, _) in SHAPES.items():
            answers[name] = ask(uncached, endpoint, params)  # warms the file cache
            cold = _timed(lambda e=endpoint, p=params: ask(uncached, e, p), runs)
            warm = _timed(lambda e=endpoint, p=params: ask(cached, e, p), runs + 1)[1:]
            shapes[name] = {
                "p50_ms": round(statistics.median(cold), 1),
                "p95_ms": round(_p(cold, 0.95), 1),
                "cached_p50_ms": round(statistics.median(warm), 2),
                "cached_p95_ms": round(_p(warm, 0.95), 2),
            }
        pool = ThreadPoolExecutor(max_workers=6)

        def dashboard(engine: StatsEngine) -> None:
            list(pool.map(lambda panel: ask(engine, *panel), DASHBOARD))

        dash_cold = _timed(lambda: dashboard(uncached), max(3, runs // 4))
        dash_warm = _timed(lambda: dashboard(cached), runs + 1)[1:]
        pool.shutdown()
        return {
            "events": events,
            "bytes_per_event": round(on_disk / max(events, 1), 1),
            "shapes": shapes,
            "answers": answers,
            "dashboard": {
                "p50_ms": round(statistics.median(dash_cold), 1),
                "p95_ms": round(_p(dash_cold, 0.95), 1),
                "cached_p50_ms": round(statistics.median(dash_warm), 2),
                "cached_p95_ms": round(_p(dash_warm, 0.95), 2),
            },
        }
    finally:
        services.close()


def _build(workdir: Path, events: int) -> dict[str, float]:
    """Imports the same file into both backends (once per workdir); returns import seconds."""
    timings = workdir / f"backends-{events}-import.json"
    seconds: dict[str, float] = json.loads(timings.read_text()) if timings.exists() else {}
    missing = [b for b in BACKENDS if b not in seconds or not (workdir / f"{b}-{events}").exists()]
    if not missing:
        return seconds
    source = workdir / f"events-{events}.ndjson"
    with source.open("w") as handle:
        write_ndjson(handle, domain=DOMAIN, events=events, days=30, end=END)
    for backend in missing:
        seconds[backend] = _import(backend, workdir / f"{backend}-{events}", source)
        timings.write_text(json.dumps(seconds))
    source.unlink()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=Path("bench-data"))
    parser.add_argument("--only", choices=BACKENDS, help="measure one backend (one process each)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    imports = _build(args.workdir, args.events)
    if args.only:
        found = _measure(args.only, args.workdir / f"{args.only}-{args.events}", args.runs)
        print(json.dumps(found, default=str))
        return
    # Each backend in a process of its own, one after the other: neither one's caches,
    # threads or memory weigh on the other's figures.
    results: dict[str, Any] = {}
    for backend in BACKENDS:
        out = subprocess.run(
            [sys.executable, __file__, *sys.argv[1:], "--only", backend],
            check=True,
            capture_output=True,
            text=True,
        )
        results[backend] = json.loads(out.stdout.strip().splitlines()[-1])
    duck, click = results["duckdb"], results["clickhouse"]
    same = duck["answers"] == click["answers"]
    report = {
        "events": duck["events"],
        "import_events_per_s": {b: round(duck["events"] / imports[b]) for b in BACKENDS},
        "bytes_per_event": {b: results[b]["bytes_per_event"] for b in BACKENDS},
        "shapes": {b: results[b]["shapes"] for b in BACKENDS},
        "dashboard": {b: results[b]["dashboard"] for b in BACKENDS},
        "same_answers": same,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['events']:,} events, 30 days, one site; runs per shape: {args.runs}\n")
    print("| | DuckDB | ClickHouse (chdb) | ratio |")
    print("|---|---:|---:|---:|")
    ips = report["import_events_per_s"]
    print(
        f"| import, events/s (whole process) | {ips['duckdb']:,} | {ips['clickhouse']:,} | "
        f"{ips['clickhouse'] / ips['duckdb']:.2f} |"
    )
    bpe = report["bytes_per_event"]
    print(
        f"| bytes per event (events + sessions) | {bpe['duckdb']} | {bpe['clickhouse']} | "
        f"{bpe['clickhouse'] / bpe['duckdb']:.2f} |"
    )
    print("\nUncached p50 / p95 ms, cached p50 ms; ratio = ClickHouse p50 / DuckDB p50.\n")
    print(
        "| query | DuckDB p50 / p95 | ClickHouse p50 / p95 | ratio | cached DuckDB / ClickHouse |"
    )
    print("|---|---:|---:|---:|---:|")
    rows = [*SHAPES, "whole dashboard"]
    for name in rows:
        d = duck["dashboard"] if name == "whole dashboard" else duck["shapes"][name]
        c = click["dashboard"] if name == "whole dashboard" else click["shapes"][name]
        print(
            f"| {name} | {d['p50_ms']} / {d['p95_ms']} | {c['p50_ms']} / {c['p95_ms']} | "
            f"{c['p50_ms'] / d['p50_ms']:.2f} | {d['cached_p50_ms']} / {c['cached_p50_ms']} |"
        )
    print(f"\nsame answers on both backends: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
