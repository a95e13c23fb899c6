"""Counters for pooled resources (database connections, cursors) and reused buffers.

The pools themselves live next to what they pool (`footfall.storage.duckdb.cursors`,
`footfall.meta.db`); these plain counters are what `/metrics` and the ops sampler read.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


def reuse_ratio(reused: int, total: int) -> float:
    """The share of `total` acquisitions served by something already made (0 when none)."""
    if total <= 0:
        return 0.0
    return max(0.0, min(1.0, reused / total))


@dataclass
class PoolStats:
    """What a pool of connections or cursors did since it opened.

    Updated by the pool from any thread (under a lock, so the gauges cannot drift); read
    without one.

    Attributes:
        created: Connections or cursors opened.
        closed: Connections or cursors closed (beyond the idle bound, discarded after an
            error, or at shutdown).
        checkouts: Times one was handed out.
        in_use: Handed out and not yet returned.
    """

    created: int = 0
    closed: int = 0
    checkouts: int = 0
    in_use: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def open(self) -> int:
        """Connections or cursors currently open, idle or in use."""
        return self.created - self.closed

    @property
    def idle(self) -> int:
        """Open and waiting in the pool."""
        return max(0, self.open - self.in_use)

    @property
    def reuses(self) -> int:
        """Checkouts served by an already open connection or cursor."""
        return max(0, self.checkouts - self.created)

    @property
    def reuse_ratio(self) -> float:
        """1 - created / checkouts: the share of checkouts that reused one (0 before any)."""
        return reuse_ratio(self.reuses, self.checkouts)

    def on_create(self) -> None:
        """One was opened."""
        with self._lock:
            self.created += 1

    def on_close(self) -> None:
        """One was closed."""
        with self._lock:
            self.closed += 1

    def on_checkout(self) -> None:
        """One was handed out."""
        with self._lock:
            self.checkouts += 1
            self.in_use += 1

    def on_checkin(self) -> None:
        """One came back (or was discarded on its way back)."""
        with self._lock:
            self.in_use -= 1


@dataclass(slots=True)
class BufferStats:
    """How often a recycled buffer was needed and how often an old one served.

    Incremented by one thread only (the event loop for the writer's batch buffers), once per
    batch, never per event.

    Attributes:
        acquisitions: Buffers taken.
        reuses: Of those, buffers that had been used before (the rest were allocated).
    """

    acquisitions: int = 0
    reuses: int = 0

    @property
    def reuse_ratio(self) -> float:
        """The share of acquisitions that reused a buffer (0 before any)."""
        return reuse_ratio(self.reuses, self.acquisitions)
