"""A bounded pool of idle DuckDB read cursors on the store's one connection.

A DuckDB cursor is a second connection to the same database. Opening one is cheap, but its
first statement pays for setting up a client context (about 25 µs measured here, a tenth of a
trivial query); reusing an idle cursor skips that, keeps the number of open cursors bounded
and makes their use countable. See docs/adr/0010-memory-management.md.

What makes reuse safe (checked against DuckDB, see tests/storage/test_pools.py):

* every checkout runs in autocommit mode, so each statement sees the latest committed data;
* a cursor given back has its unread result dropped (`abort`), so an idle cursor holds no
  result memory;
* a cursor whose block raised (an interrupted query, an SQL error, anything) is closed instead
  of pooled: DuckDB would let it be reused, but a failed explicit transaction would not be;
* callers that create TEMP tables or open transactions take an unpooled cursor
  (`DuckDBEventStore.cursor(pooled=False)`), since both would outlive the checkout;
* closing the pool refuses new checkouts and interrupts the cursors in use, and `wait_released`
  lets the store's close wait for them: DuckDB refuses a statement on the connection while
  another thread makes a cursor from it, so the store must not checkpoint under a query that a
  stopping server's worker thread is still running.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import duckdb

from footfall.errors import StoreError
from footfall.monitoring.pools import PoolStats

DEFAULT_MAX_IDLE = 8


class CursorPool:
    """Idle read cursors of one DuckDB connection, at most `max_idle` of them kept.

    Thread-safe: any thread may check out; a checked-out cursor belongs to its thread until
    it is given back. More cursors than `max_idle` may be in use at once; the extra ones are
    closed when they come back.

    Attributes:
        stats: Created, closed, checked-out and in-use counts.
    """

    def __init__(
        self, connection: duckdb.DuckDBPyConnection, *, max_idle: int = DEFAULT_MAX_IDLE
    ) -> None:
        """Pools cursors of `connection`.

        Args:
            connection: The connection cursors are made from.
            max_idle: How many idle cursors to keep for reuse.
        """
        self._connection = connection
        self.max_idle = max_idle
        self._idle: list[duckdb.DuckDBPyConnection] = []
        self._in_use: set[duckdb.DuckDBPyConnection] = set()
        self._lock = threading.Lock()
        self._released = threading.Condition(self._lock)
        self._closed = False
        self.stats = PoolStats()

    @property
    def closed(self) -> bool:
        """Whether `close` was called (checkouts are refused)."""
        return self._closed

    @contextlib.contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """An idle cursor, or a new one; given back (or closed) when the block ends."""
        cur = self._checkout()
        try:
            yield cur
        except BaseException:
            self._discard(cur)
            raise
        self._checkin(cur)

    def _checkout(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._closed:
                raise StoreError("the event store is closing")
            cur = self._idle.pop() if self._idle else None
            if cur is None:
                cur = self._connection.cursor()
                self.stats.on_create()
            self._in_use.add(cur)
        self.stats.on_checkout()
        return cur

    def _release(self, cur: duckdb.DuckDBPyConnection) -> None:
        with self._lock:
            self._in_use.discard(cur)
            self._released.notify_all()

    def _checkin(self, cur: duckdb.DuckDBPyConnection) -> None:
        try:
            cur.abort()  # frees an unread result now rather than at the cursor's next use
            cur.query_progress()  # raises when the holder closed the cursor (0.1 µs otherwise)
        except duckdb.Error:
            self._discard(cur)
            return
        with self._lock:
            keep = not self._closed and len(self._idle) < self.max_idle
            if keep:
                self._idle.append(cur)
        self.stats.on_checkin()
        if not keep:
            self._close(cur)
        self._release(cur)

    def _discard(self, cur: duckdb.DuckDBPyConnection) -> None:
        self.stats.on_checkin()
        self._close(cur)
        self._release(cur)

    def _close(self, cur: duckdb.DuckDBPyConnection) -> None:
        with contextlib.suppress(duckdb.Error):
            cur.close()
        self.stats.on_close()

    def close(self) -> None:
        """Refuses new checkouts, closes the idle cursors and interrupts those in use.

        Cursors in use are closed when they come back (see `wait_released`).
        """
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = list(self._in_use)
        for cur in idle:
            self._close(cur)
        for cur in busy:
            with contextlib.suppress(duckdb.Error):
                cur.interrupt()

    def wait_released(self, timeout: float) -> bool:
        """Waits until every checked-out cursor came back; False if some still run."""
        with self._lock:
            return self._released.wait_for(lambda: not self._in_use, timeout)
