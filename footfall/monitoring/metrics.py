"""footfall's Prometheus metrics: one registry per app, and the collectors read at scrape time.

Request counts and durations are recorded by `footfall.web.middleware.metrics`, labelled by the
matched route's path template (never the raw path, which would make a series per URL). `POST
/api/event` bypasses the middleware stack (see `FootfallApp`), so it is counted by one integer
increment there and has no histogram. Ingest, writer, query cache and storage figures are read from
the counters their owners already keep, when Prometheus scrapes, so they add no work to the hot
path. Every metric is documented in docs/metrics.md (a test keeps the two in step).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from footfall.ingest.pipeline import DropReason, Pipeline
from footfall.monitoring.disk import path_bytes
from footfall.monitoring.errors import ErrorTracker
from footfall.monitoring.gcstats import GcStats
from footfall.monitoring.labels import WorkerRegistry
from footfall.monitoring.leaks import LeakDetector
from footfall.monitoring.pools import BufferStats, PoolStats
from footfall.monitoring.timings import IntervalTimings, SlowQueries
from footfall.stats.cache import QueryCache
from footfall.stats.engine import StatsEngine


class WriterCounters(Protocol):
    """The group-commit writer's counters (`footfall.storage.writer.WriterStats`)."""

    journal_commits: int
    commits: int
    events: int
    failures: int
    session_flushes: int
    last_batch: int
    last_commit_seconds: float
    checkpoints: int
    journal_corrupt_lines: int
    journal_missing_entries: int


class WriterFigures(Protocol):
    """What the metrics read of the writer (`footfall.storage.writer.GroupCommitWriter`)."""

    @property
    def stats(self) -> WriterCounters:
        """Its counters."""
        ...

    @property
    def queue_depth(self) -> int:
        """Events accepted but not yet in the event store."""
        ...


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The scope of the request being served, so a query run for it (on a worker thread, which
# inherits the context) is attributed to the request's route once the router has matched it.
REQUEST_SCOPE: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "footfall_request_scope", default=None
)
_QUERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def route_of(scope: Mapping[str, Any]) -> str:
    """The matched route's path template of a request, ``other`` when none matched."""
    return getattr(scope.get("route"), "path", None) or "other"


@dataclass
class _Sources:
    """What the scrape-time collector reads; bound in the app's lifespan."""

    data_dir: Path
    files: Callable[[], Mapping[str, Path]]
    writer: WriterFigures
    pipeline: Pipeline
    cache: QueryCache
    leaks: LeakDetector | None = None
    stats: StatsEngine | None = None
    gc_stats: GcStats | None = None
    pools: Mapping[str, PoolStats] | None = None
    buffers: Mapping[str, BufferStats] | None = None


