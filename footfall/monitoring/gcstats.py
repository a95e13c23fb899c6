"""Garbage-collector pauses per generation, measured with a `gc.callbacks` hook.

CPython counts collections (`gc.get_stats`) but not how long they stop the process; the
callback runs right before and right after every collection, so the difference is the pause.
It costs two clock reads per collection, and there are a few per second at most.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

GENERATIONS = 3


class GcStats:
    """Collections and pause time per generation since `install`.

    Plain attributes, read without a lock by the metrics collector and the ops sampler: each
    list has one entry per generation (0, 1, 2) and only grows.

    Attributes:
        collections: Collections finished, per generation.
        pause_seconds: Total time spent in collections, per generation.
        max_pause_seconds: The longest single collection, per generation.
        collected: Objects the collections freed, per generation.

    Args:
        clock: Seconds, monotonic (injected by tests).
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.collections = [0] * GENERATIONS
        self.pause_seconds = [0.0] * GENERATIONS
        self.max_pause_seconds = [0.0] * GENERATIONS
        self.collected = [0] * GENERATIONS
        self._clock = clock
        self._started = 0.0
        self._installed = False

    @property
    def installed(self) -> bool:
        """Whether the hook is in `gc.callbacks`."""
        return self._installed

    def install(self) -> None:
        """Starts measuring (idempotent)."""
        if not self._installed:
            gc.callbacks.append(self._callback)
            self._installed = True

    def uninstall(self) -> None:
        """Stops measuring (idempotent); the figures stay readable."""
        if self._installed:
            # Remove this hook only; others (prometheus-client, profilers) stay in place.
            gc.callbacks[:] = [cb for cb in gc.callbacks if cb != self._callback]
            self._installed = False

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        # Collections never nest (the collector holds the GIL and refuses re-entry), so one
        # start time is enough.
        if phase == "start":
            self._started = self._clock()
            return
        pause = self._clock() - self._started
        generation = info["generation"]
        self.collections[generation] += 1
        self.pause_seconds[generation] += pause
        self.collected[generation] += info.get("collected", 0)
        if pause > self.max_pause_seconds[generation]:
            self.max_pause_seconds[generation] = pause
