"""Group commit: many waiting requests share one durable write; one thread owns the store.

Two stages:

* on the event loop, the first request of a loop iteration schedules a journal flush; the flush
  appends every event submitted meanwhile to the ingest journal with one fsync
  (`footfall.storage.journal`) and only then resolves the requests' futures, so a 202 means the
  event is on disk. Doing this on the loop itself avoids a thread hand-off (and the GIL
  ping-pong that comes with it) per batch; an fsync here costs a fraction of a millisecond;
* the apply thread moves journalled events into the event store in large Arrow batches,
  recording the journal position in the same transaction, and writes changed sessions at most
  `session_flush_seconds` later (every session can be rebuilt from its events after a crash,
  see `EventStore.repair_sessions`);
* journal segments outlive their apply: they are deleted only after a store checkpoint has
  made their events independent of the store's write-ahead log, so that a corrupt log can be
  set aside and the journal replay restores what it held. The apply thread checkpoints after a
  journal rotation, and at least every `checkpoint_seconds` while it writes, which also bounds
  the session rows such a loss can take to the window `repair_sessions` rebuilds.

When several processes share the sessions, the journal holds pending rows whose sessions
are not decided yet (`footfall.ingest.deferred`): the apply thread has them decided by
`sessionize` (one round trip to the shared sessions per apply), then writes the versioned
session rows (`footfall.storage.versions`) and the events under the same journal entry,
sessions first, so that a replay after a crash knows which of the two inserts it still has to
make.

The queue is bounded across both stages: `has_room` turns false and the caller answers 503
instead of letting memory grow while the store falls behind.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from footfall.errors import StoreError
from footfall.monitoring.pools import BufferStats
from footfall.monitoring.quiet import QuietLog
from footfall.storage.base import EventRow, EventStore, SessionRow, SessionVersionWriter
from footfall.storage.journal import Journal
from footfall.storage.versions import SessionVersions

log = logging.getLogger(__name__)

# (row, created) for this process's sessions; (row, version, replaced row) for shared ones.
SessionChange = tuple[Any, ...]
# Rotate the journal once it is fully applied and at least this large (keeps it small).
_ROTATE_APPLIED_BYTES = 4 << 20
# Checkpoint at least this often while writing (far inside the session repair's two hours).
_CHECKPOINT_SECONDS = 300.0
# Applied batches kept for reuse: about the group commits of one apply interval under load.
_SPARE_BATCHES = 1024


class Sessionize(Protocol):
    """Decides the sessions of pending rows (`footfall.ingest.deferred.Sessionizer`)."""

    def __call__(
        self, entries: Sequence[tuple[int, Sequence[EventRow]]]
    ) -> tuple[list[EventRow], list[SessionChange]]:
        """(journal seq, pending rows) entries → (event rows, session changes)."""
        ...

    def forget(self, seqs: Sequence[int]) -> None:
        """Called once the entries' rows are stored."""
        ...


class WriteGeneration:
    """A number that changes whenever events or sessions were written to the store.

    The writer advances it; the stats engine reads it, so a live result computed at the
    current generation is known to be exact (cache warming extends it instead of recomputing).
    """

    def __init__(self) -> None:
        self._value = 0

    def __call__(self) -> int:
        """The current generation."""
        return self._value

    def advance(self) -> None:
        """Marks a write (called by the writer's apply thread only)."""
        self._value += 1


@dataclass(slots=True)
class _SessionChanges:
    """The newest row per session id, and which of them still have to be inserted.

    Kept as a map and a set rather than a (row, created) pair per session: the rows wait here
    for seconds, and one object per event fewer is that much less for the young GC
    generation to scan.
    """

    rows: dict[int, SessionRow] = field(default_factory=dict)
    created: set[int] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, changes: Iterable[SessionChange]) -> None:
        """Takes (row, created) pairs in order; a later row of a session replaces it."""
        rows, created = self.rows, self.created
        for row, new in changes:
            rows[row[1]] = row
            if new:
                created.add(row[1])

    def merge(self, newer: _SessionChanges) -> None:
        """Takes every change of `newer` over these."""
        self.rows.update(newer.rows)
        self.created |= newer.created

    def split(self) -> tuple[list[SessionRow], list[SessionRow]]:
        """(rows to insert, rows to update)."""
        created = self.created
        new = [row for sid, row in self.rows.items() if sid in created]
        changed = [row for sid, row in self.rows.items() if sid not in created]
        return new, changed

    def clear(self) -> None:
        """Forgets every change."""
        self.rows.clear()
        self.created.clear()


