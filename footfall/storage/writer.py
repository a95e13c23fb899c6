"""Group commit: one writer thread, many waiting requests, one transaction per batch.

A request is answered only after the batch holding its event has committed, so a 202 means
the event is on disk; concurrent requests share that commit. The queue is bounded: `submit`
refuses when it is full and the caller answers 503 instead of letting memory grow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from footfall.storage.base import EventRow, EventWriter, SessionRow

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Batch:
    events: list[EventRow] = field(default_factory=list)
    sessions: dict[int, tuple[SessionRow, bool]] = field(default_factory=dict)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


@dataclass(slots=True)
class WriterStats:
    """Counters for monitoring."""

    commits: int = 0
    events: int = 0
    failures: int = 0
    last_batch: int = 0
    last_commit_seconds: float = 0.0


class GroupCommitWriter:
    """Batches events from the event loop into transactions on a dedicated thread."""

    def __init__(
        self,
        store: EventWriter,
        *,
        loop: asyncio.AbstractEventLoop,
        max_batch: int,
        max_wait_seconds: float,
        queue_limit: int,
    ) -> None:
        self._store = store
        self._loop = loop
        self._max_batch = max_batch
        self._max_wait = max_wait_seconds
        self._queue_limit = queue_limit
        self._cond = threading.Condition()
        self._pending = _Batch()
        self._closing = False
        self.stats = WriterStats()
        self._thread = threading.Thread(target=self._run, name="footfall-writer", daemon=True)
        self._thread.start()

    def has_room(self, count: int = 1) -> bool:
        """True when `count` more events fit in the queue."""
        return not self._closing and len(self._pending.events) + count <= self._queue_limit

    @property
    def queue_depth(self) -> int:
        """Events waiting for a commit."""
        return len(self._pending.events)

    def submit(
        self, events: Sequence[EventRow], sessions: Sequence[tuple[SessionRow, bool]]
    ) -> asyncio.Future[None] | None:
        """Queues rows; the future resolves once they are committed. None when the queue is full.

        Must be called on the event loop thread.
        """
        future: asyncio.Future[None] = self._loop.create_future()
        with self._cond:
            if self._closing or len(self._pending.events) + len(events) > self._queue_limit:
                return None
            batch = self._pending
            batch.events.extend(events)
            for row, created in sessions:
                previous = batch.sessions.get(row[1])
                batch.sessions[row[1]] = (row, created or (previous is not None and previous[1]))
            batch.waiters.append(future)
            self._cond.notify()
        return future

    def _take(self) -> _Batch | None:
        with self._cond:
            while not self._pending.waiters and not self._closing:
                self._cond.wait()
            if not self._pending.waiters:
                return None
            if self._max_wait and len(self._pending.events) < self._max_batch:
                # Let concurrent requests join this commit; it costs at most max_wait.
                deadline = time.monotonic() + self._max_wait
                while len(self._pending.events) < self._max_batch and not self._closing:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            batch, self._pending = self._pending, _Batch()
            return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            self._commit(batch)

    def _commit(self, batch: _Batch) -> None:
        started = time.perf_counter()
        new = [row for row, created in batch.sessions.values() if created]
        changed = [row for row, created in batch.sessions.values() if not created]
        error: BaseException | None = None
        try:
            self._store.write(batch.events, new, changed)
        except Exception as exc:  # the waiters learn of it; the thread keeps serving
            log.exception("group commit of %d events failed", len(batch.events))
            self.stats.failures += 1
            error = exc
        else:
            self.stats.commits += 1
            self.stats.events += len(batch.events)
            self.stats.last_batch = len(batch.events)
            self.stats.last_commit_seconds = time.perf_counter() - started
        # A closed loop (shutdown) means nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(_resolve, batch.waiters, error)

    def close(self) -> None:
        """Commits what is queued, then stops the thread (blocking)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()


def _resolve(waiters: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in waiters:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
