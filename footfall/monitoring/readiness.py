"""Readiness bookkeeping that needs memory between probes.

Is the ingest queue draining, and has the writer failed recently?

The probe (footfall.web.api.probes) and the ``ops:ready`` alert gather the figures through
`footfall.services.Services.readiness`; this module decides.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
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


MIB = 1024 * 1024


def data_dir_writable(data_dir: Path) -> str | None:
    """None when a file can be created and removed in `data_dir`, else what went wrong."""
    try:
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".readyz-"):
            pass
    except OSError as exc:
        return f"{exc.__class__.__name__}: {exc.strerror or exc}"
    return None


def disk_check(data_dir: Path, min_free_mb: int) -> dict[str, Any]:
    """The disk check: ``ok`` when the data directory's disk has `min_free_mb` MiB free."""
    minimum = min_free_mb * MIB
    try:
        free = shutil.disk_usage(data_dir).free
    except OSError as exc:
        return {"ok": False, "free_bytes": None, "min_free_bytes": minimum, "error": str(exc)}
    return {"ok": free >= minimum, "free_bytes": free, "min_free_bytes": minimum}


@dataclass(frozen=True, slots=True)
class WriterFigures:
    """The writer's figures a readiness check reads."""

    depth: int
    limit: int
    commits: int
    failures: int
    has_room: bool


def readiness_checks(
    *,
    metadata: dict[str, Any],
    unwritable: str | None,
    data_dir: Path,
    min_free_mb: int,
    writer: WriterFigures,
    watch: WriterWatch,
    memory: dict[str, Any],
    now: float,
) -> dict[str, dict[str, Any]]:
    """Every readiness check by name; the process is ready when each is ``ok``.

    Args:
        metadata: The metadata check, made by the caller (it needs the store).
        unwritable: What `data_dir_writable` said (checked by the caller, in a thread).
        data_dir: The data directory.
        min_free_mb: Free MiB the disk must keep.
        writer: The writer's figures now.
        watch: What earlier checks saw of the writer.
        memory: The leak detector's status (informative: always ok).
        now: Monotonic seconds.
    """
    failed = watch.recent_failure(commits=writer.commits, failures=writer.failures, now=now)
    event_store: dict[str, Any] = {
        "ok": unwritable is None and not failed,
        "writable": unwritable is None,
        "recent_failures": failed,
    }
    if unwritable is not None:
        event_store["error"] = unwritable
    queue = watch.queue(
        depth=writer.depth,
        limit=writer.limit,
        commits=writer.commits,
        failures=writer.failures,
        now=now,
    )
    if not writer.has_room:
        queue["ok"] = False  # full, or closing
    return {
        "metadata": metadata,
        "event_store": event_store,
        "disk": disk_check(data_dir, min_free_mb),
        "ingest_queue": queue,
        "memory": {"ok": True, **memory},
    }
