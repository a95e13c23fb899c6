"""Backup, restore and export: throughput and peak memory of each command, by history size.

Usage::

    python bench/lifecycle.py --events 100000 1000000 --runs 3
    python bench/lifecycle.py --events 10000000 --runs 1

For each size: generates seeded demo traffic over 30 days (not timed), imports it into a fresh
data directory (not timed), then runs each command as its own process, ``--runs`` times, and
reports the median wall time, events per second, the output's size, and the process's peak
resident memory (``ru_maxrss`` of that child, from ``wait4``). Memory that stays flat as the
history grows tenfold is what the streaming promises. Prints a Markdown table; ``--json``
prints the same rows as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from footfall.devtools.traffic import write_ndjson

FOOTFALL = [sys.executable, "-m", "footfall"]
DOMAIN = "bench.example"


def _timed(args: list[str]) -> tuple[float, int]:
    """Runs a command; returns its wall time and peak RSS in bytes (it must succeed)."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {errors}")
    return elapsed, usage.ru_maxrss * 1024  # kilobytes on Linux


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _prepare(work: Path, events: int) -> tuple[Path, int]:
    source = work / "events.ndjson"
    with source.open("w") as handle:
        lines = write_ndjson(
            handle,
            domain=DOMAIN,
            events=events,
            days=30,
            end=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        )
    data = work / "data"
    subprocess.run(
        [*FOOTFALL, "site", "add", DOMAIN, "--data-dir", str(data)], check=True, capture_output=True
    )
    subprocess.run(
        [*FOOTFALL, "import", "--site", DOMAIN, str(source), "--data-dir", str(data)],
        check=True,
        capture_output=True,
    )
    source.unlink()
    return data, lines


def _commands(work: Path, data: Path) -> list[tuple[str, list[str], Path]]:
    """(name, command, output) of each measured command, in an order where each has its input."""
    backup = work / "backup.tar"
    restored = work / "restored"
    export = [*FOOTFALL, "export", "--site", DOMAIN, "--data-dir", str(data), "--format"]
    return [
        ("backup", [*FOOTFALL, "backup", str(backup), "--data-dir", str(data)], backup),
        ("restore", [*FOOTFALL, "restore", str(backup), "--data-dir", str(restored)], restored),
        ("export csv", [*export, "csv", str(work / "e.zip")], work / "e.zip"),
        ("export ndjson", [*export, "ndjson", str(work / "e.ndjson")], work / "e.ndjson"),
        ("export parquet", [*export, "parquet", str(work / "e.parquet")], work / "e.parquet"),
    ]


def measure(events: int, runs: int) -> list[dict[str, Any]]:
    """Every command's figures for a history of about `events` events."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="ff-lifecycle-bench-") as tmp:
        work = Path(tmp)
        data, stored = _prepare(work, events)
        for name, command, output in _commands(work, data):
            times, peaks = [], []
            for _ in range(runs):
                if output.exists():
                    shutil.rmtree(output) if output.is_dir() else output.unlink()
                elapsed, peak = _timed(command)
                times.append(elapsed)
                peaks.append(peak)
            seconds = statistics.median(times)
            rows.append(
                {
                    "events": stored,
                    "command": name,
                    "seconds": round(seconds, 2),
                    "events_per_second": round(stored / seconds),
                    "output_mib": round(_size(output) / 1048576, 1),
                    "peak_rss_mib": round(max(peaks) / 1048576),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [row for events in args.events for row in measure(events, args.runs)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print("| events | command | seconds (median) | events/s | output | peak RSS |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['events']:,} | `{row['command']}` | {row['seconds']} | "
            f"{row['events_per_second']:,} | {row['output_mib']} MiB | {row['peak_rss_mib']} MiB |"
        )


if __name__ == "__main__":
    main()
