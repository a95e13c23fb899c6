"""Ingest soak: a fixed event rate against a real server, watching its RSS stay flat.

Usage::

    python bench/soak.py --minutes 30 --rate 200 [--warm-up 60] [--samples soak.csv]

Starts ``footfall serve`` on a free 127.0.0.1 port pinned to CPU 0 with a fresh data
directory (``footfall site add``), sends ``--rate`` tracker events per second (``POST
/api/event``, at most 32 in flight) from CPU 1 for ``--warm-up`` seconds and then ``--minutes``
minutes, from the synthetic-traffic generator (`footfall.devtools.traffic`: realistic visits of
5,000 visitors, each address in ``X-Forwarded-For``), and samples the server's resident memory
(psutil, the server process and any children) every 10 s. Prints the median RSS of the first
and of the last five minutes of the measured period (a third of it each for runs shorter than
15 minutes) and the growth between them; the target is flat within 5 %. The server is stopped
(SIGTERM by PID) at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import psutil
from ingest_http import start_footfall, stop_process

from footfall.devtools.traffic import TrackerRequest, tracker_requests

DOMAIN = "bench.example"
FOOTFALL = [sys.executable, "-m", "footfall"]
VISITORS = 5000
SAMPLE_SECONDS = 10.0
IN_FLIGHT = 32


def rss(pid: int) -> int:
    """Resident bytes of a process and its children."""
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            continue
    return total


async def _soak(
    url: str, pid: int, rate: float, warm_up: float, seconds: float
) -> tuple[list[tuple[float, int]], Counter[str]]:
    counts: Counter[str] = Counter()
    samples: list[tuple[float, int]] = []
    events = tracker_requests(DOMAIN, random.Random(0), visitors=VISITORS)
    gate = asyncio.Semaphore(IN_FLIGHT)
    limits = httpx.Limits(max_connections=IN_FLIGHT)

    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def send(event: TrackerRequest) -> None:
            try:
                response = await client.post(
                    "/api/event", content=event.body, headers=event.headers
                )
                counts[str(response.status_code)] += 1
            except httpx.HTTPError as exc:
                counts[type(exc).__name__] += 1
            finally:
                gate.release()

        started = time.monotonic()
        measured_from = started + warm_up
        end = measured_from + seconds
        next_sample = measured_from
        next_report = measured_from + 60
        tasks: set[asyncio.Task[None]] = set()
        i = 0
        while (now := time.monotonic()) < end:
            if now >= next_sample:
                samples.append((now - measured_from, rss(pid)))
                next_sample += SAMPLE_SECONDS
            if now >= next_report:
                minute = round((now - measured_from) / 60)
                print(
                    f"minute {minute}: RSS {samples[-1][1] / 2**20:.1f} MiB, "
                    f"{sum(counts.values()):,} requests {dict(counts)}",
                    flush=True,
                )
                next_report += 60
            due = started + i / rate
            if due > now:
                await asyncio.sleep(min(due - now, max(0.0, next_sample - now)))
                continue
            await gate.acquire()
            task = asyncio.create_task(send(next(events)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
        await asyncio.gather(*tasks)
    samples.append((time.monotonic() - measured_from, rss(pid)))
    return samples, counts


def summarise(samples: list[tuple[float, int]], seconds: float) -> tuple[float, float, float]:
    """Median RSS of the first and the last window, and the growth between them.

    The windows are five minutes long, or a third of the run when it is shorter than 15.
    """
    window = min(300.0, seconds / 3)
    first = [value for at, value in samples if at <= window]
    last = [value for at, value in samples if at >= seconds - window]
    head, tail = statistics.median(first), statistics.median(last)
    return head, tail, tail / head - 1


def main() -> None:
    """Runs the soak against a fresh server and prints the RSS summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="measured minutes")
    parser.add_argument("--rate", type=float, default=200.0, help="events per second")
    parser.add_argument("--warm-up", type=float, default=60.0, help="seconds before measuring")
    parser.add_argument("--samples", type=Path, help="write every RSS sample to this CSV file")
    args = parser.parse_args()
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="footfall-soak-") as tmp:
        data = Path(tmp) / "data"
        subprocess.run(
            [*FOOTFALL, "site", "add", DOMAIN, "--data-dir", str(data)],
            check=True,
            capture_output=True,
        )
        log_path = Path(tmp) / "server.log"
        server, url = start_footfall(FOOTFALL, data, log_path)
        try:
            if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
                os.sched_setaffinity(0, {1})  # the load on the other core than the server
            samples, counts = asyncio.run(_soak(url, server.pid, args.rate, args.warm_up, seconds))
            stored = httpx.get(f"{url}/metrics", timeout=10).text
        finally:
            stop_process(server)
    if args.samples:
        args.samples.write_text(
            "seconds,rss_bytes\n" + "".join(f"{at:.1f},{value}\n" for at, value in samples)
        )
    head, tail, growth = summarise(samples, seconds)
    accepted = next(
        (
            float(line.split()[-1])
            for line in stored.splitlines()
            if line.startswith("footfall_events_accepted_total")
        ),
        float("nan"),
    )
    window = min(300.0, seconds / 3)
    span = "5 min" if window == 300 else f"{window:.0f} s"
    print(
        f"\nIngest soak: {args.rate:g} events/s for {args.minutes:g} min after a "
        f"{args.warm_up:g} s warm-up; {sum(counts.values()):,} requests "
        f"({', '.join(f'{k}: {v:,}' for k, v in sorted(counts.items()))}); "
        f"events accepted by the server: {accepted:,.0f}\n"
    )
    print(f"| RSS median, first {span} | RSS median, last {span} | growth |")
    print("|---:|---:|---:|")
    print(f"| {head / 2**20:.1f} MiB | {tail / 2**20:.1f} MiB | {growth:+.1%} |")
    print(f"\n{'meets' if abs(growth) < 0.05 else 'misses'} the flat-within-5 % target")
    low, high = min(v for _, v in samples), max(v for _, v in samples)
    print(f"min {low / 2**20:.1f} MiB, max {high / 2**20:.1f} MiB, {len(samples)} samples")


if __name__ == "__main__":
    main()
