"""Ingest and Stats API throughput with 1 and 2 workers on shared ClickHouse, PostgreSQL, Redis.

Usage::

    python bench/workers.py --duration 10 --runs 3 [--connections 50]

Starts, on loopback and in a temporary directory, a PostgreSQL server, a Redis server and
ClickHouse's HTTP interface served from chdb (`tests/clickhouse_http.py`, in this process),
then measures, in one run and alternating between configurations:

* ``duckdb``: one process on the embedded defaults (no shared state), for reference;
* ``shared-1``: one worker on the shared stores (sessions decided in Redis after the journal);
* ``shared-1-tmpfs``: the same with the data directory (its journal) on tmpfs, where
  ``fdatasync`` returns at once: the difference is what the durable 202 costs;
* ``shared-2``, ``shared-2-tmpfs``: ``serve --workers 2``, journals on disk and on tmpfs.

It also reports the median time of a 512-byte append and ``fdatasync`` in each directory.

Ingest is ``wrk`` sending tracker requests (`bench/ingest_http.py`'s script); the Stats API
load is ``wrk`` cycling through five v1 questions with a key (answered from the Redis query
cache after the first of each: the Python request path is what is measured). Everything —
workers, wrk, Redis, PostgreSQL, the ClickHouse stand-in — shares the machine's cores; the
report says so. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest_http import (
    DOMAIN,
    WrkResult,
    free_port,
    parse_wrk_output,
    run_wrk,
    write_wrk_script,
)
from tests.clickhouse_http import clickhouse_http
from tests.services import _start_postgres, _start_redis, _stop

FOOTFALL = [sys.executable, "-m", "footfall"]
STATS_SCRIPT = """
local paths = {%(paths)s}
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1], {["Authorization"] = "Bearer %(key)s"})
end
"""
QUESTIONS = (
    "aggregate?metrics=visitors,visits,pageviews,bounce_rate,visit_duration",
    "timeseries?period=7d&metrics=visitors,pageviews",
    "breakdown?property=event:page&metrics=visitors,pageviews",
    "breakdown?property=visit:source&metrics=visitors,bounce_rate",
    "breakdown?property=visit:country&metrics=visitors",
)


@contextlib.contextmanager
def postgres(workdir: Path) -> Iterator[str]:
    """A throwaway PostgreSQL server; yields its SQLAlchemy URL (database ``postgres``)."""
    from tests.services import _as_account, _postgres_account, _postgres_bin_dirs

    dirs = _postgres_bin_dirs()
    if not dirs:
        raise SystemExit("PostgreSQL server binaries are not installed")
    account = _postgres_account()
    base = Path(tempfile.mkdtemp(prefix="footfall-bench-pg-"))
    data, sockets = base / "data", base / "socket"
    sockets.mkdir()
    if account is not None:
        for path in (base, sockets):
            os.chown(path, *account)
    subprocess.run(
        [str(dirs[0] / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"],
        check=True,
        capture_output=True,
        cwd=base,
        **_as_account(account),
    )
    process, url = _start_postgres(str(dirs[0] / "postgres"), data, sockets, account, 30.0)
    try:
        yield url + "postgres"
    finally:
        _stop(process)
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def redis(workdir: Path) -> Iterator[str]:
    """A throwaway Redis server; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    process, url = _start_redis(binary, workdir, 10.0)
    try:
        yield url
    finally:
        _stop(process)


def _prepare(env: dict[str, str]) -> str:
    """Adds the site (once) and returns a new stats key."""
    subprocess.run([*FOOTFALL, "site", "add", DOMAIN], env=env, capture_output=True, check=False)
    done = subprocess.run(
        [*FOOTFALL, "key", "create", "--name", f"bench-{time.time_ns()}", "--scope", "stats:read"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


@contextlib.contextmanager
def serving(env: dict[str, str], workers: int, log: Path) -> Iterator[int]:
    """`footfall serve --workers N`; yields the port once every worker answers."""
    port = free_port()
    command = [*FOOTFALL, "serve", "--port", str(port), "--workers", str(workers)]
    with log.open("ab") as handle:
        process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        seen: set[str] = set()
        while len(seen) < workers:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"serve did not start: {log.read_text()[-2000:]}")
            try:
                with httpx.Client(timeout=2) as client:
                    text = client.get(f"http://127.0.0.1:{port}/metrics").text
                    seen.add(text.split('worker="', 1)[1][:3] if 'worker="' in text else "-")
            except httpx.HTTPError:
                time.sleep(0.2)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stats_load(
    port: int, key: str, *, duration: float, connections: int, script: Path
) -> WrkResult:
    """wrk cycling through the Stats API questions."""
    paths = ", ".join(f'"/api/v1/stats/{q}&site_id={DOMAIN}"' for q in QUESTIONS)
    script.write_text(STATS_SCRIPT % {"paths": paths, "key": key})
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
        "-s", str(script), f"http://127.0.0.1:{port}/",
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60, check=True
    )
    return parse_wrk_output(done.stdout)


