"""Bulk import speed and bytes per event on disk.

Usage::

    python bench/import_and_storage.py --events 1000000 --runs 3
    python bench/import_and_storage.py --events 10000000 --runs 1

Generates a seeded NDJSON file with footfall's demo generator (not timed), then for each run
creates a fresh data directory, registers the site and times the whole ``footfall import``
process. After the last run it measures the event store: the whole file, and each table copied
alone into a fresh DuckDB file (so the figures do not depend on free blocks left by earlier
writes). Prints a Markdown table; ``--json`` prints the same data as JSON. With ``--stages``
it then imports the file once more in-process and prints where that import's time went, stage
by stage (wall and process CPU, DuckDB's threads included), after the start-up it shares with
the command (opening the services, loading the User-Agent rules and country networks).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from footfall.devtools.traffic import write_ndjson
from footfall.lifecycle.importing import import_ndjson
from footfall.meta.sites import get_site
from footfall.services import Services
from footfall.settings import load_settings

FOOTFALL = [sys.executable, "-m", "footfall"]
DOMAIN = "bench.example"


def _ff(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FOOTFALL, *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
    )


def _table_bytes(store: Path, table: str, workdir: Path) -> tuple[int, int]:
    copy = workdir / f"{table}-alone.duckdb"
    copy.unlink(missing_ok=True)
    con = duckdb.connect(str(copy))
    con.execute(f"ATTACH '{store}' AS src (READ_ONLY)")
    con.execute(f"CREATE TABLE t AS SELECT * FROM src.{table}")
    rows = con.execute("SELECT count(*) FROM t").fetchone()
    con.execute("DETACH src")
    con.execute("CHECKPOINT")
    con.close()
    size = copy.stat().st_size
    copy.unlink()
    return size, int(rows[0]) if rows else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--stages", action="store_true", help="time an import's stages too")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ff-import-bench-") as tmp:
        work = Path(tmp)
        source = work / "events.ndjson"
        with source.open("w") as handle:
            lines = write_ndjson(
                handle,
                domain=DOMAIN,
                events=args.events,
                days=args.days,
                end=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            )
        timings: list[float] = []
        stored = 0
        data = work / "data"
        for run in range(args.runs):
            data = work / f"data-{run}"
            _ff(data, "site", "add", DOMAIN)
            started = time.perf_counter()
            result = _ff(data, "import", "--site", DOMAIN, str(source))
            timings.append(time.perf_counter() - started)
            stored = int(result.stdout.split()[1])
            if run < args.runs - 1:
                subprocess.run(["rm", "-rf", str(data)], check=True)
        store = data / "events.duckdb"
        whole = store.stat().st_size
        events_bytes, events_rows = _table_bytes(store, "events", work)
        sessions_bytes, sessions_rows = _table_bytes(store, "sessions", work)
        stages = _stages(source, work / "data-stages") if args.stages else None

    median = statistics.median(timings)
    report = {
        "lines": lines,
        "events_stored": stored,
        "sessions": sessions_rows,
        "runs": [round(t, 2) for t in timings],
        "median_seconds": round(median, 2),
        "lines_per_second": round(lines / median),
        "events_per_second": round(stored / median),
        "file_bytes_per_event": round(whole / stored, 1),
        "events_table_bytes_per_event": round(events_bytes / events_rows, 1),
        "sessions_table_bytes_per_session": round(sessions_bytes / sessions_rows, 1),
        "cpus": os.cpu_count(),
    }
    if stages is not None:
        report["stages"] = stages
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        "| NDJSON lines | events stored | sessions | runs (s) | median s | lines/s | "
        "events/s | file B/event | events table B/event | sessions B/session |"
    )
    print("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {lines:,} | {stored:,} | {sessions_rows:,} | {', '.join(map(str, report['runs']))} "
        f"| {median:.2f} | {report['lines_per_second']:,} | {report['events_per_second']:,} | "
        f"{report['file_bytes_per_event']} | {report['events_table_bytes_per_event']} | "
        f"{report['sessions_table_bytes_per_session']} |"
    )
    if stages is not None:
        print("\n| stage | wall s | CPU s |")
        print("|---|---:|---:|")
        for name, (wall, cpu) in stages.items():
            print(f"| {name} | {wall:.2f} | {cpu:.2f} |")


def _stages(source: Path, data: Path) -> dict[str, tuple[float, float]]:
    """Wall and CPU seconds of each stage of one in-process import of `source` into `data`."""
    _ff(data, "site", "add", DOMAIN)
    marks: list[tuple[str, float, float]] = []

    def mark(name: str) -> None:
        marks.append((name, time.perf_counter(), time.process_time()))

    mark("start-up")
    services = Services.open(load_settings({"data_dir": data}, environ={}))
    try:
        site = get_site(services.meta, DOMAIN)
        import_ndjson(services, site=site, path=source, progress=mark, force=True)
        mark("end")
    finally:
        services.close()
    return {
        name: (round(wall_next - wall, 2), round(cpu_next - cpu, 2))
        for (name, wall, cpu), (_, wall_next, cpu_next) in itertools.pairwise(marks)
    }


if __name__ == "__main__":
    main()
