"""GC pressure of ingest: footfall's row path next to a naive one-object-per-event path.

Usage::

    python bench/gc_pressure.py                      # 1,000,000 events per path
    python bench/gc_pressure.py --events 100000      # a quick run
    python bench/gc_pressure.py --json

Feeds the same events, in-process (no HTTP), through:

* ``footfall``: what `POST /api/event` runs after the body is read: decode, validate, the
  ingest pipeline, and the group-commit writer (journal with fsync on the event loop, Arrow
  batches into DuckDB on the apply thread), with the server's GC set-up: ``gc.freeze()`` after
  start-up and thresholds (50,000, 20, 100);
* ``naive``: the same work, except that every event also becomes one dataclass object, kept in
  the writer's batch until it is journalled and stored (the journal serialises the objects, the
  store builds Arrow from them), with CPython's default GC (700, 10, 10) and no freeze;
* ``footfall, default GC`` (skip with ``--no-control``): footfall's path with the naive GC
  settings, to show what the row representation saves apart from the thresholds.

Each path runs in a fresh child process of this script (so caches, sessions and the frozen
generation of one cannot help another) on its own temporary data directory, after a warm-up
of 20,000 events. Collections are counted, and their pauses timed, with a ``gc.callbacks``
hook (`footfall.monitoring.gcstats.GcStats`). Events arrive in groups of ``--group`` (the
requests that share one journal fsync): 20,000 tracker requests from the synthetic-traffic
generator (`footfall.devtools.traffic`, 5,000 visitors), cycled, as bench/ingest_http.py sends
them. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import itertools
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from footfall.devtools.traffic import tracker_requests
from footfall.ingest.pipeline import ClientContext
from footfall.ingest.request import decode_body, parse_event
from footfall.meta.sites import add_site
from footfall.monitoring.gcstats import GcStats
from footfall.services import Services, open_meta
from footfall.settings import Settings, load_settings
from footfall.storage.duckdb.store import DuckDBEventStore
from footfall.storage.schema import EVENT_COLUMNS, EVENT_SCHEMA
from footfall.storage.writer import GroupCommitWriter

DOMAIN = "bench.example"
VISITORS = 5000
WARM_UP = 20_000
SERVED_THRESHOLDS = (50_000, 20, 100)  # footfall.web.app's lifespan
DEFAULT_THRESHOLDS = (700, 10, 10)  # CPython's defaults
VARIANTS = {
    "footfall": ("footfall rows, tuned GC + freeze (as served)", SERVED_THRESHOLDS, True),
    "naive": ("naive: one object per event, default GC", DEFAULT_THRESHOLDS, False),
    "control": ("footfall rows, default GC", DEFAULT_THRESHOLDS, False),
}

NaiveEvent = dataclasses.make_dataclass("NaiveEvent", EVENT_COLUMNS)


class NaiveStore:
    """The event store as a naive writer would feed it: Arrow built from the event objects."""

    def __init__(self, store: DuckDBEventStore) -> None:
        self._store = store

    def write(
        self,
        events: Sequence[Any],
        new_sessions: Sequence[tuple[Any, ...]],
        changed_sessions: Sequence[tuple[Any, ...]],
        *,
        journal_seq: int | None = None,
    ) -> None:
        """Stores event objects through `pa.Table.from_pylist`, sessions as footfall does."""
        if events:
            table = pa.Table.from_pylist([vars(event) for event in events], schema=EVENT_SCHEMA)
            self._store.write_tables(table, None, None, journal_seq=journal_seq)
        if new_sessions or changed_sessions:
            self._store.write([], new_sessions, changed_sessions)


def _payloads(count: int) -> list[tuple[bytes, ClientContext]]:
    """Tracker requests (body, client) as bench/ingest_http.py sends them, from 5,000 visitors."""
    requests = tracker_requests(DOMAIN, random.Random(0), visitors=VISITORS)
    return [
        (r.body, ClientContext(user_agent=r.user_agent, ip=r.ip))
        for r in itertools.islice(requests, count)
    ]


async def _drive(
    services: Services,
    writer: GroupCommitWriter,
    payloads: list[tuple[bytes, ClientContext]],
    events: int,
    group: int,
    naive: bool,
) -> int:
    """Sends `events` requests through the pipeline and the writer; returns the rows submitted.

    Crawlers' requests are dropped by the pipeline: they submit no row.
    """
    pipeline = services.pipeline
    sent = 0
    submitted = 0
    while sent < events:
        waiters = []
        for i in range(sent, min(sent + group, events)):
            body, client = payloads[i % len(payloads)]
            request = parse_event(decode_body(body))
            assert not isinstance(request, dict)
            outcome = pipeline.process(request, client)
            rows: list[Any] = outcome.events
            if naive:
                rows = [NaiveEvent(*row) for row in rows]
            while (waiter := writer.submit(rows, outcome.sessions)) is None:
                await asyncio.sleep(0.005)  # the queue is full: back off like a client on 503
            waiters.append(waiter)
            submitted += len(rows)
        await asyncio.gather(*waiters)
        sent += group
    return submitted


def run_variant(name: str, events: int, group: int) -> dict[str, Any]:
    """Runs one path in this process and returns its figures."""
    label, thresholds, freeze = VARIANTS[name]
    workdir = Path(tempfile.mkdtemp(prefix="footfall-gc-"))
    settings: Settings = load_settings({"data_dir": workdir / "data"}, environ={})
    add_site(open_meta(settings), domain=DOMAIN, timezone="UTC")
    services = Services.open(settings)
    payloads = _payloads(20_000)
    gc_stats = GcStats()

    async def main() -> tuple[float, int, int]:
        store: Any = services.store
        if name == "naive":
            assert isinstance(store, DuckDBEventStore)  # the naive path feeds DuckDB's tables
            store = NaiveStore(store)
        writer = services.new_writer(asyncio.get_running_loop(), store=store)
        gc.collect()
        if freeze:
            gc.freeze()
        gc.set_threshold(*thresholds)
        naive = name == "naive"
        warm_rows = await _drive(services, writer, payloads, WARM_UP, group, naive)
        gc_stats.install()
        started = time.perf_counter()
        rows = await _drive(services, writer, payloads, events, group, naive)
        writer.close()  # everything journalled and stored: part of the work
        elapsed = time.perf_counter() - started
        gc_stats.uninstall()
        return elapsed, warm_rows, rows

    try:
        elapsed, warm_rows, rows = asyncio.run(main())
        stored = services.store.count_events()
    finally:
        services.close()
    per_million = 1_000_000 / events
    return {
        "variant": name,
        "label": label,
        "thresholds": list(thresholds),
        "freeze": freeze,
        "events": events,
        "rows": rows,
        "stored": stored - warm_rows,
        "seconds": elapsed,
        "collections": gc_stats.collections,
        "collections_per_million": sum(gc_stats.collections) * per_million,
        "pause_ms_per_million": sum(gc_stats.pause_seconds) * 1000 * per_million,
        "longest_pause_ms": max(gc_stats.max_pause_seconds) * 1000,
    }


def _child(name: str, events: int, group: int) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--variant",
        name,
        "--events",
        str(events),
        "--group",
        str(group),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=3600)
    if result.returncode != 0:
        raise SystemExit(f"{name} failed:\n{result.stdout}{result.stderr}")
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    """Runs every path in a child process and prints the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events per path")
    parser.add_argument("--group", type=int, default=20, help="events per journal commit")
    parser.add_argument("--no-control", action="store_true", help="skip footfall, default GC")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.events, args.group)))
        return
    names = ["footfall", "naive"] + ([] if args.no_control else ["control"])
    results = [_child(name, args.events, args.group) for name in names]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"GC pressure of ingest: {args.events:,} events per path, journal commits of "
        f"{args.group} events, in-process\n"
    )
    print(
        "| path | GC thresholds | collections gen0 / gen1 / gen2 | collections per 1M events "
        "| GC pause per 1M events | longest pause | events/s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in results:
        gens = " / ".join(f"{c:,}" for c in r["collections"])
        thresholds = ", ".join(f"{t:,}" for t in r["thresholds"]) + (
            " + freeze" if r["freeze"] else ""
        )
        print(
            f"| {r['label']} | {thresholds} | {gens} | {r['collections_per_million']:,.0f} "
            f"| {r['pause_ms_per_million']:,.0f} ms | {r['longest_pause_ms']:.1f} ms "
            f"| {r['events'] / r['seconds']:,.0f} |"
        )
        if r["stored"] < r["rows"]:
            print(f"\nwarning: {r['label']} stored {r['stored']:,} of {r['rows']:,} rows")
    served, naive = results[0], results[1]
    fewer = 1 - served["collections_per_million"] / naive["collections_per_million"]
    pause = 1 - served["pause_ms_per_million"] / naive["pause_ms_per_million"]
    verdict = "meets" if fewer >= 0.5 else "misses"
    print(
        f"\nfootfall runs {fewer:.2%} fewer GC collections per million events than the naive "
        f"path ({verdict} the 50 % target), with {pause:.1%} less GC pause time."
    )


if __name__ == "__main__":
    main()