@dataclass(slots=True)
class _Batch:
    """One group commit's buffers; recycled once the apply thread has stored its events."""

    events: list[EventRow] = field(default_factory=list)
    sessions: _SessionChanges = field(default_factory=_SessionChanges)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


@dataclass(slots=True)
class WriterStats:
    """Counters for monitoring."""

    journal_commits: int = 0
    commits: int = 0
    events: int = 0
    failures: int = 0
    last_batch: int = 0
    last_commit_seconds: float = 0.0
    session_flushes: int = 0
    checkpoints: int = 0
    # Found by the journal replay before this writer started (`footfall.storage.journal`).
    journal_corrupt_lines: int = 0
    journal_missing_entries: int = 0


class GroupCommitWriter:
    """Journals events from the event loop, then applies them to the store in batches."""

    def __init__(
        self,
        store: EventStore,
        journal: Journal,
        *,
        loop: asyncio.AbstractEventLoop,
        generation: WriteGeneration | None = None,
        max_batch: int,
        max_wait_seconds: float,
        queue_limit: int,
        session_flush_seconds: float = 5.0,
        apply_interval_seconds: float = 1.0,
        rotate_bytes: int = _ROTATE_APPLIED_BYTES,
        checkpoint_seconds: float = _CHECKPOINT_SECONDS,
        shared: tuple[Sessionize, SessionVersionWriter] | None = None,
    ) -> None:
        self._store = store
        # Set when sessions are shared: who decides them, and where their versioned rows go.
        self._shared = shared
        self._retry: list[tuple[int, _Batch]] | None = None
        self._journal = journal
        self._loop = loop
        # Each kind of failure logged once a minute: on a full disk every write fails.
        self._quiet = QuietLog(log)
        self._max_batch = max_batch
        self._max_wait = max_wait_seconds
        self._queue_limit = queue_limit
        self._session_flush = session_flush_seconds
        self._apply_interval = apply_interval_seconds
        self._last_apply = time.monotonic()
        self._rotate_bytes = rotate_bytes
        self._checkpoint_every = checkpoint_seconds
        self.stats = WriterStats(
            journal_corrupt_lines=journal.replay.corrupt_lines,
            journal_missing_entries=journal.replay.missing_entries,
        )
        self._generation = generation if generation is not None else WriteGeneration()
        # Each group commit's batch lives until the apply thread has stored it, a second or
        # so: recycling batches keeps a thousand container objects a second out of the young
        # GC generation. Appended by the apply thread, popped by the event loop (deque is
        # thread-safe for both); counted once per batch.
        self.buffers = BufferStats()
        self._spare: deque[_Batch] = deque()
        self._pending = self._new_batch()
        self._closing = False
        # Journalled but not yet in the store: (journal seq, batch).
        self._apply_cond = threading.Condition()
        self._to_apply: list[tuple[int, _Batch]] = []
        self._backlog = 0
        self._applied_seq = 0
        self._journal_done = False
        self._dirty = _SessionChanges()
        self._last_session_flush = time.monotonic()
        # Set by the event loop after a rotation; the apply thread checkpoints, then deletes.
        self._checkpoint_wanted = False
        self._last_checkpoint = time.monotonic()
        self._written_since_checkpoint = False
        self._flush_waiters: list[threading.Event] = []
        # Flushes waiting for the journal to hand over what it holds: apply it at once.
        self._flushes_draining = 0
        self._apply_thread = threading.Thread(
            target=self._run_apply, name="footfall-apply", daemon=True
        )
        self._apply_thread.start()

    # -- event loop side --------------------------------------------------------------------

    def has_room(self, count: int = 1) -> bool:
        """True when `count` more events fit in the queue."""
        return not self._closing and self.queue_depth + count <= self._queue_limit

    @property
    def queue_depth(self) -> int:
        """Events accepted but not yet in the event store."""
        return len(self._pending.events) + self._backlog

    def generation(self) -> int:
        """Changes whenever events or sessions were written to the store (for cache warming)."""
        return self._generation()

    def submit(
        self, events: Sequence[EventRow], sessions: Sequence[SessionChange]
    ) -> asyncio.Future[None] | None:
        """Queues rows; the future resolves once they are durable. None when the queue is full.

        Must be called on the event loop thread.
        """
        if not self.has_room(len(events)):
            return None
        future: asyncio.Future[None] = self._loop.create_future()
        batch = self._pending
        batch.events.extend(events)
        batch.sessions.add(sessions)
        batch.waiters.append(future)
        if len(batch.waiters) == 1:
            if self._max_wait:
                self._loop.call_later(self._max_wait, self._flush_journal)
            else:
                self._loop.call_soon(self._flush_journal)
        return future

    def _new_batch(self) -> _Batch:
        """An empty batch, recycled when one is spare (event loop thread only)."""
        self.buffers.acquisitions += 1
        try:
            batch = self._spare.pop()
        except IndexError:
            return _Batch()
        self.buffers.reuses += 1
        return batch

    def _recycle(self, batch: _Batch) -> None:
        """Keeps an applied (or failed) batch for reuse; its rows are dropped (any thread)."""
        batch.events.clear()
        batch.sessions.clear()
        if len(self._spare) < _SPARE_BATCHES:
            self._spare.append(batch)

    def _flush_journal(self) -> None:
        batch = self._pending
        if not batch.waiters:
            return
        self._pending = self._new_batch()
        error: BaseException | None = None
        try:
            seq = self._journal.append(batch.events) if batch.events else 0
            self.stats.journal_commits += 1
        except Exception as exc:  # the waiters learn of it; the next batch tries again
            self._quiet.exception(
                "journal", "journal append of %d events failed", len(batch.events), exc=exc
            )
            self.stats.failures += 1
            error = exc
        else:
            with self._apply_cond:
                self._backlog += len(batch.events)
                self._to_apply.append((seq, batch))
                self._apply_cond.notify()
            self._maybe_rotate(seq)
        # The apply thread never touches `waiters`, and only this thread takes spare batches,
        # so the list can be emptied here even if the batch was applied meanwhile.
        _resolve(batch.waiters, error)
        batch.waiters.clear()
        if error is not None:
            self._recycle(batch)

    def _maybe_rotate(self, seq: int) -> None:
        if (
            seq
            and self._applied_seq >= seq - 1
            and (self._journal.appended_bytes >= self._rotate_bytes)
        ):
            self._journal.appended_bytes = 0
            self._journal.rotate()
            # The closed segments go once a checkpoint holds their events (apply thread).
            with self._apply_cond:
                self._checkpoint_wanted = True
                self._apply_cond.notify()

    # -- apply thread -----------------------------------------------------------------------

    def _next_work(self) -> list[tuple[int, _Batch]] | None:
        """Everything journalled so far; [] when only sessions are due; None when finished."""
        with self._apply_cond:
            if self._retry is not None:  # a failed write is repeated exactly (batch ids)
                work, self._retry = self._retry, None
                return work
            while not self._to_apply:
                if self._flush_waiters or self._checkpoint_wanted:
                    return []
                if self._journal_done:
                    return None
                if self._dirty:
                    due = self._last_session_flush + self._session_flush - time.monotonic()
                    if due <= 0:
                        return []
                    self._apply_cond.wait(due)
                else:
                    self._apply_cond.wait()
            # Large batches are what DuckDB appends cheaply: wait for the interval or a full
            # batch, unless shutting down or somebody waits for the data.
            while (
                not self._journal_done
                and not self._flush_waiters
                and not self._flushes_draining
                and sum(len(batch.events) for _, batch in self._to_apply) < self._max_batch
            ):
                remaining = self._last_apply + self._apply_interval - time.monotonic()
                if remaining <= 0:
                    break
                self._apply_cond.wait(remaining)
            work, self._to_apply = self._to_apply, []
            self._last_apply = time.monotonic()
            return work

    def _run_apply(self) -> None:
        while True:
            work = self._next_work()
            if work is None:
                self._flush_sessions()
                self._release_flush_waiters()
                return
            if work:
                self._apply(work)
            with self._apply_cond:
                asked = bool(self._flush_waiters)
            if asked or time.monotonic() - self._last_session_flush >= self._session_flush:
                self._flush_sessions()
            self._maybe_checkpoint()
            self._release_flush_waiters()

    def _apply(self, work: list[tuple[int, _Batch]]) -> None:
        taken = sum(len(batch.events) for _, batch in work)
        seq = max(s for s, _ in work)
        started = time.perf_counter()
        try:
            if self._shared is None:
                events = [row for _, batch in work for row in batch.events]
            else:
                events = self._write_shared(work, seq)
            self._store.write(events, [], [], journal_seq=seq)
        except Exception as exc:
            # The events are safe in the journal: keep them and try again shortly.
            count = sum(len(batch.events) for _, batch in work)
            self._quiet.exception(
                "apply", "applying %d journalled events failed; retrying", count, exc=exc
            )
            self.stats.failures += 1
            with self._apply_cond:
                if self._shared is None:
                    self._to_apply[:0] = work
                else:
                    self._retry = work  # the same entries again: the same batch ids
            time.sleep(1.0)
            return
        if self._shared is not None:
            self._shared[0].forget([s for s, _ in work])
        for _, batch in work:
            self._dirty.merge(batch.sessions)
            self._recycle(batch)
        self._applied_seq = seq
        self._written_since_checkpoint = True
        with self._apply_cond:
            self._backlog -= taken
        self.stats.commits += 1
        self._generation.advance()
        self.stats.events += len(events)
        self.stats.last_batch = len(events)
        self.stats.last_commit_seconds = time.perf_counter() - started

    def _write_shared(self, work: list[tuple[int, _Batch]], seq: int) -> list[EventRow]:
        """Decides the sessions of pending rows and writes them; returns the event rows."""
        assert self._shared is not None  # nosec B101 - only called when sessions are shared
        sessionize, versions = self._shared
        events, changes = sessionize([(s, batch.events) for s, batch in work])
        rows = SessionVersions()
        rows.add(changes)
        if rows:
            # Sessions first: a replay then finds them stored whenever the events are.
            versions.write_session_versions(rows.rows(), journal_seq=seq)
        return events

    def _flush_sessions(self) -> None:
        self._last_session_flush = time.monotonic()
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, _SessionChanges()
        new, changed = dirty.split()
        try:
            self._store.write([], new, changed)
        except Exception as exc:
            # Keep them for the next attempt; the events they summarise are already stored.
            self._quiet.exception("sessions", "flushing %d sessions failed", len(dirty), exc=exc)
            dirty.merge(self._dirty)
            self._dirty = dirty
            self.stats.failures += 1
        else:
            self.stats.session_flushes += 1
            self._written_since_checkpoint = True
            self._generation.advance()

    def _maybe_checkpoint(self) -> None:
        with self._apply_cond:
            wanted, self._checkpoint_wanted = self._checkpoint_wanted, False
        due = (
            self._written_since_checkpoint
            and time.monotonic() - self._last_checkpoint >= self._checkpoint_every
        )
        if wanted or due:
            self._checkpoint()

    def _checkpoint(self) -> bool:
        """Checkpoints the store, then deletes the journal segments it made redundant."""
        applied = self._applied_seq
        self._last_checkpoint = time.monotonic()  # a failure waits for the next occasion too
        # Nothing is lost when it fails: the segments stay until a later checkpoint succeeds.
        try:
            self._store.checkpoint()
        except StoreError as exc:
            self._quiet.warning(
                "checkpoint", "%s; keeping the journal segments until a later checkpoint", exc
            )
            self.stats.failures += 1
            return False
        except Exception as exc:
            self._quiet.exception(
                "checkpoint",
                "checkpoint failed; keeping the journal segments until a later one",
                exc=exc,
            )
            self.stats.failures += 1
            return False
        self._written_since_checkpoint = False
        self.stats.checkpoints += 1
        self._journal.drop_applied(applied)
        return True

    def _release_flush_waiters(self) -> None:
        with self._apply_cond:
            waiters, self._flush_waiters = self._flush_waiters, []
        for done in waiters:
            done.set()

    # -- control ----------------------------------------------------------------------------

    def flush_sessions(self, timeout: float = 30.0) -> bool:
        """Blocks until everything submitted so far is in the store, sessions included."""
        deadline = time.monotonic() + timeout
        with self._apply_cond:
            self._flushes_draining += 1
            self._apply_cond.notify()
        try:
            while self.queue_depth and time.monotonic() < deadline:
                time.sleep(0.005)
        finally:
            with self._apply_cond:
                self._flushes_draining -= 1
        done = threading.Event()
        with self._apply_cond:
            self._flush_waiters.append(done)
            self._apply_cond.notify()
        return done.wait(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Journals and applies what is queued, writes sessions, then stops (blocking).

        Must be called on the event loop thread.
        """
        self._closing = True
        self._flush_journal()
        with self._apply_cond:
            self._journal_done = True
            self._apply_cond.notify()
        self._apply_thread.join()
        self._journal.close()
        if not self.queue_depth and self._checkpoint():
            self._journal.drop_applied(self._applied_seq, closed=True)


def _resolve(waiters: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in waiters:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
