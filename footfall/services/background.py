"""The background jobs every serving process runs (`Services.jobs` adds alerting and secrets)."""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Protocol

import sqlalchemy as sa

from footfall.clock import Clock
from footfall.ingest.salts import SaltKeeper
from footfall.jobs.housekeeping import (
    KEY_USAGE_FLUSH_SECONDS,
    run_housekeeping,
    run_key_usage_writer,
)
from footfall.jobs.retention import run_retention
from footfall.jobs.runner import Job
from footfall.jobs.warming import run_cache_warmer
from footfall.meta.keys import KeyUsage
from footfall.monitoring.sampler import SampledFigures, run_sampler
from footfall.sessions.store import SessionBook
from footfall.settings import Settings
from footfall.stats.engine import StatsEngine
from footfall.storage.writer import WriteGeneration


class Background(Protocol):
    """What the standing jobs use of the services (`footfall.services.Services`)."""

    settings: Settings
    clock: Clock
    meta: sa.Engine
    salts: SaltKeeper
    sessions: SessionBook
    generation: WriteGeneration
    stats: StatsEngine
    key_usage: KeyUsage

    def sampled_figures(self) -> SampledFigures:
        """The figures the ops sampler records."""
        ...

    def enforce_retention(self) -> Any:
        """Deletes the events every site's retention says are due."""
        ...


def standing_jobs(services: Background, *, retention_wake: asyncio.Event | None) -> list[Job]:
    """Housekeeping, the ops sampler, key-usage writes, retention and cache warming.

    Retention runs when `retention_wake` is given (a serving process): at start, hourly,
    and whenever the event is set.
    """
    settings = services.settings
    jobs = [
        Job(
            "housekeeping",
            functools.partial(
                run_housekeeping,
                clock=services.clock,
                salts=services.salts,
                sessions=services.sessions,
            ),
        ),
        Job(
            "ops-sampler",
            functools.partial(run_sampler, services.sampled_figures(), settings.ops_sample_seconds),
        ),
        Job(
            "key-usage",
            functools.partial(
                run_key_usage_writer, services.key_usage, services.meta, KEY_USAGE_FLUSH_SECONDS
            ),
        ),
    ]
    if retention_wake is not None:
        # Not once per cluster: a deletion already done finds nothing left to delete, and
        # the worker asked to apply a new retention wakes its own job.
        jobs.append(
            Job(
                "retention",
                functools.partial(run_retention, services.enforce_retention, wake=retention_wake),
            )
        )
    if settings.cache_warming:
        jobs.append(
            Job(
                "cache-warming",
                functools.partial(
                    run_cache_warmer,
                    services.stats,
                    services.generation,
                    live_ttl=settings.query_cache_live_ttl_s,
                    budget_seconds=settings.cache_warming_budget_ms / 1000,
                ),
                once_per_cluster=True,  # the query cache is shared then
            )
        )
    return jobs
