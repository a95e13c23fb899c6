"""Opening the stores and the parts the composition root assembles (footfall.services)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from footfall.alerts.channels import ChannelConfig, SmtpConfig
from footfall.clock import Clock
from footfall.cluster.cache import RedisCache
from footfall.errors import ConfigError
from footfall.ingest.geo import GeoLocator
from footfall.ingest.pipeline import Pipeline
from footfall.ingest.salts import SaltKeeper
from footfall.ingest.sources import SourceClassifier
from footfall.ingest.useragent import UserAgentParser
from footfall.meta.opening import open_meta as open_meta
from footfall.meta.opening import prepare_data_dir as prepare_data_dir
from footfall.meta.sites import SiteDirectory
from footfall.sessions.cache import SessionCache
from footfall.sessions.ids import IdAllocator
from footfall.sessions.numbering import VisitorNumbers
from footfall.sessions.rule import SESSION_TIMEOUT_MINUTES, session_from_row
from footfall.sessions.store import LocalSessions
from footfall.settings import Settings
from footfall.stats.cache import MemoryCache, NullCache, QueryCache
from footfall.storage.base import EventStore
from footfall.storage.duckdb import snapshots as duckdb_snapshots
from footfall.storage.duckdb.store import DuckDBEventStore
from footfall.storage.journal import Journal
from footfall.storage.replay import open_journal

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


def open_event_store(settings: Settings, *, read_only: bool = False) -> EventStore:
    """Opens the event store the settings name (the embedded DuckDB file by default).

    Raises:
        StoreError: It cannot be opened (StoreBusyError when another process holds it).
        ConfigError: ``FOOTFALL_EVENTS_URL`` names a ClickHouse store but the ``clickhouse``
            extra is not installed.
    """
    if not settings.events_url:
        return DuckDBEventStore(
            settings.event_store_path, read_only=read_only, memory_limit_mb=settings.store_memory_mb
        )
    return open_event_store_at(
        settings.events_url, read_only=read_only, memory_limit_mb=settings.store_memory_mb
    )


def open_event_store_at(
    url: str, *, read_only: bool = False, memory_limit_mb: int = 0
) -> EventStore:
    """Opens the event store at a URL: ``duckdb:///PATH``, ``chdb:///PATH`` or ClickHouse's.

    `memory_limit_mb` caps an embedded DuckDB store's memory (0: DuckDB's default).

    Raises:
        StoreError: It cannot be opened.
        ConfigError: The URL names no known store, or its driver is not installed.
    """
    scheme = url.split(":", 1)[0]
    if scheme == "duckdb":
        return DuckDBEventStore(
            Path(url.removeprefix("duckdb://")),
            read_only=read_only,
            memory_limit_mb=memory_limit_mb,
        )
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


def event_store_backend(settings: Settings) -> str:
    """The name of the event-store backend the settings select (``duckdb`` or ``clickhouse``)."""
    if not settings.events_url or settings.events_url.startswith("duckdb:"):
        return DuckDBEventStore.backend
    return "clickhouse"


def readable_store_versions(settings: Settings) -> frozenset[str]:
    """The event-store schema versions this footfall opens (older ones are upgraded)."""
    if event_store_backend(settings) == DuckDBEventStore.backend:
        return DuckDBEventStore.readable_versions
    from footfall.storage.clickhouse.lifecycle import StoreLifecycle

    return StoreLifecycle.readable_versions


def restore_event_store(
    settings: Settings, snapshot_dir: Path, *, into: Path, replace: bool = False
) -> None:
    """Builds the event store the settings select from a snapshot of the same backend.

    Args:
        settings: The settings of the data directory being restored.
        snapshot_dir: What `EventStore.snapshot_to` wrote.
        into: Where an embedded store's files go (they are moved into the data directory
            once everything is restored); a server-side store restores in place.
        replace: A server-side store that holds events is emptied first (else refused).

    Raises:
        StoreError: The snapshot cannot be restored.
    """
    if event_store_backend(settings) == DuckDBEventStore.backend:
        path = settings.event_store_path
        if settings.events_url:
            path = Path(settings.events_url.removeprefix("duckdb://"))
        duckdb_snapshots.restore_snapshot(
            snapshot_dir, into / path.name, memory_limit_mb=settings.store_memory_mb
        )
        return
    from footfall.storage.clickhouse.store import ClickHouseEventStore

    store = ClickHouseEventStore(settings.events_url or "")
    try:
        store.restore_from(snapshot_dir, replace=replace)
    finally:
        store.close()


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


def channel_config(settings: Settings) -> ChannelConfig:
    """The alert channels' secrets and servers from the settings."""
    smtp = None
    if settings.smtp_host:
        smtp = SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout_s,
        )
    return ChannelConfig(webhook_secret=settings.alert_webhook_secret, smtp=smtp)
