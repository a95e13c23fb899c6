"""Pool and buffer reuse under load: a real server, Stats API queries and ingest at once.

Usage::

    python bench/pool_reuse.py --duration 30 [--events 200000] [--json]

Builds a data directory with ``--events`` demo events over the last 30 days (``footfall site
add``, ``footfall key create``, ``footfall import``), starts ``footfall serve`` on a free
127.0.0.1 port pinned to CPU 0, and for ``--duration`` seconds drives it from CPU 1 with
``--query-workers`` clients asking varied Stats API v1 questions (aggregate, timeseries and
breakdowns over several periods, filtered by one of 50 of the site's pages or not, so that most
are cache misses that run on the event store) and ``--ingest-workers`` clients posting tracker
events from the synthetic-traffic generator (`footfall.devtools.traffic`, 5,000 visitors). It
then reads ``/metrics`` and prints, per pool and per recycled buffer, how many were handed out,
how many had to be made, and the reuse ratio (target >= 80 %). The server is stopped (SIGTERM
by PID) at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from ingest_http import start_footfall, stop_process
from prometheus_client.parser import text_string_to_metric_families

from footfall.devtools.traffic import TrackerRequest, tracker_requests, write_ndjson
from footfall.devtools.traffic.pages import site_paths

DOMAIN = "bench.example"
FOOTFALL = [sys.executable, "-m", "footfall"]
VISITORS = 5000
# The pages the queries filter by: the 50 the generator lists first, popular or not this seed.
PAGES = site_paths()[:50]
PERIODS = ("day", "7d", "30d", "month", "6mo")
PROPERTIES = ("event:page", "visit:source", "visit:country", "visit:browser", "visit:device")


def _prepare(workdir: Path, events: int) -> tuple[Path, str]:
    """A data directory with the site, a Stats API key and `events` imported events."""
    data = workdir / "data"
    common = ["--data-dir", str(data)]
    subprocess.run([*FOOTFALL, "site", "add", DOMAIN, *common], check=True, capture_output=True)
    created = subprocess.run(
        [*FOOTFALL, "key", "create", "--name", "bench", *common],
        check=True,
        capture_output=True,
        text=True,
    )
    key = created.stdout.strip().splitlines()[-1]
    source = workdir / "events.ndjson"
    with source.open("w") as handle:
        write_ndjson(handle, domain=DOMAIN, events=events, days=30, end=dt.datetime.now(dt.UTC))
    subprocess.run(
        [*FOOTFALL, "import", str(source), "--site", DOMAIN, *common],
        check=True,
        capture_output=True,
    )
    source.unlink()
    return data, key


def _query(rng: random.Random) -> tuple[str, dict[str, str]]:
    params = {"site_id": DOMAIN, "period": rng.choice(PERIODS)}
    if rng.random() < 0.6:
        params["filters"] = f"event:page=={rng.choice(PAGES)}"
    kind = rng.choice(("aggregate", "timeseries", "breakdown"))
    if kind == "aggregate":
        params["metrics"] = "visitors,visits,pageviews,bounce_rate,visit_duration"
    elif kind == "breakdown":
        params["property"] = rng.choice(PROPERTIES)
        params["metrics"] = "visitors,pageviews"
    else:
        params["metrics"] = "visitors,pageviews"
    return f"/api/v1/stats/{kind}", params


async def _query_worker(
    client: httpx.AsyncClient, key: str, seed: int, until: float, counts: Counter[str]
) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {key}"}
    while time.monotonic() < until:
        path, params = _query(rng)
        response = await client.get(path, params=params, headers=headers)
        counts[f"query {response.status_code}"] += 1


async def _ingest_worker(
    client: httpx.AsyncClient,
    events: Iterator[TrackerRequest],
    until: float,
    counts: Counter[str],
) -> None:
    while time.monotonic() < until:
        event = next(events)
        response = await client.post("/api/event", content=event.body, headers=event.headers)
        counts[f"ingest {response.status_code}"] += 1


async def _drive(url: str, key: str, args: argparse.Namespace) -> Counter[str]:
    counts: Counter[str] = Counter()
    until = time.monotonic() + args.duration
    limits = httpx.Limits(max_connections=args.query_workers + args.ingest_workers)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        seeds = itertools.count(1)
        # One stream of visits that the ingest clients share, as browsers share a site.
        events = tracker_requests(DOMAIN, random.Random(0), visitors=VISITORS)
        await asyncio.gather(
            *(
                _query_worker(client, key, next(seeds), until, counts)
                for _ in range(args.query_workers)
            ),
            *(_ingest_worker(client, events, until, counts) for _ in range(args.ingest_workers)),
        )
    return counts


def _reuse(exposition: str) -> list[dict[str, Any]]:
    values: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            label = sample.labels.get("pool") or sample.labels.get("buffer")
            if label and sample.name.startswith(("footfall_pool_", "footfall_buffer_")):
                kind = "pool" if "pool" in sample.labels else "buffer"
                values[(kind, label, sample.name)] = sample.value
    rows = []
    for kind, name in sorted({(k, n) for k, n, _ in values}):
        if kind == "pool":
            taken = values[(kind, name, "footfall_pool_checkouts_total")]
            made = values[(kind, name, "footfall_pool_opened_total")]
            ratio = values[(kind, name, "footfall_pool_reuse_ratio")]
        else:
            taken = values[(kind, name, "footfall_buffer_acquisitions_total")]
            made = taken - values[(kind, name, "footfall_buffer_reuses_total")]
            ratio = values[(kind, name, "footfall_buffer_reuse_ratio")]
        rows.append({"kind": kind, "name": name, "taken": taken, "made": made, "ratio": ratio})
    return rows


def main() -> None:
    """Prepares the data, runs the load against a fresh server and prints the reuse table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--events", type=int, default=200_000, help="events imported first")
    parser.add_argument("--query-workers", type=int, default=6)
    parser.add_argument("--ingest-workers", type=int, default=6)
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="footfall-reuse-") as tmp:
        workdir = Path(tmp)
        data, key = _prepare(workdir, args.events)
        log_path = workdir / "server.log"
        server, url = start_footfall(FOOTFALL, data, log_path)
        try:
            if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
                os.sched_setaffinity(0, {1})  # the load on the other core than the server
            counts = asyncio.run(_drive(url, key, args))
            exposition = httpx.get(f"{url}/metrics", timeout=10).text
        finally:
            stop_process(server)
    rows = _reuse(exposition)
    if args.json:
        print(json.dumps({"requests": counts, "reuse": rows}, indent=2))
        return
    total = sum(counts.values())
    print(
        f"Pool and buffer reuse: {args.duration:.0f} s of load on a server with "
        f"{args.events:,} imported events; {args.query_workers} Stats API and "
        f"{args.ingest_workers} ingest clients; {total:,} requests "
        f"({', '.join(f'{k}: {v:,}' for k, v in sorted(counts.items()))})\n"
    )
    print("| pool or buffer | handed out | newly made | reuse |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['kind']} `{row['name']}` | {row['taken']:,.0f} | {row['made']:,.0f} "
            f"| {row['ratio']:.1%} |"
        )
    worst = min(row["ratio"] for row in rows) if rows else 0.0
    print(f"\nlowest reuse: {worst:.1%} ({'meets' if worst >= 0.8 else 'misses'} the 80 % target)")


if __name__ == "__main__":
    main()
