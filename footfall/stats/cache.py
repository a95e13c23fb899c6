"""The Stats API query cache: serialised results keyed by site, data version and query.

A result is cached under `cache_key`, which includes the site's data version, so a change that
bumps the version makes older entries unreachable instead of needing an invalidation pass.
Entries also expire after `ttl_for`: soon while the range still reaches the present, after a day
(by default) once it lies in the past. The backend is chosen by `open_cache`: Redis when
``FOOTFALL_REDIS_URL`` is set (shared by every process), else an in-process LRU, else nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

# A range that ended this recently may still gain rows: events reach the store up to
# FOOTFALL_APPLY_INTERVAL_MS after they happen and sessions up to FOOTFALL_SESSION_FLUSH_MS
# (both at most a minute), so it keeps the live TTL until it has settled.
SETTLE_SECONDS = 120.0

# A Redis outage fails every call; one warning a minute says so without flooding the log.
_ERROR_LOG_INTERVAL_S = 60.0


@dataclass(slots=True)
class CacheCounters:
    """Running totals of one cache's outcomes; safe to update from several threads.

    Attributes:
        hits: Lookups answered from the cache.
        misses: Lookups that found nothing usable (absent, expired, or the backend failed).
        errors: Backend failures (Redis unreachable, timed out, refused the command).
        evictions: Entries dropped to make room, not because they expired.
    """

    hits: int = 0
    misses: int = 0
    errors: int = 0
    evictions: int = 0
    _lock: threading.Lock = dataclasses.field(
        default_factory=threading.Lock, repr=False, compare=False
    )

    def count_hit(self) -> None:
        """Records a lookup answered from the cache."""
        with self._lock:
            self.hits += 1

    def count_miss(self) -> None:
        """Records a lookup that found nothing usable."""
        with self._lock:
            self.misses += 1

    def count_error(self) -> None:
        """Records a backend failure."""
        with self._lock:
            self.errors += 1

    def count_eviction(self) -> None:
        """Records an entry dropped to make room."""
        with self._lock:
            self.evictions += 1

    def hit_ratio(self) -> float:
        """Hits as a fraction of all lookups; 0.0 before the first lookup."""
        with self._lock:
            lookups = self.hits + self.misses
            return self.hits / lookups if lookups else 0.0


class QueryCache(Protocol):
    """Where serialised Stats API results are kept between identical queries.

    Implementations never raise on a backend failure: a lookup becomes a miss and a store is
    skipped, so the cache can only make a query faster, never fail it.
    """

    counters: CacheCounters

    def get(self, key: str) -> bytes | None:
        """The value stored under `key`, or None when absent or expired."""
        ...

    def set(self, key: str, value: bytes, ttl: float) -> None:
        """Stores `value` under `key` for `ttl` seconds."""
        ...

    def clear(self) -> None:
        """Drops every entry this cache stored."""
        ...


class NullCache:
    """Caching disabled: nothing is stored and every lookup is a miss."""

    def __init__(self) -> None:
        self.counters = CacheCounters()

    def get(self, key: str) -> bytes | None:
        """Always None (a miss)."""
        self.counters.count_miss()
        return None

    def set(self, key: str, value: bytes, ttl: float) -> None:
        """Does nothing."""

    def clear(self) -> None:
        """Does nothing."""


class MemoryCache:
    """An in-process LRU with per-entry expiry, safe to share between threads.

    Expired entries are dropped when looked up, or evicted like any other once they become the
    least recently used; the cache never holds more than `max_entries`.
    """

    def __init__(self, max_entries: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        """Creates an empty cache.

        Args:
            max_entries: Most entries kept; the least recently used is evicted beyond it.
            clock: Monotonic seconds, for expiry (tests pass a fake one).

        Raises:
            ValueError: `max_entries` is below 1 (use `NullCache` to disable caching).
        """
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.counters = CacheCounters()
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (expires at, on `clock`, value); order is least to most recently used.
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def get(self, key: str) -> bytes | None:
        """The value under `key` (now the most recently used), or None when absent or expired."""
        with self._lock:
            item = self._items.get(key)
            if item is not None and item[0] <= self._clock():
                del self._items[key]
                item = None
            if item is None:
                self.counters.count_miss()
                return None
            self._items.move_to_end(key)
            self.counters.count_hit()
            return item[1]

    def set(self, key: str, value: bytes, ttl: float) -> None:
        """Stores `value` for `ttl` seconds, evicting the least recently used entry when full."""
        if ttl <= 0:
            return
        with self._lock:
            self._items[key] = (self._clock() + ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
                self.counters.count_eviction()

    def entries(self) -> list[tuple[str, float, bytes]]:
        """Every unexpired entry as (key, seconds left, value), least recently used first."""
        with self._lock:
            now = self._clock()
            return [(key, at - now, value) for key, (at, value) in self._items.items() if at > now]

    def clear(self) -> None:
        """Drops every entry (the counters keep their totals)."""
        with self._lock:
            self._items.clear()


def cache_key(site_id: int, normalised_query: str, data_version: int) -> str:
    """A short, stable cache key: ``"<site>:<data version>:<sha256 of the query>"``.

    Args:
        site_id: The site queried; leads the key so one site's entries are recognisable.
        normalised_query: The query in a canonical text form (equal queries, equal text).
        data_version: The site's data version; bumping it makes older entries unreachable.

    Returns:
        The key, the same in every process and across restarts.
    """
    digest = hashlib.sha256(normalised_query.encode("utf-8")).hexdigest()
    return f"{site_id}:{data_version}:{digest}"


def key_data_version(key: str) -> int:
    """The data version a `cache_key` key was made under."""
    return int(key.split(":", 2)[1])


def with_data_version(key: str, data_version: int) -> str:
    """A `cache_key` key for the same site and query under another data version."""
    site, _, digest = key.split(":", 2)
    return f"{site}:{data_version}:{digest}"


def ttl_for(
    range_end_utc: dt.datetime,
    now_utc: dt.datetime,
    *,
    live_ttl: float,
    past_ttl: float,
    settle: float = SETTLE_SECONDS,
) -> float:
    """How long a result may be cached, from where its date range ends.

    Args:
        range_end_utc: The last instant the range includes, naive UTC (aware values are
            converted).
        now_utc: The current time, naive UTC (aware values are converted).
        live_ttl: Seconds for a range that reaches the present.
        past_ttl: Seconds for a range entirely in the past.
        settle: Seconds after its end during which a range still counts as live, because
            its last events and sessions may not be stored yet.

    Returns:
        `past_ttl` when the range ended more than `settle` seconds before now, else `live_ttl`.
    """
    end, now = _naive_utc(range_end_utc), _naive_utc(now_utc)
    if end < now - dt.timedelta(seconds=settle):
        return past_ttl
    return live_ttl


def _naive_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)
