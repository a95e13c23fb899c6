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
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import sqlalchemy as sa

from footfall.clock import Clock, SystemClock
from footfall.cluster.cache import RedisCache
from footfall.cluster.config import shares_state
from footfall.cluster.node import ClusterState
from footfall.cluster.streams import STREAM_FILE
from footfall.cluster.version import SharedDataVersion
from footfall.errors import ConfigError, StoreError
from footfall.ingest.deferred import Sessionizer
from footfall.ingest.geo import GeoLocator
from footfall.ingest.pipeline import Pipeline
from footfall.ingest.salts import SaltKeeper
from footfall.ingest.sources import SourceClassifier
from footfall.ingest.useragent import UserAgentParser
from footfall.jobs.housekeeping import (
    KEY_USAGE_FLUSH_SECONDS,
    run_housekeeping,
    run_key_usage_writer,
)
from footfall.jobs.runner import Job, JobRunner
from footfall.jobs.warming import run_cache_warmer
from footfall.lifecycle.spool import remove_spools
from footfall.meta import db
from footfall.meta.keys import KeyUsage
from footfall.meta.salts import SqlSaltStore
from footfall.meta.sites import SiteDirectory
from footfall.monitoring.gcstats import GcStats
from footfall.monitoring.history import History
from footfall.monitoring.leaks import LeakDetector
from footfall.monitoring.metrics import Metrics
from footfall.monitoring.pools import PoolStats
from footfall.monitoring.readiness import WriterWatch
from footfall.monitoring.sampler import HISTORY_FILE, SampledFigures, run_sampler
from footfall.monitoring.tracing import MemoryTracer
from footfall.security.ratelimit import RateLimits, open_rate_limits
from footfall.security.signing import Signer, signer_for
from footfall.sessions.cache import SessionCache
from footfall.sessions.ids import Allocator, IdAllocator
from footfall.sessions.numbering import VisitorNumbers
from footfall.sessions.rule import SESSION_TIMEOUT_MINUTES, session_from_row
from footfall.sessions.store import LocalSessions, SessionBook
from footfall.settings import Settings
from footfall.stats.cache import MemoryCache, NullCache, QueryCache
from footfall.stats.engine import StatsEngine
from footfall.storage.base import EventStore, SharedEventStore
from footfall.storage.duckdb.store import DuckDBEventStore
from footfall.storage.journal import Journal
from footfall.storage.replay import open_journal
from footfall.storage.writer import GroupCommitWriter, WriteGeneration

log = logging.getLogger(__name__)

# Sessions older than this cannot continue, so they need not be reloaded after a restart.
_RESUME_WINDOW = dt.timedelta(minutes=SESSION_TIMEOUT_MINUTES + 1)
# How far back sessions are rebuilt after an unclean shutdown (far beyond any flush delay).
_REPAIR_MARGIN = dt.timedelta(hours=2)
# Visitor hashes under the current or the previous salt can recur; both salts were made within
# the last two days, so the visitors of sessions active since then cover them.
_NUMBERS_WINDOW = dt.timedelta(days=2)


