"""Sizes and evictions of the ingest path's bounded caches, for monitoring.

Every cache on the path is bounded: the live sessions (`SessionCache`) and the memoised
parsers (`functools.lru_cache` with a `maxsize`). `lru_cache` does not count evictions, but
each miss stores exactly one result, so ``misses - entries`` results were evicted. That holds
for functions that never raise, as these do not, and may overcount by one when two threads
miss the same key at once (the second result is not stored).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from footfall.ingest import domains, request, sources, urls
from footfall.sessions.cache import SessionCache


class _LruCached(Protocol):
    def cache_info(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class CacheFigures:
    """One bounded cache as it stands.

    Attributes:
        entries: Items held now.
        capacity: The most it holds; the least recently used goes first beyond it.
        evictions: Items dropped to make room since the process started (or the cache was
            cleared).
    """

    entries: int
    capacity: int
    evictions: int


def lru_figures(cached: _LruCached) -> CacheFigures:
    """The figures of a function wrapped in a bounded `functools.lru_cache`."""
    info = cached.cache_info()
    return CacheFigures(
        entries=info.currsize,
        capacity=info.maxsize or 0,
        evictions=max(0, info.misses - info.currsize),
    )


def session_figures(cache: SessionCache) -> CacheFigures:
    """The figures of the live-session cache."""
    return CacheFigures(entries=len(cache), capacity=cache.capacity, evictions=cache.evictions)


# Process-wide memoised helpers of the ingest path, by the name /metrics gives them.
_MODULE_CACHES: dict[str, Callable[[], CacheFigures]] = {
    "page_urls": lambda: lru_figures(urls.parse_page_url_cached),
    "url_hosts": lambda: lru_figures(request._scheme_and_host),
    "root_domains": lambda: lru_figures(domains.root_domain),
    "spam_referrers": lambda: lru_figures(sources.is_spam_referrer),
}


def module_cache_figures() -> dict[str, CacheFigures]:
    """The process-wide ingest caches (URL parsing, root domains, the spam check)."""
    return {name: figures() for name, figures in _MODULE_CACHES.items()}