class Metrics:
    """One app's metrics: its registry, the request metrics and the scrape-time collector.

    Attributes:
        registry: Where every metric of this app is registered (never the global one).
        ingest_requests: `/api/event` requests by method, incremented by `FootfallApp`.
        routes: Request durations per route template in the current sampling interval.
        queries: Uncached query durations per endpoint in the current sampling interval.
        slow_queries: The slowest recent queries with their shapes.
        errors: Unexpected exceptions, grouped.
    """

    def __init__(self, *, worker: int | None = None) -> None:
        """Creates the registry; under ``serve --workers N`` every sample names its `worker`."""
        self.registry = (
            CollectorRegistry(auto_describe=True) if worker is None else WorkerRegistry(worker)
        )
        self.ingest_requests: dict[str, int] = {"POST": 0, "OPTIONS": 0}
        self.routes = IntervalTimings()
        self.queries = IntervalTimings()
        self.slow_queries = SlowQueries()
        self.errors = ErrorTracker()
        self._sources: _Sources | None = None
        self._query_duration = Histogram(
            "footfall_query_duration_seconds",
            "Time stats queries took on the event store (cache misses), by the route that asked.",
            ("endpoint",),
            buckets=_QUERY_BUCKETS,
            registry=self.registry,
        )
        self._unhandled = Counter(
            "footfall_unhandled_errors",
            "Unexpected exceptions answered with a 500, by exception class.",
            ("type",),
            registry=self.registry,
        )
        self._requests = Counter(
            "footfall_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self._duration = Histogram(
            "footfall_http_request_duration_seconds",
            "Time to answer HTTP requests, by method and route template.",
            ("method", "route"),
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.registry.register(_FootfallCollector(self))

    def bind(
        self,
        *,
        data_dir: Path,
        files: Callable[[], Mapping[str, Path]],
        writer: WriterFigures,
        pipeline: Pipeline,
        cache: QueryCache,
        leaks: LeakDetector | None = None,
        stats: StatsEngine | None = None,
        gc_stats: GcStats | None = None,
        pools: Mapping[str, PoolStats] | None = None,
        buffers: Mapping[str, BufferStats] | None = None,
    ) -> None:
        """Points the scrape-time collector at the objects the lifespan opened."""
        self._sources = _Sources(
            data_dir=data_dir,
            files=files,
            writer=writer,
            pipeline=pipeline,
            cache=cache,
            leaks=leaks,
            stats=stats,
            gc_stats=gc_stats,
            pools=pools,
            buffers=buffers,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Records one answered request."""
        method = method if method in _METHODS else "other"
        self._requests.labels(method, route, str(status)).inc()
        self._duration.labels(method, route).observe(seconds)
        self.routes.record(route, seconds, status)

    def on_query(self, shape: str, seconds: float) -> None:
        """Records one query the stats engine ran on the store, under the asking route."""
        scope = REQUEST_SCOPE.get()
        endpoint = route_of(scope) if scope is not None else "background"
        self._query_duration.labels(endpoint).observe(seconds)
        self.queries.record(endpoint, seconds)
        self.slow_queries.record(endpoint, shape, seconds)

    def on_error(self, scope: Mapping[str, Any], exc: BaseException, error_id: str) -> None:
        """Counts an unexpected exception answered with a 500 and groups it."""
        route = "/api/event" if scope.get("path") == "/api/event" else route_of(scope)
        group = self.errors.record(exc, route=route, error_id=error_id)
        self._unhandled.labels(group.error_type.rsplit(".", 1)[-1]).inc()

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)


class _FootfallCollector(Collector):
    """Reads ingest, writer, cache and storage figures when Prometheus scrapes."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        """Yields the current values (request counts only until the lifespan has bound)."""
        ingest = CounterMetricFamily(
            "footfall_ingest_requests",
            "Requests to /api/event, by method (served ahead of the request histogram).",
            labels=("method",),
        )
        for method, count in self._metrics.ingest_requests.items():
            ingest.add_metric((method,), count)
        yield ingest
        sources = self._metrics._sources
        if sources is None:
            return
        yield from _ingest(sources.pipeline)
        yield from _writer(sources.writer)
        yield from _cache(sources.cache)
        if sources.stats is not None:
            yield from _warming(sources.stats)
        yield from _storage(sources.data_dir, sources.files())
        if sources.leaks is not None:
            yield from _memory(sources.leaks)
        yield from _gc_pauses(sources.gc_stats)
        yield from _pools(sources.pools or {})
        yield from _buffers(sources.buffers or {})
        yield from _bounded_caches(sources.pipeline, self._metrics.errors, sources.stats)
        yield _gauge(
            "footfall_process_threads",
            "OS threads of the process (DuckDB's included), or Python's where /proc is absent.",
            _thread_count(),
        )


def _thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _ingest(pipeline: Pipeline) -> Iterator[Metric]:
    yield _counter(
        "footfall_events_accepted", "Domain-events the ingest pipeline accepted.", pipeline.accepted
    )
    dropped = CounterMetricFamily(
        "footfall_events_dropped",
        "Domain-events answered 202 but not stored, by reason.",
        labels=("reason",),
    )
    counts = dict(pipeline.dropped)
    for reason in DropReason:
        dropped.add_metric((reason.value,), counts.get(reason, 0))
    yield dropped


def _writer(writer: WriterFigures) -> Iterator[Metric]:
    stats = writer.stats
    yield _gauge(
        "footfall_writer_queue_depth",
        "Events accepted but not yet in the event store.",
        writer.queue_depth,
    )
    yield _counter(
        "footfall_writer_journal_commits", "Journal commits (fsyncs).", stats.journal_commits
    )
    yield _counter("footfall_writer_commits", "Batches applied to the event store.", stats.commits)
    yield _counter("footfall_writer_events", "Events applied to the event store.", stats.events)
    yield _counter(
        "footfall_writer_failures",
        "Failed journal commits, store applies, session flushes and checkpoints.",
        stats.failures,
    )
    yield _counter(
        "footfall_writer_session_flushes", "Session flushes to the store.", stats.session_flushes
    )
    yield _gauge(
        "footfall_writer_last_batch_events",
        "Events in the last batch applied to the store.",
        stats.last_batch,
    )
    yield _gauge(
        "footfall_writer_last_commit_seconds",
        "Time the last store apply took.",
        stats.last_commit_seconds,
    )
    yield _counter(
        "footfall_writer_checkpoints",
        "Store checkpoints after which applied journal segments were deleted.",
        stats.checkpoints,
    )
    yield _counter(
        "footfall_journal_corrupt_lines",
        "Corrupt journal lines the replay at start-up skipped (their events are lost).",
        stats.journal_corrupt_lines,
    )
    yield _counter(
        "footfall_journal_missing_entries",
        "Journal entries past the store's position that the replay at start-up did not find.",
        stats.journal_missing_entries,
    )


def _cache(cache: QueryCache) -> Iterator[Metric]:
    counters = cache.counters
    for name, doc in (
        ("hits", "Query cache lookups answered from the cache."),
        ("misses", "Query cache lookups that found nothing usable."),
        ("errors", "Query cache backend failures (Redis)."),
        ("evictions", "Query cache entries dropped to make room."),
    ):
        yield _counter(f"footfall_query_cache_{name}", doc, getattr(counters, name))


def _warming(stats: StatsEngine) -> Iterator[Metric]:
    warming = stats.warming
    yield _counter(
        "footfall_cache_warming_rounds",
        "Cache warming rounds run after flushes of new events.",
        warming.rounds,
    )
    refreshed = CounterMetricFamily(
        "footfall_cache_warming_refreshed",
        "Live results refreshed before they expired: extended (nothing written since they "
        "were computed) or recomputed.",
        labels=("how",),
    )
    refreshed.add_metric(("extended",), warming.extended)
    refreshed.add_metric(("recomputed",), warming.recomputed)
    yield refreshed
    yield _gauge(
        "footfall_cache_warming_tracked_queries",
        "Live queries asked recently, the candidates for warming.",
        len(stats.live),
    )
    yield _counter(
        "footfall_query_shared_computations",
        "Cache misses that waited for the same query another request was already running.",
        stats.shared_computations,
    )


def _storage(data_dir: Path, paths: Mapping[str, Path]) -> Iterator[Metric]:
    files = GaugeMetricFamily(
        "footfall_storage_file_bytes",
        "Size of footfall's database files, by file (events, metadata).",
        labels=("file",),
    )
    for name, path in paths.items():
        with contextlib.suppress(OSError):  # not created yet, or removed under us
            files.add_metric((name,), path_bytes(path))
    yield files
    with contextlib.suppress(OSError):
        free = shutil.disk_usage(data_dir).free
        yield _gauge(
            "footfall_data_dir_free_bytes", "Free space on the data directory's disk.", free
        )


def _memory(leaks: LeakDetector) -> Iterator[Metric]:
    yield _gauge(
        "footfall_memory_leak_suspected",
        "1 while RSS has grown steadily over the leak detector's window (docs/operations.md).",
        1 if leaks.leak_suspected() else 0,
    )
    yield _gauge(
        "footfall_rss_growth_bytes_per_second",
        "Least-squares RSS growth over the leak detector's window, in bytes per second.",
        leaks.slope(),
    )


def _gc_pauses(gc_stats: GcStats | None) -> Iterator[Metric]:
    if gc_stats is None:
        return
    collections = CounterMetricFamily(
        "footfall_gc_collections",
        "Garbage collections timed by footfall's gc.callbacks hook, by generation.",
        labels=("generation",),
    )
    pauses = CounterMetricFamily(
        "footfall_gc_pause_seconds",
        "Time the process spent stopped in garbage collections, by generation.",
        labels=("generation",),
    )
    longest = GaugeMetricFamily(
        "footfall_gc_longest_pause_seconds",
        "The longest single garbage collection since start, by generation.",
        labels=("generation",),
    )
    for generation, count in enumerate(gc_stats.collections):
        label = (str(generation),)
        collections.add_metric(label, count)
        pauses.add_metric(label, gc_stats.pause_seconds[generation])
        longest.add_metric(label, gc_stats.max_pause_seconds[generation])
    yield from (collections, pauses, longest)


def _pools(pools: Mapping[str, PoolStats]) -> Iterator[Metric]:
    if not pools:
        return
    connections = GaugeMetricFamily(
        "footfall_pool_connections",
        "Connections or cursors a pool holds open, idle or in use.",
        labels=("pool",),
    )
    in_use = GaugeMetricFamily(
        "footfall_pool_in_use", "Connections or cursors checked out now.", labels=("pool",)
    )
    checkouts = CounterMetricFamily(
        "footfall_pool_checkouts", "Connections or cursors handed out.", labels=("pool",)
    )
    # Not `footfall_pool_created`: a `_created` suffix is OpenMetrics' creation-time series.
    created = CounterMetricFamily(
        "footfall_pool_opened", "Connections or cursors opened.", labels=("pool",)
    )
    ratio = GaugeMetricFamily(
        "footfall_pool_reuse_ratio",
        "Share of checkouts served by an already open one: 1 - opened / checkouts.",
        labels=("pool",),
    )
    for name, stats in pools.items():
        connections.add_metric((name,), stats.open)
        in_use.add_metric((name,), stats.in_use)
        checkouts.add_metric((name,), stats.checkouts)
        created.add_metric((name,), stats.created)
        ratio.add_metric((name,), stats.reuse_ratio)
    yield from (connections, in_use, checkouts, created, ratio)


def _buffers(buffers: Mapping[str, BufferStats]) -> Iterator[Metric]:
    if not buffers:
        return
    acquisitions = CounterMetricFamily(
        "footfall_buffer_acquisitions", "Recycled ingest buffers taken.", labels=("buffer",)
    )
    reuses = CounterMetricFamily(
        "footfall_buffer_reuses",
        "Recycled ingest buffers taken that had been used before (not allocated).",
        labels=("buffer",),
    )
    ratio = GaugeMetricFamily(
        "footfall_buffer_reuse_ratio",
        "Share of buffer acquisitions served by a used buffer.",
        labels=("buffer",),
    )
    for name, stats in buffers.items():
        acquisitions.add_metric((name,), stats.acquisitions)
        reuses.add_metric((name,), stats.reuses)
        ratio.add_metric((name,), stats.reuse_ratio)
    yield from (acquisitions, reuses, ratio)


def _bounded_caches(
    pipeline: Pipeline, errors: ErrorTracker, stats: StatsEngine | None
) -> Iterator[Metric]:
    entries = GaugeMetricFamily(
        "footfall_cache_entries", "Items a bounded in-process cache holds.", labels=("cache",)
    )
    capacity = GaugeMetricFamily(
        "footfall_cache_capacity", "The most items a bounded cache holds.", labels=("cache",)
    )
    evictions = CounterMetricFamily(
        "footfall_cache_evictions",
        "Items a bounded in-process cache dropped to make room (the query cache has its own).",
        labels=("cache",),
    )
    for name, figures in pipeline.cache_figures().items():
        entries.add_metric((name,), figures.entries)
        capacity.add_metric((name,), figures.capacity)
        evictions.add_metric((name,), figures.evictions)
    entries.add_metric(("error_groups",), len(errors.groups()))
    capacity.add_metric(("error_groups",), errors.max_groups)
    evictions.add_metric(("error_groups",), errors.evictions)
    if stats is not None:
        entries.add_metric(("live_queries",), len(stats.live))
        evictions.add_metric(("live_queries",), stats.live.evictions)
    yield from (entries, capacity, evictions)
