"""What a serving process knows of its own health: readiness checks, and the alerts' view of it."""

from __future__ import annotations

import asyncio
import shutil
import time
from typing import Any, Protocol

import sqlalchemy as sa

from footfall.alerts.measure import OpsSource
from footfall.alerts.rounds import Alerting
from footfall.clock import Clock
from footfall.meta.sites import SiteDirectory
from footfall.monitoring.history import History
from footfall.monitoring.leaks import LeakDetector
from footfall.monitoring.readiness import (
    WriterFigures,
    WriterWatch,
    data_dir_writable,
    readiness_checks,
)
from footfall.services.opening import channel_config
from footfall.settings import Settings
from footfall.stats.engine import StatsEngine
from footfall.storage.writer import GroupCommitWriter


class Serving(Protocol):
    """What these functions read of the services (`footfall.services.Services`)."""

    settings: Settings
    meta: sa.Engine
    sites: SiteDirectory
    stats: StatsEngine
    history: History
    leaks: LeakDetector
    clock: Clock
    writer_watch: WriterWatch

    @property
    def writer(self) -> GroupCommitWriter: ...  # noqa: D102

    def ready_now(self) -> bool: ...  # noqa: D102


async def readiness_of(services: Serving) -> dict[str, dict[str, Any]]:
    """The readiness checks of ``GET /readyz`` for `services` (on the event loop, after `start`)."""
    settings = services.settings
    writer = services.writer
    stats = writer.stats
    try:
        await asyncio.to_thread(services.sites.reload)
        metadata: dict[str, Any] = {"ok": True}
    except Exception as exc:  # reported, not raised: this is the check's whole job
        metadata = {"ok": False, "error": exc.__class__.__name__}
    unwritable = await asyncio.to_thread(data_dir_writable, settings.data_dir)
    return readiness_checks(
        metadata=metadata,
        unwritable=unwritable,
        data_dir=settings.data_dir,
        min_free_mb=settings.min_free_disk_mb,
        writer=WriterFigures(
            depth=writer.queue_depth,
            limit=settings.ingest_queue_size,
            commits=stats.commits,
            failures=stats.failures,
            has_room=writer.has_room(),
        ),
        watch=services.writer_watch,
        memory=services.leaks.status(),
        now=time.monotonic(),
    )


def alerting_of(services: Serving, *, serving: bool) -> Alerting:
    """Alerting over `services`; a serving process also shows its live figures to ops rules."""
    settings = services.settings

    def disk_free() -> int | None:
        try:
            return shutil.disk_usage(settings.data_dir).free
        except OSError:
            return None

    return Alerting(
        meta=services.meta,
        stats=services.stats,
        ops=OpsSource(
            samples=services.history.samples,
            disk_free=disk_free,
            ready=services.ready_now if serving else None,
            queue_depth=(lambda: services.writer.queue_depth) if serving else None,
            leak_suspected=services.leaks.leak_suspected if serving else None,
        ),
        channels=channel_config(settings),
        clock=services.clock.now,
        public_url=settings.public_url,
    )
