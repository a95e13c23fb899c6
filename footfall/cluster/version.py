"""The data version every worker agrees on, so that the shared query cache is never stale.

The stats engine keys cached answers by the store's data version, which changes when stored
data changes other than by appending now (an import, a site reset, a restart that replayed the
journal). Each process counts its own; with several workers sharing one Redis cache, an import
through one worker must make every worker's cached answers unreachable. The ClickHouse store
records each change in `store_info` under a sequence that grows across processes (nanoseconds
since the epoch), so the newest one is a version all workers read alike. It is read at most
every `refresh_seconds`: a change reaches the other workers' cache keys within that time.
"""

from __future__ import annotations

import logging
import threading
import time

from footfall.errors import StoreError
from footfall.storage.base import EventStore

log = logging.getLogger(__name__)

_SQL = "SELECT max(seq) FROM store_info WHERE key = 'data_version'"


class SharedDataVersion:
    """The newest data-version change recorded in the shared store, re-read now and then."""

    def __init__(self, store: EventStore, *, refresh_seconds: float = 2.0) -> None:
        self._store = store
        self._refresh = refresh_seconds
        self._lock = threading.Lock()
        self._value = 0
        self._read_at = -refresh_seconds

    def __call__(self) -> int:
        """The version (read again once `refresh_seconds` have passed since the last read)."""
        now = time.monotonic()
        if now - self._read_at < self._refresh:
            return self._value
        with self._lock:
            if now - self._read_at >= self._refresh:
                self._read_at = now
                try:
                    rows = self._store.query(_SQL, [], timeout=5.0, tag="data version")
                    self._value = int(rows[0][0] or 0) if rows else 0
                except StoreError as exc:
                    # Keep the last value: answers stay cached a little longer, never wrong
                    # for longer than the store is unreachable.
                    log.warning("reading the shared data version failed: %s", exc)
        return self._value
