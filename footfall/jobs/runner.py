"""The background-job runner: named periodic tasks on the event loop, started and stopped together.

Every job is a coroutine that loops until cancelled (salt rotation, ops sampling, cache
warming; retention, alerts and reports join them). A job that raises is logged and restarted
after a pause, so one broken job never stops the others or the process. Jobs that must run
once per cluster rather than once per worker will take a lease here before each round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

RESTART_SECONDS = 5.0


@dataclass(frozen=True)
class Job:
    """One background job: a name (for logs) and the coroutine function that runs it."""

    name: str
    run: Callable[[], Coroutine[Any, Any, None]]


class JobRunner:
    """Runs jobs as tasks of the current event loop until `stop`."""

    def __init__(self, jobs: list[Job], *, restart_seconds: float = RESTART_SECONDS) -> None:
        self.jobs = jobs
        self._restart = restart_seconds
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Starts every job (call from the event loop)."""
        self._tasks = [
            asyncio.create_task(self._supervise(job), name=f"footfall-job-{job.name}")
            for job in self.jobs
        ]

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
