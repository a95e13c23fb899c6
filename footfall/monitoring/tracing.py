"""Allocation snapshots on demand: start `tracemalloc`, snapshot, and diff with the last one.

Tracing costs memory and time on every allocation, so it is off until someone asks, and the
`MemoryTracer` that started it stops it again when its owner closes.
"""

from __future__ import annotations

import threading
import time
import tracemalloc
from typing import Any

DEFAULT_TOP = 20
MAX_TOP = 500

_IGNORED = (
    tracemalloc.Filter(False, tracemalloc.__file__),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
    tracemalloc.Filter(False, "<unknown>"),
)


def start_tracing(frames: int = 1) -> bool:
    """Starts `tracemalloc` unless it runs already.

    Returns:
        True when this call started it.
    """
    if tracemalloc.is_tracing():
        return False
    tracemalloc.start(frames)
    return True


def take_snapshot() -> tracemalloc.Snapshot:
    """A snapshot of traced allocations, without tracemalloc's and the importer's own."""
    return tracemalloc.take_snapshot().filter_traces(_IGNORED)


def diff(
    new: tracemalloc.Snapshot, old: tracemalloc.Snapshot, top: int = DEFAULT_TOP
) -> list[dict[str, Any]]:
    """The `top` allocation sites that grew most from `old` to `new`.

    Returns:
        Dicts with ``site`` (``file:line``), ``size_diff`` and ``count_diff`` (bytes and
        blocks gained), ``size`` and ``count`` (now), largest growth first.
    """
    stats = [s for s in new.compare_to(old, "lineno") if s.size_diff > 0]
    stats.sort(key=lambda s: s.size_diff, reverse=True)
    return [
        {
            "site": f"{s.traceback[0].filename}:{s.traceback[0].lineno}",
            "size_diff": s.size_diff,
            "count_diff": s.count_diff,
            "size": s.size,
            "count": s.count,
        }
        for s in stats[:top]
    ]


class MemoryTracer:
    """Keeps the previous snapshot between calls; safe to call from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._previous: tracemalloc.Snapshot | None = None
        self._previous_at = 0.0
        self._started = False

    def step(self, top: int = DEFAULT_TOP) -> dict[str, Any]:
        """Starts tracing if needed and snapshots; diffs with the previous snapshot if any.

        Returns:
            ``baseline`` (true when there was nothing to diff with: this call took the first
            snapshot), ``interval_seconds`` since the previous snapshot (null on a baseline) and
            ``sites`` (see `diff`; empty on a baseline).
        """
        with self._lock:
            self._started = start_tracing() or self._started
            snapshot = take_snapshot()
            now = time.monotonic()
            previous, previous_at = self._previous, self._previous_at
            self._previous, self._previous_at = snapshot, now
            if previous is None:
                return {"baseline": True, "interval_seconds": None, "sites": []}
            return {
                "baseline": False,
                "interval_seconds": round(now - previous_at, 3),
                "sites": diff(snapshot, previous, top),
            }

    def close(self) -> None:
        """Forgets the snapshot and stops tracing if this tracer started it."""
        with self._lock:
            self._previous = None
            if self._started and tracemalloc.is_tracing():
                tracemalloc.stop()
            self._started = False
