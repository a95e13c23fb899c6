"""`footfall migrate-events` round trip: DuckDB → ClickHouse (chdb) → DuckDB, same answers.

Usage::

    python bench/migrate_events.py --events 1000000 --workdir bench-data

Imports seeded demo traffic (30 days, one site) into a DuckDB data directory with
``footfall import``, copies it to chdb and from there to a new DuckDB file with
``footfall migrate-events`` (each a whole process, timed), then asks every Stats API shape of
``bench/stats_queries.py`` and the dashboard's panels of all three stores and compares the
answers. Prints Markdown; ``--json`` prints the same data as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from stats_queries import DASHBOARD, DOMAIN, END, NOW, SHAPES, _queries

from footfall.clock import FixedClock
from footfall.devtools.traffic import write_ndjson
from footfall.meta.sites import get_site
from footfall.services import Services
from footfall.settings import load_settings
from footfall.stats.cache import NullCache
from footfall.stats.engine import StatsEngine
from footfall.stats.v1 import V1Request

FOOTFALL = [sys.executable, "-m", "footfall"]


def _run(args: list[str], url: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")}
    if url:
        env["FOOTFALL_EVENTS_URL"] = url
    started = time.perf_counter()
    subprocess.run([*FOOTFALL, *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def _answers(data: Path, url: str | None) -> list[Any]:
    flags: dict[str, Any] = {"data_dir": data, "events_url": url}
    services = Services.open(load_settings(flags, environ={}), clock=FixedClock(NOW))
    try:
        site = get_site(services.meta, DOMAIN)
        engine = StatsEngine(services.store, now=services.clock.now, cache=NullCache())
        out = []
        questions = [(e, p) for e, p, _ in SHAPES.values()] + list(DASHBOARD)
        for endpoint, params in questions:
            request = V1Request(params, site_id=site.id, timezone=site.timezone, goals=(), now=NOW)
            out.append([engine.run(q).rows for q in _queries(request, endpoint)])
        return out
    finally:
        services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("bench-data"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = args.workdir / f"roundtrip-{args.events}"
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    source = work / "events.ndjson"
    with source.open("w") as handle:
        write_ndjson(handle, domain=DOMAIN, events=args.events, days=30, end=END)
    _run(["site", "add", DOMAIN, "--data-dir", str(data)], None)
    imported = _run(["import", str(source), "--site", DOMAIN, "--data-dir", str(data)], None)
    source.unlink()
    chdb = f"chdb://{work / 'chdb'}"
    back = f"duckdb://{work / 'back.duckdb'}"
    to_clickhouse = _run(["migrate-events", "--to", chdb, "--data-dir", str(data)], None)
    to_duckdb = _run(["migrate-events", "--to", back, "--data-dir", str(data)], chdb)
    stores = {
        "DuckDB (imported)": None,
        "ClickHouse (chdb, copied)": chdb,
        "DuckDB (copied back)": back,
    }
    answers = {name: _answers(data, url) for name, url in stores.items()}
    first = answers["DuckDB (imported)"]
    result = {
        "events": args.events,
        "import_s": round(imported, 1),
        "to_clickhouse_s": round(to_clickhouse, 1),
        "to_duckdb_s": round(to_duckdb, 1),
        "questions": len(first),
        "same_answers": {name: a == first for name, a in answers.items()},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.events:,} generated events, {result['questions']} questions\n")
    print("| step | seconds (whole process) |\n|---|---:|")
    print(f"| footfall import into DuckDB | {result['import_s']} |")
    print(f"| migrate-events DuckDB → ClickHouse (chdb) | {result['to_clickhouse_s']} |")
    print(f"| migrate-events ClickHouse → DuckDB | {result['to_duckdb_s']} |")
    print("\n| store | same answers as the import |\n|---|---|")
    for name, same in result["same_answers"].items():
        print(f"| {name} | {'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
