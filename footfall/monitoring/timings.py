"""Latency figures per interval: request timings per route, query timings, the slowest queries.

Prometheus histograms answer "how many requests took under 250 ms since start"; the ops
dashboards want "what were p50, p95 and p99 in the last 10 seconds". `IntervalTimings` keeps
each key's durations for the current interval in a bounded reservoir (a uniform sample, so
percentiles stay fair under any load) and hands out their summary when the history sampler
drains it. `SlowQueries` keeps the slowest queries of a recent window with their shape.
"""

from __future__ import annotations

import heapq
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

RESERVOIR_SIZE = 1024
DEFAULT_SLOW_KEEP = 25
DEFAULT_SLOW_WINDOW_SECONDS = 24 * 3600.0


def percentile(ordered: list[float], fraction: float) -> float:
    """The nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered) - 1e-9)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Summary:
    """One key's figures over one interval; durations in seconds."""

    count: int
    client_errors: int
    server_errors: int
    p50: float
    p95: float
    p99: float
    max: float


@dataclass(slots=True)
class _Reservoir:
    count: int = 0
    client_errors: int = 0
    server_errors: int = 0
    sample: list[float] = field(default_factory=list)
    maximum: float = 0.0


class IntervalTimings:
    """Durations per key (a route template, a query endpoint) for the current interval.

    Thread-safe: requests record on the event loop, queries on worker threads.

    Args:
        reservoir_size: The most durations kept per key and interval.
        max_keys: The most keys per interval; more are counted under ``other``.
        rng: Randomness for the reservoir (injected for tests).
    """

    def __init__(
        self,
        *,
        reservoir_size: int = RESERVOIR_SIZE,
        max_keys: int = 200,
        rng: random.Random | None = None,
    ) -> None:
        self._size = reservoir_size
        self._max_keys = max_keys
        self._rng = rng or random.Random()  # noqa: S311  # nosec B311
        self._lock = threading.Lock()
        self._current: dict[str, _Reservoir] = {}

    def record(self, key: str, seconds: float, status: int = 200) -> None:
        """Adds one duration (and its HTTP status class) to `key`'s interval."""
        with self._lock:
            slot = self._current.get(key)
            if slot is None:
                if len(self._current) >= self._max_keys:
                    key = "other"
                slot = self._current.setdefault(key, _Reservoir())
            slot.count += 1
            if 400 <= status < 500:
                slot.client_errors += 1
            elif status >= 500:
                slot.server_errors += 1
            slot.maximum = max(slot.maximum, seconds)
            if len(slot.sample) < self._size:
                slot.sample.append(seconds)
            else:
                index = self._rng.randrange(slot.count)
                if index < self._size:
                    slot.sample[index] = seconds

    def drain(self) -> dict[str, Summary]:
        """The summaries of the interval that ends now; the next interval starts empty."""
        with self._lock:
            current, self._current = self._current, {}
        out = {}
        for key, slot in current.items():
            ordered = sorted(slot.sample)
            out[key] = Summary(
                count=slot.count,
                client_errors=slot.client_errors,
                server_errors=slot.server_errors,
                p50=percentile(ordered, 0.50),
                p95=percentile(ordered, 0.95),
                p99=percentile(ordered, 0.99),
                max=slot.maximum,
            )
        return out


@dataclass(frozen=True, slots=True, order=True)
class SlowQuery:
    """One uncached query: how long it took, when, who asked and its shape (no values)."""

    seconds: float
    at: float
    endpoint: str
    shape: str


class SlowQueries:
    """The `keep` slowest queries of the last `window_seconds`; thread-safe, bounded.

    Args:
        keep: How many to keep.
        window_seconds: Older entries are forgotten.
        clock: Wall-clock time in seconds (injected for tests).
    """

    def __init__(
        self,
        *,
        keep: int = DEFAULT_SLOW_KEEP,
        window_seconds: float = DEFAULT_SLOW_WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keep = keep
        self._window = window_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._heap: list[SlowQuery] = []  # a min-heap: the fastest kept query is on top

    def record(self, endpoint: str, shape: str, seconds: float) -> None:
        """Offers one query; kept when it is among the slowest of the window."""
        now = self._clock()
        entry = SlowQuery(seconds, now, endpoint, shape)
        with self._lock:
            self._forget_before(now - self._window)
            if len(self._heap) < self._keep:
                heapq.heappush(self._heap, entry)
            elif entry > self._heap[0]:
                heapq.heapreplace(self._heap, entry)

    def _forget_before(self, cutoff: float) -> None:
        if self._heap and min(e.at for e in self._heap) < cutoff:
            self._heap = [e for e in self._heap if e.at >= cutoff]
            heapq.heapify(self._heap)

    def slowest(self) -> list[SlowQuery]:
        """The kept queries of the window, slowest first."""
        with self._lock:
            self._forget_before(self._clock() - self._window)
            return sorted(self._heap, reverse=True)
