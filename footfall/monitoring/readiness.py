"""Readiness bookkeeping that needs memory between probes.

Is the ingest queue draining, and has the writer failed recently?

The probe itself (footfall.web.app) gathers the figures; this module only decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STALL_SECONDS = 30.0
FAILURE_MEMORY_SECONDS = 60.0


@dataclass
class _Seen:
    commits: int
    failures: int
    progress_at: float
    failed_at: float | None


class WriterWatch:
    """Remembers the writer's counters between readiness checks.

    The queue is *draining* when it is empty, or when the writer applied a batch within the
    last `stall_seconds` (measured from the first check that saw it). The writer *failed
    recently* when its failure count rose within the last `failure_seconds`.
    """

    def __init__(
        self,
        *,
        stall_seconds: float = STALL_SECONDS,
        failure_seconds: float = FAILURE_MEMORY_SECONDS,
    ) -> None:
        self.stall_seconds = stall_seconds
        self.failure_seconds = failure_seconds
        self._seen: _Seen | None = None

    def _observe(self, commits: int, failures: int, now: float) -> _Seen:
        seen = self._seen
        if seen is None:
            seen = self._seen = _Seen(commits, failures, now, None)
        if commits != seen.commits:
            seen.commits, seen.progress_at = commits, now
        if failures != seen.failures:
            seen.failures, seen.failed_at = failures, now
        return seen

    def queue(
        self, *, depth: int, limit: int, commits: int, failures: int, now: float
    ) -> dict[str, Any]:
        """The ingest queue check: ``ok``, ``depth``, ``limit``, ``draining``."""
        seen = self._observe(commits, failures, now)
        if depth == 0:
            seen.progress_at = now
        draining = depth == 0 or now - seen.progress_at < self.stall_seconds
        return {
            "ok": depth < limit and draining,
            "depth": depth,
            "limit": limit,
            "draining": draining,
        }

    def recent_failure(self, *, commits: int, failures: int, now: float) -> bool:
        """Whether the writer's failure count rose within the last `failure_seconds`."""
        seen = self._observe(commits, failures, now)
        return seen.failed_at is not None and now - seen.failed_at < self.failure_seconds