def fsync_ms(directory: Path, count: int = 200) -> float:
    """Median milliseconds of appending 512 bytes to a file in `directory` and fdatasync."""
    path = directory / "fsync-probe"
    times = []
    with path.open("ab", buffering=0) as handle:
        for _ in range(count):
            started = time.perf_counter()
            handle.write(b"x" * 512)
            os.fdatasync(handle.fileno())
            times.append((time.perf_counter() - started) * 1000)
    path.unlink()
    return statistics.median(times)


def _measure(
    args: argparse.Namespace,
    workdir: Path,
    tmpfs: Path,
    script: Path,
    stores: tuple[str, str, str],
) -> dict[str, dict[str, list[WrkResult]]]:
    """Every configuration, `args.runs` times, alternating; the wrk results by label."""
    pg, redis_url, events_url = stores
    results: dict[str, dict[str, list[WrkResult]]] = {}
    base = {k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")} | {
        "FOOTFALL_SECRET_KEY": "bench-" + "k3y-" * 10,
        "FOOTFALL_INGEST_RATE_LIMIT": "",
        "FOOTFALL_STATS_API_HOURLY_LIMIT": "100000000",
        "FOOTFALL_LOG_LEVEL": "warning",
    }
    shared = base | {
        "FOOTFALL_EVENTS_URL": events_url,
        "FOOTFALL_DATABASE_URL": pg,
        "FOOTFALL_REDIS_URL": redis_url,
    }
    configs = {
        "duckdb": (base | {"FOOTFALL_DATA_DIR": str(workdir / "duckdb")}, 1),
        "shared-1": (shared | {"FOOTFALL_DATA_DIR": str(workdir / "shared")}, 1),
        "shared-1-tmpfs": (shared | {"FOOTFALL_DATA_DIR": str(tmpfs)}, 1),
        "shared-2": (shared | {"FOOTFALL_DATA_DIR": str(workdir / "shared")}, 2),
        "shared-2-tmpfs": (shared | {"FOOTFALL_DATA_DIR": str(tmpfs)}, 2),
    }
    for run in range(args.runs):
        for label, (env, workers) in configs.items():
            key = _prepare(env)
            with serving(env, workers, workdir / f"{label}.log") as port:
                run_wrk(
                    port,
                    duration=2,
                    connections=args.connections,
                    threads=1,
                    script=script,
                    cpu=None,
                )
                ingest = run_wrk(
                    port,
                    duration=args.duration,
                    connections=args.connections,
                    threads=1,
                    script=script,
                    cpu=None,
                )
                time.sleep(2)  # applied, so that the questions have data
                stats = stats_load(
                    port,
                    key,
                    duration=args.duration,
                    connections=args.connections,
                    script=workdir / "stats.lua",
                )
            results.setdefault(label, {"ingest": [], "stats": []})
            results[label]["ingest"].append(ingest)
            results[label]["stats"].append(stats)
            print(
                f"run {run + 1} {label}: ingest {ingest.requests_per_s:.0f}/s, "
                f"stats {stats.requests_per_s:.0f}/s",
                file=sys.stderr,
            )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="footfall-bench-workers-"))
    tmpfs = Path(tempfile.mkdtemp(prefix="footfall-bench-tmpfs-", dir="/dev/shm"))
    script = workdir / "ingest.lua"
    write_wrk_script(script, requests=20_000, visitors=5000)
    with (
        postgres(workdir) as pg,
        redis(workdir) as redis_url,
        clickhouse_http(workdir / "clickhouse") as events_url,
    ):
        results = _measure(args, workdir, tmpfs, script, (pg, redis_url, events_url))
    disk_fsync, tmpfs_fsync = fsync_ms(workdir), fsync_ms(tmpfs)
    shutil.rmtree(tmpfs, ignore_errors=True)
    print(f"append + fdatasync: {disk_fsync:.2f} ms on the disk, {tmpfs_fsync:.3f} ms on tmpfs\n")
    print(
        f"{os.cpu_count()} cores shared by the workers, wrk, Redis, PostgreSQL and ClickHouse; "
        f"{args.runs} runs of {args.duration:g} s, {args.connections} connections, medians\n"
    )
    print("| configuration | ingest req/s | ingest p99 ms | Stats API req/s | Stats API p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, found in results.items():
        ingest, stats = found["ingest"], found["stats"]
        errors = sum(r.non_2xx + r.socket_errors for r in ingest + stats)
        print(
            f"| {label} | {statistics.median(r.requests_per_s for r in ingest):,.0f} "
            f"| {statistics.median(r.p99_ms for r in ingest):.1f} "
            f"| {statistics.median(r.requests_per_s for r in stats):,.0f} "
            f"| {statistics.median(r.p99_ms for r in stats):.1f} |"
            + (f" ({errors} errors)" if errors else "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
