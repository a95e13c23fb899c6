"""Dashboard users against a real server: builds the store, starts it, runs `footfall loadtest`.

    .venv/bin/python bench/dashboard_load.py --events 10000000 --users 100 --duration 60 --runs 3
    .venv/bin/python bench/dashboard_load.py --events 1000000 --find-capacity --duration 30

Builds (once; reused while --workdir holds it) 30 days of demo traffic with `footfall
demo-data`, starts `footfall serve` on 127.0.0.1, and runs the load test `--runs` times per
mix in a row with ingest alongside: the panel mix (single requests, mostly cached answers) and
the dashboards mix (whole dashboards for varied periods and filters). Prints each run and the
medians as a markdown table. With --restart, each mix's runs are followed by a clean stop, a
new start and one more run: the first minute after a restart. With --find-capacity it runs
each mix at every number of users in --steps instead and prints the capacity curves.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ingest_http import start_footfall, stop_process

FOOTFALL = [sys.executable, "-m", "footfall"]
SITE = "bench.example"
RESTART_STOP_TIMEOUT_S = 90.0


def _run(*args: str) -> str:
    done = subprocess.run([*FOOTFALL, *args], capture_output=True, text=True, check=True)
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--ramp-up", type=float, default=10)
    parser.add_argument("--ingest-rate", type=float, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("bench/out/dashboard-load"))
    parser.add_argument("--mixes", default="panels,dashboards")
    parser.add_argument("--find-capacity", action="store_true")
    parser.add_argument("--steps", default="10,25,50,100,200")
    parser.add_argument("--p95-max", type=float, default=100.0)
    parser.add_argument(
        "--restart",
        action="store_true",
        help="after each mix's runs, stop the server cleanly, start it again and run once more",
    )
    args = parser.parse_args()
    mixes = [m for m in args.mixes.split(",") if m]
    data = args.workdir / f"data-{args.events}"
    if not (data / "events.duckdb").exists():
        began = time.perf_counter()
        _run(
            "demo-data", "--site", SITE, "--events", str(args.events), "--days", "30",
            "--data-dir", str(data),
        )  # fmt: skip
        print(
            f"built {args.events:,} events in {time.perf_counter() - began:.1f} s", file=sys.stderr
        )
    key = _run("key", "create", "--name", f"load-{time.time_ns()}", "--scope", "stats:read",
               "--data-dir", str(data)).strip().splitlines()[-1]  # fmt: skip
    log = args.workdir / "server.log"
    server, url = start_footfall(FOOTFALL, data, log, cpu=None)

    def common() -> list[str]:
        return ["loadtest", "--url", url, "--key", key, "--site", SITE, "--quiet", "--json",
                "--ramp-up", str(args.ramp_up), "--ingest-rate", str(args.ingest_rate)]  # fmt: skip

    def load(mix: str, seed: int) -> dict[str, Any]:
        done = subprocess.run(
            [*FOOTFALL, *common(), "--mix", mix, "--users", str(args.users),
             "--duration", str(args.duration), "--seed", str(seed)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if not done.stdout.strip():
            raise SystemExit(f"the load test failed ({done.returncode}): {done.stderr[-2000:]}")
        report: dict[str, Any] = json.loads(done.stdout)
        return report

    try:
        if args.find_capacity:
            for mix in mixes:
                done = subprocess.run(
                    [*FOOTFALL, *common(), "--mix", mix, "--find-capacity", "--steps", args.steps,
                     "--duration", str(args.duration), "--p95-max", str(args.p95_max)],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                _print_curve(json.loads(done.stdout))
            return
        reports = []
        for mix in mixes:
            for run in range(args.runs):
                reports.append(load(mix, run))
            if args.restart:
                # A clean stop, as an upgrade does; the same users come back with run 1's seed.
                # As long as a service manager waits (systemd: 90 s): a loaded server first
                # finishes the questions it queued.
                stop_process(server, timeout=RESTART_STOP_TIMEOUT_S)
                restarted_log = args.workdir / f"server-{mix}-restarted.log"
                server, url = start_footfall(FOOTFALL, data, restarted_log, cpu=None)
                reports.append({**load(mix, 0), "restarted": True})
    finally:
        stop_process(server)
    for mix in mixes:
        _print_runs(mix, [r for r in reports if r["config"]["mix"] == mix])


def _print_curve(result: dict[str, Any]) -> None:
    print(f"\n{result['mix']} mix: capacity {result['capacity_users']} users "
          f"(p95 <= {result['p95_max_ms']:g} ms, 0 errors)\n")  # fmt: skip
    print("| users | req/s | p50 ms | p95 ms | errors | server RSS peak MiB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for row in result["curve"]:
        rss = (row["rss_peak_bytes"] or 0) / 2**20
        print(f"| {row['users']} | {row['requests_per_s']:,.1f} | {row['p50_ms']:,.1f} | "
              f"{row['p95_ms']:,.1f} | {row['errors']} | {rss:,.0f} |")  # fmt: skip


def _print_runs(mix: str, reports: list[dict[str, Any]]) -> None:
    print(f"\n{mix} mix\n")
    rows = []
    for i, report in enumerate(reports, 1):
        stats = report["stats_api"]
        name = "after a restart" if report.get("restarted") else f"run {i}"
        latency = stats["latency_ms"]
        server_figures = report["server"]
        errors = sum(report["totals"]["errors_by_status"].values())
        rows.append(
            (
                name,
                stats["requests"],
                stats["throughput_rps"],
                latency["p50"],
                latency["p95"],
                latency["p99"],
                errors,
                (server_figures["cache_hit_rate"] or 0) * 100,
                (server_figures["rss_peak_bytes"] or 0) / 2**20,
            )
        )
    median = ["median"] + [statistics.median(r[k] for r in rows) for k in range(1, 9)]
    print("| run | Stats API requests | req/s | p50 ms | p95 ms | p99 ms | errors | cache hit % "
          "| server RSS peak MiB |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in [*rows, tuple(median)]:
        name, *figures = row
        cells = [f"{v:,.1f}" if isinstance(v, float) else f"{v:,}" for v in figures]
        print(f"| {name} | " + " | ".join(cells) + " |")
    for i, report in enumerate(reports, 1):
        failed = {
            name: figures["errors_by_status"]
            for name, figures in report["endpoints"].items()
            if figures["errors_by_status"]
        }
        name = "after a restart" if report.get("restarted") else f"run {i}"
        print(f"{name}: errors by endpoint and status: {failed or 'none'}")


if __name__ == "__main__":
    main()
