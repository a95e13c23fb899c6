"""The composition root: every component of a footfall process, built from `Settings` in one place.

`Services.open` builds settings → stores → ingest pipeline → stats engine and cache; a serving
process then calls `start` on its event loop (group-commit writer, rate limits, signer,
metrics, background jobs) and `stop` before `close`. The web app, the command line, the
benchmarks, capacity planning and the tests all go through here; nothing else assembles
these parts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import gc
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa

from footfall.alerts.rounds import Alerting
from footfall.clock import Clock, SystemClock
from footfall.cluster.config import shares_state
from footfall.cluster.node import ClusterState
from footfall.cluster.streams import STREAM_FILE
from footfall.cluster.version import SharedDataVersion
from footfall.ingest.deferred import Sessionizer
from footfall.ingest.pipeline import Pipeline
from footfall.ingest.salts import SaltKeeper
from footfall.jobs.alerting import LEASE, AlertJob, holder_name
from footfall.jobs.runner import Job, JobRunner
from footfall.jobs.secrets import run_secret_refresher
from footfall.lifecycle.retention import JOB_ACTOR, RetentionResult, enforce_retention
from footfall.lifecycle.spool import remove_spools
from footfall.meta import db
from footfall.meta.audit import Actor
from footfall.meta.keys import KeyUsage
from footfall.meta.leases import release_lease, take_lease
from footfall.meta.salts import SqlSaltStore
from footfall.meta.sites import SiteDirectory
from footfall.monitoring.gcstats import GcStats
from footfall.monitoring.history import History
from footfall.monitoring.leaks import LeakDetector
from footfall.monitoring.metrics import Metrics
from footfall.monitoring.pools import PoolStats
from footfall.monitoring.readiness import (
    WriterWatch,
)
from footfall.monitoring.sampler import HISTORY_FILE, SampledFigures
from footfall.monitoring.tracing import MemoryTracer
from footfall.security.ratelimit import RateLimits, open_rate_limits
from footfall.security.signing import Signer, signer_for
from footfall.services.background import standing_jobs
from footfall.services.opening import (  # re-exported: the composition root's openers
    _finish_local_journal,
    _local_sessions,
    _pipeline,
)
from footfall.services.opening import (
    channel_config as channel_config,
)
from footfall.services.opening import (
    event_store_backend as event_store_backend,
)
from footfall.services.opening import (
    journal_dir as journal_dir,
)
from footfall.services.opening import (
    open_cache as open_cache,
)
from footfall.services.opening import (
    open_event_store as open_event_store,
)
from footfall.services.opening import (
    open_event_store_at as open_event_store_at,
)
from footfall.services.opening import (
    open_meta as open_meta,
)
from footfall.services.opening import (
    prepare_data_dir as prepare_data_dir,
)
from footfall.services.opening import (
    readable_store_versions as readable_store_versions,
)
from footfall.services.opening import (
    restore_event_store as restore_event_store,
)
from footfall.services.readiness import alerting_of, readiness_of
from footfall.sessions.ids import Allocator
from footfall.sessions.rule import SESSION_TIMEOUT_MINUTES
from footfall.sessions.store import SessionBook
from footfall.settings import Settings, vault_secrets, with_secret_fields
from footfall.stats.cache_file import keep_cache, take_back_cache
from footfall.stats.engine import StatsEngine
from footfall.storage.base import EventStore, SharedEventStore
from footfall.storage.journal import Journal
from footfall.storage.replay import open_journal
from footfall.storage.writer import GroupCommitWriter, WriteGeneration

if TYPE_CHECKING:
    from footfall.settings.vault import VaultSecrets

log = logging.getLogger(__name__)

# Sessions older than this cannot continue, so they need not be reloaded after a restart.
_RESUME_WINDOW = dt.timedelta(minutes=SESSION_TIMEOUT_MINUTES + 1)
# How far back sessions are rebuilt after an unclean shutdown (far beyond any flush delay).
_REPAIR_MARGIN = dt.timedelta(hours=2)
# Visitor hashes under the current or the previous salt can recur; both salts were made within
# the last two days, so the visitors of sessions active since then cover them.
_NUMBERS_WINDOW = dt.timedelta(days=2)
# Secret settings a running server takes from a refreshed secret store; the others (database
# and Redis URLs, ...) are in use by open connections and take effect at the next start.
LIVE_SECRETS = frozenset({"secret_key", "secret_key_fallbacks", "metrics_token"})


@dataclass
class Services:
    """Everything a footfall process runs on.

    Built by `open`; `start` adds what only a serving process needs. The attributes in the
    second group are self-monitoring: RSS samples for leak detection, the writer's counters
    as the readiness probe last saw them, allocation snapshots, the sampled history the ops
    dashboards draw, and GC pauses per generation.
    """

    settings: Settings
    clock: Clock
    meta: sa.Engine
    store: EventStore
    journal: Journal
    salts: SaltKeeper
    sites: SiteDirectory
    session_ids: Allocator
    sessions: SessionBook
    pipeline: Pipeline
    visitor_ids: Allocator
    generation: WriteGeneration
    stats: StatsEngine
    metrics: Metrics
    leaks: LeakDetector = field(default_factory=LeakDetector)
    writer_watch: WriterWatch = field(default_factory=WriterWatch)
    tracer: MemoryTracer = field(default_factory=MemoryTracer)
    history: History = field(default_factory=History)
    gc_stats: GcStats = field(default_factory=GcStats)
    key_usage: KeyUsage = field(default_factory=KeyUsage)
    worker: int | None = None
    cluster: ClusterState | None = None
    sessionizer: Sessionizer | None = None
    _writer: GroupCommitWriter | None = None
    _rate_limits: RateLimits | None = None
    _signer: Signer | None = None
    _jobs: JobRunner | None = None
    _alert_job: AlertJob | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _retention_wake: asyncio.Event | None = None
    _writer_closed: bool = False
    _vault: VaultSecrets | None = None
    _restart_needed: tuple[str, ...] = ()
    _closed: bool = False

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls, settings: Settings, *, clock: Clock | None = None, worker: int | None = None
    ) -> Services:
        """Creates the data directory, migrates the metadata store and opens the event store.

        After a crash it replays the journal into the store, rebuilds the newest sessions and
        reloads the live sessions and visitor numbers, so ingest continues where it stopped.

        Args:
            settings: The settings.
            clock: The time source (the system clock by default).
            worker: The index of this worker under ``serve --workers N``: it journals in
                ``journal/<worker>`` of the data directory, which only it replays.

        Raises:
            ConfigError: The database or Redis URL is malformed or unsupported.
            StoreError: The data directory is not writable, or a store cannot be opened
                (StoreBusyError when another process has the event store).
        """
        clock = clock or SystemClock()
        meta = open_meta(settings)
        store = open_event_store(settings)
        cluster = (
            ClusterState.open(settings.redis_url or "", worker=worker)
            if shares_state(settings)
            else None
        )
        if worker is None:
            remove_spools(settings.data_dir)  # holding the store, no other process imports
        directory = journal_dir(settings, worker)
        salts = SaltKeeper(SqlSaltStore(meta))
        # Made now rather than by the first event: a request then never writes a salt,
        # except on the day's first event after midnight.
        salts.ring(clock.now())
        sites = SiteDirectory(meta)
        sessions: SessionBook
        session_ids: Allocator
        visitor_ids: Allocator
        sessionizer: Sessionizer | None = None
        if cluster is None:
            journal = open_journal(store, directory)
            local, session_ids, visitor_ids = _local_sessions(settings, store, journal, clock)
            pipeline = _pipeline(settings, sites, salts, clock, local)
            sessions = local
        else:
            shared = cast(SharedEventStore, store)
            if not (directory / STREAM_FILE).exists():
                _finish_local_journal(store, directory)  # written before state was shared
            # Every journal its own stream, a single process's too (several machines may run
            # one each): its position and batch ids in the store are its own.
            shared.use_stream(cluster.journal_stream(directory, store))
            # Sessions are decided once events are journalled: the replay decides those of
            # the entries the store lacks (no repair), and the shared store keeps them.
            pipeline = _pipeline(settings, sites, salts, clock, None)
            sessionizer = Sessionizer(
                cluster.sessions, stream=shared.stream, dropped=pipeline.dropped
            )
            journal = open_journal(store, directory, shared=(sessionizer, shared))
            cluster.sessions.forget_stored(shared.stream, store.applied_journal_seq())
            sessions, session_ids, visitor_ids = (
                cluster.sessions,
                cluster.session_ids,
                cluster.visitor_ids,
            )
        generation = WriteGeneration()
        metrics = Metrics(worker=worker)
        stats = StatsEngine(
            store,
            cache=open_cache(settings),
            now=clock.now,
            timeout_seconds=settings.query_timeout_ms / 1000,
            live_ttl=settings.query_cache_live_ttl_s,
            past_ttl=settings.query_cache_past_ttl_s,
            on_query=metrics.on_query,
            generation=generation,
            data_version=None if cluster is None else SharedDataVersion(store),
        )
        services = cls(
            settings=settings,
            clock=clock,
            meta=meta,
            store=store,
            journal=journal,
            salts=salts,
            sites=sites,
            session_ids=session_ids,
            sessions=sessions,
            pipeline=pipeline,
            visitor_ids=visitor_ids,
            generation=generation,
            stats=stats,
            metrics=metrics,
            history=History(interval=settings.ops_sample_seconds),
            worker=worker,
            cluster=cluster,
            sessionizer=sessionizer,
        )
        if cluster is None or cluster.sessions.raise_counters(
            session_id=store.max_session_id(), visitor=store.max_visitor()
        ):
            # Redis had no counters (a new cluster, or Redis lost its data): give it the
            # numbers of the visitors that may come back, as a restarted process reloads them.
            services.remember_recent_visitors()
        return services

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Adds what a serving process needs: writer, rate limits, signer, metrics, jobs.

        Call on the event loop that will serve requests; undo with `stop`.

        Raises:
            ConfigError: A setting they need is malformed (the Redis URL, the secret key).
        """
        settings = self.settings
        self._loop = loop
        self._retention_wake = asyncio.Event()
        self._writer = self.new_writer(loop)
        self._rate_limits = open_rate_limits(settings)
        self._signer = signer_for(settings)
        self.history.load(self._history_file, now=time.time())
        if self._serves_alone:
            take_back_cache(self.stats.cache, settings.data_dir, self.store)
        self.metrics.bind(
            data_dir=settings.data_dir,
            files=self.database_files,
            writer=self._writer,
            pipeline=self.pipeline,
            cache=self.stats.cache,
            leaks=self.leaks,
            stats=self.stats,
            gc_stats=self.gc_stats,
            pools=self.pools(),
            buffers={"writer_batch": self._writer.buffers},
        )
        self._jobs = JobRunner(
            self.jobs(), leases=None if self.cluster is None else self.cluster.leases
        )
        self._jobs.start()
        # Start-up objects (parsers, tables, caches) live for the whole process: keep them out
        # of every collection, and collect the young generation less often on the hot path.
        # (The thresholds are explained in docs/adr/0010-memory-management.md.)
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        self.gc_stats.install()

    def new_writer(
        self, loop: asyncio.AbstractEventLoop, *, store: EventStore | None = None
    ) -> GroupCommitWriter:
        """The group-commit writer over the journal, configured by the settings.

        Args:
            loop: The event loop that will submit events.
            store: Where it applies events; the services' event store by default (a benchmark
                passes a wrapper around it).
        """
        settings = self.settings
        return GroupCommitWriter(
            store if store is not None else self.store,
            self.journal,
            loop=loop,
            generation=self.generation,
            max_batch=settings.commit_max_batch,
            max_wait_seconds=settings.commit_max_wait_ms / 1000,
            queue_limit=settings.ingest_queue_size,
            session_flush_seconds=settings.session_flush_ms / 1000,
            apply_interval_seconds=settings.apply_interval_ms / 1000,
            # Shared sessions are decided after the journal, and written as versioned rows.
            shared=None
            if self.sessionizer is None
            else (self.sessionizer, cast(SharedEventStore, self.store)),
        )

    async def stop(self) -> None:
        """Stops the jobs, flushes the writer and keeps the ops history (undoes `start`)."""
        self.gc_stats.uninstall()
        if self._jobs is not None:
            await self._jobs.stop()
            self._jobs = None
        if self._vault is not None:
            self._vault.close()
            self._vault = None
        with contextlib.suppress(OSError):
            self.history.dump(self._history_file)
        self.tracer.close()
        if self._writer is not None:
            self._writer.close()
            self._writer_closed = True
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            await asyncio.to_thread(self.key_usage.flush, self.meta)
        if self._rate_limits is not None:
            self._rate_limits.limiter.close()

    def close(self) -> None:
        """Checkpoints the event store and releases the databases; again, does nothing."""
        if self._closed:
            return
        self._closed = True
        self.journal.close()
        applied = self.store.applied_journal_seq()
        self.store.close()  # checkpoints: the journal may go after, not before
        self.journal.drop_applied(applied, closed=True)
        if self._serves_alone:  # (a close that failed raised before this: nothing is kept)
            keep_cache(self.stats.cache, self.settings.data_dir, self.store)
        self.meta.dispose()
        if self.cluster is not None:
            self.cluster.close()

    # -- what `start` adds ------------------------------------------------------------------

    @property
    def writer(self) -> GroupCommitWriter:
        """The group-commit writer (after `start`)."""
        if self._writer is None:
            raise RuntimeError("the services were not started: no writer")
        return self._writer

    @property
    def running_writer(self) -> GroupCommitWriter | None:
        """The group-commit writer of a serving process; None before `start` and after `stop`."""
        return None if self._writer_closed else self._writer

    def flush_writer(self, timeout: float = 30.0) -> None:
        """Blocks until every event accepted so far is in the event store, sessions included.

        Does nothing in a process that serves no events (no writer). Call from a worker thread.
        """
        writer = self.running_writer
        if writer is not None:
            writer.flush_sessions(timeout=timeout)

    @property
    def serving_loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop a serving process runs on (after `start`); None otherwise."""
        return self._loop

    def enforce_retention(
        self, *, domain: str | None = None, actor: Actor = JOB_ACTOR
    ) -> list[RetentionResult]:
        """Deletes now the events that every site's retention (or `domain`'s) says are due."""
        return enforce_retention(
            self.meta, self.store, now=self.clock.now(), domain=domain, actor=actor
        )

    def wake_retention(self) -> None:
        """Asks the retention job of a serving process to run now (from any thread)."""
        if self._loop is not None and self._retention_wake is not None:
            self._loop.call_soon_threadsafe(self._retention_wake.set)

    @property
    def rate_limits(self) -> RateLimits:
        """The rate limiter and limits (after `start`)."""
        if self._rate_limits is None:
            raise RuntimeError("the services were not started: no rate limits")
        return self._rate_limits

    @property
    def signer(self) -> Signer:
        """Signs and verifies cookies and tokens with the secret key (after `start`)."""
        if self._signer is None:
            raise RuntimeError("the services were not started: no signer")
        return self._signer

    def jobs(self) -> list[Job]:
        """The background jobs of a serving process."""
        settings = self.settings
        jobs = standing_jobs(self, retention_wake=self._retention_wake)
        self._alert_job = AlertJob(
            self.alerting(),
            interval=settings.alert_interval_s,
            lease=self._take_alert_lease,
            release=lambda: release_lease(self.meta, LEASE, holder_name()),
        )
        jobs.append(Job("alerts", self._alert_job.run))
        if settings.vault_addr:
            self._vault = vault = vault_secrets(settings)
            jobs.append(
                Job(
                    "secrets",
                    functools.partial(
                        run_secret_refresher,
                        lambda: vault.read(self.clock.now()),
                        self.apply_secrets,
                        settings.vault_refresh_s,
                    ),
                )
            )
        return jobs

    # -- alerting ---------------------------------------------------------------------------

    def alerting(self) -> Alerting:
        """Alert evaluation, delivery and email reports over this process's stores and figures.

        In a serving process (after `start`) ops rules also see the live figures: readiness,
        queue depth, the leak detector; elsewhere only the sampled history and the disk.
        """
        return alerting_of(self, serving=self._loop is not None)

    def kick_alerts(self) -> None:
        """Runs the alerting job's next round now (call on the event loop)."""
        if self._alert_job is not None:
            self._alert_job.kick()

    def _take_alert_lease(self, seconds: float) -> bool:
        return take_lease(self.meta, LEASE, holder_name(), now=self.clock.now(), seconds=seconds)

    def ready_now(self) -> bool:
        """Whether every readiness check passes (called from a worker thread)."""
        if self._loop is None:
            return False
        future = asyncio.run_coroutine_threadsafe(self.readiness(), self._loop)
        checks = future.result(timeout=60)
        return all(check["ok"] for check in checks.values())

    async def readiness(self) -> dict[str, dict[str, Any]]:
        """The readiness checks of ``GET /readyz`` (on the event loop, after `start`)."""
        return await readiness_of(self)

    def apply_secrets(self, fields: Mapping[str, str]) -> list[str]:
        """Takes in secret settings read again from the secret store (Vault).

        The secret key, its fallbacks and the metrics token take effect at once: requests
        signed or checked after this call use them. A change to any other secret is logged and
        takes effect at the next start. A secret missing from `fields` keeps its value.

        Args:
            fields: Setting names and their text, as `VaultSecrets.read` returns them.

        Returns:
            The names of the settings that changed and took effect.

        Raises:
            ConfigError: A value is malformed; nothing is changed.
        """
        source = (
            "the Vault secret"
            if self._vault is None
            else f"the Vault secret {self._vault.location}"
        )
        fresh = with_secret_fields(self.settings, fields, source=source)
        changed = sorted(n for n in fields if getattr(fresh, n) != getattr(self.settings, n))
        live = [n for n in changed if n in LIVE_SECRETS]
        later = [n for n in changed if n not in LIVE_SECRETS]
        if later and tuple(later) != self._restart_needed:
            log.warning(
                "%s changed in %s; takes effect at the next start", ", ".join(later), source
            )
        self._restart_needed = tuple(later)
        if not live:
            return []
        self.settings = self.settings.replace(**{n: getattr(fresh, n) for n in live})
        if self._signer is not None and {"secret_key", "secret_key_fallbacks"} & set(live):
            self._signer = signer_for(self.settings)
        log.info("%s changed in %s; in use from now on", ", ".join(live), source)
        return live

    # -- figures for monitoring -------------------------------------------------------------

    @property
    def meta_pool_stats(self) -> PoolStats:
        """The metadata engine's connection pool counters."""
        return db.pool_stats(self.meta)

    def pools(self) -> dict[str, PoolStats]:
        """Pooled connections by name, for metrics and the ops dashboards."""
        pools = {"metadata": self.meta_pool_stats}
        if self.store.pool_stats is not None:
            pools[f"{self.store.backend}_cursors"] = self.store.pool_stats
        return pools

    def database_files(self) -> Mapping[str, Path]:
        """Footfall's database files on this machine by name: the event store's, and SQLite's."""
        paths = dict(self.store.files())
        sqlite = self.settings.metadata_url.removeprefix("sqlite:///")
        if sqlite != self.settings.metadata_url:
            paths["metadata"] = Path(sqlite)
        return paths

    def sampled_figures(self) -> SampledFigures:
        """Where the ops sampler reads this process's figures."""
        return SampledFigures(
            data_dir=self.settings.data_dir,
            files=self.database_files,
            accepted=lambda: self.pipeline.accepted,
            queue_depth=lambda: self.writer.queue_depth,
            cache=self.stats.cache.counters,
            metrics=self.metrics,
            leaks=self.leaks,
            history=self.history,
            gc_stats=self.gc_stats,
            pools=self.pools(),
            buffers={"writer_batch": self.writer.buffers},
            publish=None if self.cluster is None else self.cluster.board.publish,
        )

    @property
    def _serves_alone(self) -> bool:
        """Whether this process serves with a cache of its own (workers share Redis's)."""
        return self._loop is not None and self.cluster is None and self.worker is None

    @property
    def _history_file(self) -> Path:
        if self.worker is None:
            return self.settings.data_dir / HISTORY_FILE
        return self.settings.data_dir / f"{Path(HISTORY_FILE).stem}-{self.worker}.json"

    # -- shared by the ingest paths ---------------------------------------------------------

    def remember_recent_visitors(self, *, site_id: int | None = None) -> None:
        """Loads the stored numbers of visitors whose hashes can still recur into the live mapping.

        Called on open and after an import (from any thread), so that a live event of a known
        visitor gets the number the store already has for it.

        Args:
            site_id: Only this site's visitors; every site's when None.
        """
        now = self.clock.now().astimezone(dt.UTC).replace(tzinfo=None)
        self.sessions.remember_visitors(
            self.store.recent_visitors(now - _NUMBERS_WINDOW, site_id=site_id)
        )
