"""The 10-second sampler behind the ops dashboards: reads the process's figures into `History`.

Counters become rates over the interval (requests per second, GC collections per second,
cache hit rate of the interval's lookups); gauges are read as they are. The names it writes are
the ones `footfall.web.pages.ops` draws; docs/operations.md lists them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from footfall.monitoring.disk import path_bytes
from footfall.monitoring.gcstats import GcStats
from footfall.monitoring.history import History
from footfall.monitoring.leaks import LeakDetector, current_rss
from footfall.monitoring.metrics import Metrics
from footfall.monitoring.pools import BufferStats, PoolStats
from footfall.stats.cache import CacheCounters

log = logging.getLogger(__name__)

HISTORY_FILE = "ops-history.json"


@dataclass
class SampledFigures:
    """Where the sampler reads the process's figures (wired by the composition root).

    Attributes:
        data_dir: The data directory (its disk's free space).
        files: Database files by name, for their sizes (a WAL beside one counts too).
        accepted: Events accepted by the ingest pipeline so far.
        queue_depth: Events accepted but not yet in the event store.
        cache: The query cache's hit and miss counters.
        metrics: Request and query timings, ingest request counts.
        leaks: The leak detector (fed by the sampler, read for its verdict).
        history: Where samples are kept.
        gc_stats: GC pauses per generation.
        pools: Pooled connections by name.
        buffers: Reused buffers by name.
        publish: Called with every sample in a worker thread (a cluster's board of workers).
    """

    data_dir: Path
    files: Callable[[], Mapping[str, Path]]
    accepted: Callable[[], int]
    queue_depth: Callable[[], int]
    cache: CacheCounters
    metrics: Metrics
    leaks: LeakDetector
    history: History
    gc_stats: GcStats | None = None
    pools: Mapping[str, PoolStats | None] = field(default_factory=dict)
    buffers: Mapping[str, BufferStats] = field(default_factory=dict)
    publish: Callable[[Mapping[str, float]], None] | None = None


class OpsSampler:
    """Turns the process's counters into one history sample per call.

    Args:
        figures: Where the figures are read.
    """

    def __init__(self, figures: SampledFigures) -> None:
        self._figures = figures
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # the first call only starts the measurement
        self._previous: dict[str, float] = {}
        self._previous_at: float | None = None

    def _rate(self, name: str, total: float, seconds: float) -> float:
        """Per-second change of a counter since the last sample (0 on the first, or a reset)."""
        before = self._previous.get(name)
        self._previous[name] = total
        if before is None or seconds <= 0 or total < before:
            return 0.0
        return (total - before) / seconds

    def _delta(self, name: str, total: float) -> float:
        before = self._previous.get(name, total)
        self._previous[name] = total
        return max(0.0, total - before)

    def sample(self, now: float) -> dict[str, float]:
        """The figures of the interval that ends at `now` (monotonic seconds)."""
        seconds = now - self._previous_at if self._previous_at is not None else 0.0
        self._previous_at = now
        values: dict[str, float] = {}
        self._process_figures(values, seconds)
        self._storage_figures(values)
        self._traffic_figures(values, seconds)
        self._extra_figures(values)
        return values

    def _process_figures(self, values: dict[str, float], seconds: float) -> None:
        values["rss_bytes"] = current_rss()
        values["cpu_percent"] = self._process.cpu_percent(None)
        with contextlib.suppress(psutil.Error, AttributeError):
            values["open_fds"] = self._process.num_fds()
        values["threads"] = self._process.num_threads()
        for generation, stats in enumerate(gc.get_stats()):
            values[f"gc_collections_per_s:{generation}"] = self._rate(
                f"gc:{generation}", stats["collections"], seconds
            )
        leaks = self._figures.leaks
        values["leak_suspected"] = 1.0 if leaks.leak_suspected() else 0.0
        values["rss_growth_bytes_per_s"] = leaks.slope()

    def _storage_figures(self, values: dict[str, float]) -> None:
        figures = self._figures
        for name, path in figures.files().items():
            with contextlib.suppress(OSError):
                size = path_bytes(path)
                wal = Path(f"{path}.wal")
                if wal.exists():
                    size += wal.stat().st_size
                values[f"db_bytes:{name}"] = size
        with contextlib.suppress(OSError):
            values["disk_free_bytes"] = shutil.disk_usage(figures.data_dir).free

    def _traffic_figures(self, values: dict[str, float], seconds: float) -> None:
        figures = self._figures
        values["ingest_events_per_s"] = self._rate("accepted", figures.accepted(), seconds)
        values["queue_depth"] = figures.queue_depth()
        counters = figures.cache
        hits = self._delta("cache_hits", counters.hits)
        misses = self._delta("cache_misses", counters.misses)
        if hits + misses:
            values["cache_hit_rate"] = hits / (hits + misses)
        metrics = figures.metrics
        # Rates need an interval: the first sample after start only primes the counters.
        per_second = 1 / seconds if seconds > 0 else 0.0
        requests = errors_4xx = errors_5xx = 0
        for route, summary in metrics.routes.drain().items():
            requests += summary.count
            errors_4xx += summary.client_errors
            errors_5xx += summary.server_errors
            values[f"requests_per_s:{route}"] = summary.count * per_second
            values[f"p50_ms:{route}"] = summary.p50 * 1000
            values[f"p95_ms:{route}"] = summary.p95 * 1000
            values[f"p99_ms:{route}"] = summary.p99 * 1000
            values[f"errors_4xx_per_s:{route}"] = summary.client_errors * per_second
            values[f"errors_5xx_per_s:{route}"] = summary.server_errors * per_second
        ingest = self._delta("ingest_requests", sum(metrics.ingest_requests.values()))
        values["requests_per_s"] = (requests + ingest) * per_second
        values["errors_4xx_per_s"] = errors_4xx * per_second
        values["errors_5xx_per_s"] = errors_5xx * per_second
        for endpoint, summary in metrics.queries.drain().items():
            values[f"queries_per_s:{endpoint}"] = summary.count * per_second
            values[f"query_p50_ms:{endpoint}"] = summary.p50 * 1000
            values[f"query_p95_ms:{endpoint}"] = summary.p95 * 1000

    def _extra_figures(self, values: dict[str, float]) -> None:
        """GC pauses, and the reuse of pooled connections and buffers."""
        figures = self._figures
        pauses = figures.gc_stats.pause_seconds if figures.gc_stats is not None else ()
        for generation, pause in enumerate(pauses):
            values[f"gc_pause_ms:{generation}"] = self._delta(f"pause:{generation}", pause) * 1000
        for name, pool in figures.pools.items():
            if pool is not None and pool.checkouts:
                values[f"pool_reuse:{name}"] = pool.reuse_ratio
        for name, buffers in figures.buffers.items():
            if buffers.acquisitions:
                values[f"buffer_reuse:{name}"] = buffers.reuse_ratio


async def run_sampler(figures: SampledFigures, interval: float) -> None:
    """Samples every `interval` seconds into the history and feeds the leak detector."""
    sampler = OpsSampler(figures)
    while True:
        try:
            values = await asyncio.to_thread(sampler.sample, time.monotonic())
        except Exception:  # a broken figure must not stop monitoring; it is logged
            log.exception("ops sample failed")
        else:
            figures.history.add(time.time(), values)
            figures.leaks.add(int(values["rss_bytes"]), time.monotonic())
            if figures.publish is not None:
                await asyncio.to_thread(figures.publish, values)
        await asyncio.sleep(interval)
