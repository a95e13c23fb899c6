"""Keeping the query cache warm: which live queries to refresh, and one computation per key.

A result whose range reaches the present is cached for a few seconds only (new events keep
arriving), so without help every dashboard user would wait for a full query every few
seconds. Two things avoid that:

- `LiveQueries` remembers the live queries asked recently (bounded, least recently asked
  dropped first). After each flush of new events the web layer asks the engine to refresh
  the ones asked at least twice within the warming window, most asked first and within a time
  budget, before their cached copies expire. When nothing was written since a copy was
  computed, the copy is still exact and only its lifetime is extended.
- `SingleFlight` makes concurrent misses of one key wait for a single computation instead of
  each running the same query.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from footfall.stats.model import Query

T = TypeVar("T")

DEFAULT_CAPACITY = 256
DEFAULT_WINDOW_SECONDS = 300.0
MIN_REQUESTS = 2


@dataclass(slots=True)
class WarmingStats:
    """Counters of the warming rounds, for monitoring."""

    rounds: int = 0
    extended: int = 0
    recomputed: int = 0


@dataclass(slots=True)
class LiveEntry:
    """A live query that was asked recently.

    Attributes:
        query: The query.
        requests: How often it was asked since it was first remembered.
        last_requested: Monotonic time it was last asked.
        computed_at: Monotonic time its cached result was last stored (0: never).
        generation: The store's write generation read just before that result was computed.
    """

    query: Query
    requests: int = 0
    last_requested: float = 0.0
    computed_at: float = 0.0
    generation: int = -1


class LiveQueries:
    """The recently asked live queries, keyed by their canonical text; thread-safe, bounded.

    Args:
        capacity: The most queries remembered; the least recently asked goes first.
        clock: Monotonic seconds (injected for tests).
    """

    def __init__(
        self, *, capacity: int = DEFAULT_CAPACITY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._capacity = capacity
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, LiveEntry] = OrderedDict()
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    def requested(self, text: str, query: Query) -> None:
        """Notes that `query` (canonical text `text`) was asked now."""
        with self._lock:
            entry = self._entries.pop(text, None) or LiveEntry(query)
            entry.requests += 1
            entry.last_requested = self._clock()
            self._entries[text] = entry
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
                self.evictions += 1

    def computed(self, text: str, generation: int) -> None:
        """Notes that a fresh result for `text`, computed at `generation`, is now cached."""
        with self._lock:
            entry = self._entries.get(text)
            if entry is not None:
                entry.computed_at = self._clock()
                entry.generation = generation

    def due(
        self, *, window_seconds: float, refresh_after: float, min_requests: int = MIN_REQUESTS
    ) -> list[tuple[str, LiveEntry]]:
        """The queries to refresh now, most asked first.

        Args:
            window_seconds: Only queries asked within this many seconds.
            refresh_after: Only queries whose cached result is at least this old.
            min_requests: Only queries asked at least this often (one-off questions are not
                worth recomputing).
        """
        now = self._clock()
        with self._lock:
            found = [
                (
                    text,
                    LiveEntry(e.query, e.requests, e.last_requested, e.computed_at, e.generation),
                )
                for text, e in self._entries.items()
                if e.requests >= min_requests
                and now - e.last_requested <= window_seconds
                and now - e.computed_at >= refresh_after
            ]
        found.sort(key=lambda item: -item[1].requests)
        return found


class _Call(Generic[T]):
    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None


class SingleFlight(Generic[T]):
    """Runs one computation per key at a time; concurrent callers share its outcome."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, _Call[T]] = {}
        self.shared = 0  # callers that waited for another's computation

    def do(self, key: str, compute: Callable[[], T]) -> T:
        """`compute()`'s result, or that of the computation for `key` already running.

        Raises:
            Exception: Whatever the shared computation raised.
        """
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = self._calls[key] = _Call()
            else:
                self.shared += 1
        if not leader:
            call.done.wait()
            if call.error is not None:
                raise call.error
            return call.result  # type: ignore[return-value]
        try:
            call.result = compute()
            return call.result
        except BaseException as exc:
            call.error = exc
            raise
        finally:
            with self._lock:
                del self._calls[key]
            call.done.set()