def prepare_data_dir(path: Path) -> None:
    """Creates the data directory if needed and checks that footfall can write in it.

    Raises:
        StoreError: It cannot be created or written; the message names the path.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        # Trying is the only reliable check: permissions, ACLs, read-only mounts, quotas.
        with tempfile.TemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise StoreError(
            f"data directory {path} is not writable: {exc.strerror or exc} (choose another "
            "with --data-dir or FOOTFALL_DATA_DIR, or give this user write access)"
        ) from exc


def open_meta(settings: Settings) -> sa.Engine:
    """Opens the metadata store and brings its schema up to date.

    Raises:
        ConfigError: ``FOOTFALL_DATABASE_URL`` cannot be parsed or names an unsupported
            database (the message shows the URL without its password).
        StoreError: The data directory is not writable, or the database cannot be reached.
    """
    prepare_data_dir(settings.data_dir)
    engine = db.create_engine(settings.metadata_url)
    db.migrate(engine)
    return engine


def open_event_store(settings: Settings, *, read_only: bool = False) -> EventStore:
    """Opens the event store the settings name (the embedded DuckDB file by default).

    Raises:
        StoreError: It cannot be opened (StoreBusyError when another process holds it).
        ConfigError: ``FOOTFALL_EVENTS_URL`` names a ClickHouse store but the ``clickhouse``
            extra is not installed.
    """
    if not settings.events_url:
        return DuckDBEventStore(settings.event_store_path, read_only=read_only)
    return open_event_store_at(settings.events_url, read_only=read_only)


def open_event_store_at(url: str, *, read_only: bool = False) -> EventStore:
    """Opens the event store at a URL: ``duckdb:///PATH``, ``chdb:///PATH`` or ClickHouse's.

    Raises:
        StoreError: It cannot be opened.
        ConfigError: The URL names no known store, or its driver is not installed.
    """
    scheme = url.split(":", 1)[0]
    if scheme == "duckdb":
        return DuckDBEventStore(Path(url.removeprefix("duckdb://")), read_only=read_only)
    if scheme not in ("chdb", "clickhouse", "http", "https"):
        raise ConfigError(f"unknown event store URL scheme {scheme!r}")
    try:
        # Imported here: the ClickHouse drivers are an optional extra.
        from footfall.storage.clickhouse.store import ClickHouseEventStore
    except ImportError as exc:
        raise ConfigError(
            f"the ClickHouse event store needs the clickhouse extra "
            f"(pip install 'footfall[clickhouse]'): {exc}"
        ) from None
    return ClickHouseEventStore(url, read_only=read_only)


def open_cache(settings: Settings) -> QueryCache:
    """The query cache the settings ask for.

    Returns:
        A `RedisCache` when a Redis URL is set, else a `MemoryCache` of
        ``query_cache_entries``, or a `NullCache` when that is 0.

    Raises:
        ConfigError: The Redis URL is malformed.
    """
    if settings.redis_url:
        try:
            return RedisCache(settings.redis_url)
        except ValueError as exc:
            # The URL may hold a password, so the message names the variable, not the value.
            raise ConfigError(f"FOOTFALL_REDIS_URL: {exc}") from None
    if settings.query_cache_entries == 0:
        return NullCache()
    return MemoryCache(settings.query_cache_entries)


def _pipeline(
    settings: Settings,
    sites: SiteDirectory,
    salts: SaltKeeper,
    clock: Clock,
    sessions: LocalSessions | None,
) -> Pipeline:
    """The live ingest pipeline (without sessions when they are shared)."""
    return Pipeline(
        site_id_for=sites.site_id_for,
        salts=lambda: salts.ring(clock.now()),
        user_agents=UserAgentParser(cache_size=settings.ua_cache_size),
        geo=GeoLocator(),
        sources=SourceClassifier(),
        sessions=sessions,
        clock=clock,
    )


def _local_sessions(
    settings: Settings, store: EventStore, journal: Journal, clock: Clock
) -> tuple[LocalSessions, IdAllocator, IdAllocator]:
    """This process's sessions and counters, continuing from what the store holds."""
    sessions = SessionCache(settings.session_cache_size)
    since = clock.now().astimezone(dt.UTC).replace(tzinfo=None) - _RESUME_WINDOW
    if not store.was_closed_cleanly or journal.replay.entries:
        # Sessions trail their events (replayed ones have none): rebuild the newest ones.
        newest = store.newest_event_time()
        if newest is not None:
            store.repair_sessions(newest - _REPAIR_MARGIN)
    # Only after the repair: a session lost in a crash still owns its id in the events.
    session_ids = IdAllocator(store.max_session_id() + 1)
    for row in store.open_sessions(since):
        sessions.put(session_from_row(row))
    # After the replay and the repair every number in use is stored: continue after them.
    visitor_ids = IdAllocator(store.max_visitor() + 1)
    local = LocalSessions(
        sessions, new_session_id=session_ids.next, visitor_numbers=VisitorNumbers(visitor_ids.next)
    )
    return local, session_ids, visitor_ids


def _finish_local_journal(store: EventStore, directory: Path) -> None:
    """Replays a journal of complete rows (one process's sessions) before sessions are shared.

    Their sessions are rebuilt from the events, as after a single process's crash.
    """
    journal = open_journal(store, directory)
    if journal.replay.entries:
        newest = store.newest_event_time()
        if newest is not None:
            store.repair_sessions(newest - _REPAIR_MARGIN)
    journal.close()
    journal.drop_applied(store.applied_journal_seq(), closed=True)


def journal_dir(settings: Settings, worker: int | None = None) -> Path:
    """The ingest journal of a single process, or of one of several workers."""
    base = settings.data_dir / "journal"
    return base if worker is None else base / str(worker)


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
        self._writer = GroupCommitWriter(
            self.store,
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
        self._rate_limits = open_rate_limits(settings)
        self._signer = signer_for(settings)
        self.history.load(self._history_file, now=time.time())
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

    async def stop(self) -> None:
        """Stops the jobs, flushes the writer and keeps the ops history (undoes `start`)."""
        self.gc_stats.uninstall()
        if self._jobs is not None:
            await self._jobs.stop()
            self._jobs = None
        with contextlib.suppress(OSError):
            self.history.dump(self._history_file)
        self.tracer.close()
        if self._writer is not None:
            self._writer.close()
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
        jobs = [
            Job(
                "housekeeping",
                functools.partial(
                    run_housekeeping,
                    clock=self.clock,
                    salts=self.salts,
                    sessions=self.sessions,
                ),
            ),
            Job(
                "ops-sampler",
                functools.partial(run_sampler, self.sampled_figures(), settings.ops_sample_seconds),
            ),
        ]
        jobs.append(
            Job(
                "key-usage",
                functools.partial(
                    run_key_usage_writer, self.key_usage, self.meta, KEY_USAGE_FLUSH_SECONDS
                ),
            )
        )
        if settings.cache_warming:
            jobs.append(
                Job(
                    "cache-warming",
                    functools.partial(
                        run_cache_warmer,
                        self.stats,
                        self.generation,
                        live_ttl=settings.query_cache_live_ttl_s,
                        budget_seconds=settings.cache_warming_budget_ms / 1000,
                    ),
                    once_per_cluster=True,  # the query cache is shared then
                )
            )
        return jobs

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
