"""The background-job runner: named periodic tasks on the event loop, started and stopped together.

Every job is a coroutine that loops until cancelled (salt rotation, ops sampling, cache
warming; retention, alerts and reports join them). A job that raises is logged and restarted
after a pause, so one broken job never stops the others or the process.

A job marked `once_per_cluster` (cache warming; retention and alerts later) runs in one worker
of a cluster only: with `Leases` (Redis, `footfall.cluster.leases`) the runner takes the job's
lease before starting it, renews it while the job runs, and stops the job when the lease is
lost; meanwhile the other workers keep trying to take it over. Without leases (one process)
every job simply runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

RESTART_SECONDS = 5.0


@dataclass(frozen=True)
class Job:
    """One background job: a name (for logs) and the coroutine function that runs it.

    Attributes:
        name: For logs, task names and the lease.
        run: The coroutine function; it loops until cancelled.
        once_per_cluster: Run in one worker of a cluster only (under a lease).
    """

    name: str
    run: Callable[[], Coroutine[Any, Any, None]]
    once_per_cluster: bool = False


class Leases(Protocol):
    """Named leases shared by the workers of a cluster (`footfall.cluster.leases`)."""

    ttl_seconds: float

    def acquire(self, name: str) -> bool:
        """Takes the lease if it is free or already ours."""
        ...

    def renew(self, name: str) -> bool:
        """Extends the lease; False when it is no longer ours."""
        ...

    def release(self, name: str) -> None:
        """Gives the lease back if it is ours."""
        ...


class JobRunner:
    """Runs jobs as tasks of the current event loop until `stop`."""

    def __init__(
        self,
        jobs: list[Job],
        *,
        restart_seconds: float = RESTART_SECONDS,
        leases: Leases | None = None,
    ) -> None:
        self.jobs = jobs
        self._restart = restart_seconds
        self._leases = leases
        self._tasks: list[asyncio.Task[None]] = []
        # Jobs whose lease this process holds now (for monitoring and tests).
        self.leased: set[str] = set()

    def start(self) -> None:
        """Starts every job (call from the event loop)."""
        leases = self._leases
        self._tasks = [
            asyncio.create_task(
                self._leased(job, leases)
                if job.once_per_cluster and leases is not None
                else self._supervise(job),
                name=f"footfall-job-{job.name}",
            )
            for job in self.jobs
        ]

    async def _leased(self, job: Job, leases: Leases) -> None:
        """Runs `job` whenever this process holds its lease, until cancelled."""
        period = leases.ttl_seconds / 3
        try:
            while True:
                if not leases.acquire(job.name):
                    await asyncio.sleep(period)
                    continue
                self.leased.add(job.name)
                log.info("running background job %s for the cluster", job.name)
                task = asyncio.create_task(self._supervise(job))
                try:
                    while not task.done():
                        await asyncio.wait({task}, timeout=period)
                        if not task.done() and not leases.renew(job.name):
                            log.warning("lost the lease of background job %s", job.name)
                            break
                finally:
                    self.leased.discard(job.name)
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                if task.done() and not task.cancelled():
                    return
        finally:
            leases.release(job.name)

    async def _supervise(self, job: Job) -> None:
        while True:
            try:
                await job.run()
                return  # a job that ends on its own is done
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "background job %s failed; restarting in %g s", job.name, self._restart
                )
            await asyncio.sleep(self._restart)

    async def stop(self) -> None:
        """Cancels every job and waits for them to end."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    @property
    def running(self) -> list[str]:
        """The names of the jobs whose task is still running."""
        return [t.get_name().removeprefix("footfall-job-") for t in self._tasks if not t.done()]
