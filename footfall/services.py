"""The composition root: builds every component of a footfall process from `Settings`.

The CLI and the web app both go through `Services.open`, the same way the tests do.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from footfall.clock import Clock, SystemClock
from footfall.ingest.geo import GeoLocator
from footfall.ingest.pipeline import Pipeline
from footfall.ingest.sources import SourceClassifier
from footfall.ingest.useragent import UserAgentParser
from footfall.meta import db
from footfall.meta.salts import SaltKeeper
from footfall.meta.sites import list_sites
from footfall.monitoring.pools import PoolStats
from footfall.sessions.cache import SessionCache
from footfall.sessions.numbering import VisitorNumbers
from footfall.sessions.rule import Session
from footfall.settings import Settings
from footfall.storage.duckdb.store import DuckDBEventStore
from footfall.storage.journal import Journal, pending_entries
from footfall.storage.schema import SESSION_COLUMNS, VISIT_COLUMNS

# Sessions older than this cannot continue, so they need not be reloaded after a restart.
_RESUME_WINDOW = dt.timedelta(minutes=31)
# How far back sessions are rebuilt after an unclean shutdown (far beyond any flush delay).
_REPAIR_MARGIN = dt.timedelta(hours=2)
# Visitor hashes under the current or the previous salt can recur; both salts were made within
# the last two days, so the visitors of sessions active since then cover them.
_NUMBERS_WINDOW = dt.timedelta(days=2)


class SiteDirectory:
    """Domain → site id, cached; a miss reloads at most every `refresh_seconds`."""

    def __init__(self, engine: sa.Engine, *, refresh_seconds: float = 2.0) -> None:
        self._engine = engine
        self._refresh_seconds = refresh_seconds
        self._ids: dict[str, int] = {}
        self._loaded_at = -1e9
        self.reload()

    def reload(self) -> None:
        """Reads every site from the metadata store."""
        self._ids = {site.domain: site.id for site in list_sites(self._engine)}
        self._loaded_at = time.monotonic()

    def site_id_for(self, domain: str) -> int | None:
        """The id of the site registered under `domain`, or None."""
        site_id = self._ids.get(domain)
        if site_id is None and time.monotonic() - self._loaded_at > self._refresh_seconds:
            self.reload()
            site_id = self._ids.get(domain)
        return site_id


class IdAllocator:
    """Hands out increasing ids: session ids and visitor numbers.

    Small sequential ids compress far better than random ones. Thread-safe: an import reserves
    a block while live ingest goes on.
    """

    def __init__(self, start: int) -> None:
        self._lock = threading.Lock()
        self._next = start

    def next(self) -> int:
        """One new id."""
        return self.reserve(1)

    def reserve(self, count: int) -> int:
        """Reserves `count` consecutive ids and returns the first (an import takes millions)."""
        with self._lock:
            first = self._next
            self._next += count
            return first


def session_from_row(row: tuple[object, ...]) -> Session:
    """Rebuilds a live session from its stored row."""
    m = dict(zip(SESSION_COLUMNS, row, strict=True))
    return Session(
        site_id=int(m["site_id"]),  # type: ignore[call-overload]
        session_id=int(m["session_id"]),  # type: ignore[call-overload]
        visitor_id=int(m["visitor_id"]),  # type: ignore[call-overload]
        visitor=int(m["visitor"]),  # type: ignore[call-overload]
        start=m["start"],  # type: ignore[arg-type]
        last=m["timestamp"],  # type: ignore[arg-type]
        pageviews=int(m["pageviews"]),  # type: ignore[call-overload]
        events=int(m["events"]),  # type: ignore[call-overload]
        is_bounce=bool(m["is_bounce"]),
        entry_page=str(m["entry_page"]),
        exit_page=str(m["exit_page"]),
        hostname=str(m["hostname"]),
        exit_hostname=str(m["exit_hostname"]),
        entry_props=tuple(zip(m["entry_props_keys"], m["entry_props_values"], strict=True)),  # type: ignore[call-overload]
        visit=tuple(m[c] for c in VISIT_COLUMNS),
    )


@dataclass
class Services:
    """Everything a footfall process runs on."""

    settings: Settings
    clock: Clock
    meta: sa.Engine
    store: DuckDBEventStore
    journal: Journal
    salts: SaltKeeper
    sites: SiteDirectory
    session_ids: IdAllocator
    sessions: SessionCache
    pipeline: Pipeline
    visitor_ids: IdAllocator
    visitor_numbers: VisitorNumbers

    @property
    def meta_pool_stats(self) -> PoolStats:
        """The metadata engine's connection pool counters."""
        return db.pool_stats(self.meta)

    @classmethod
    def open(cls, settings: Settings, *, clock: Clock | None = None) -> Services:
        """Creates the data directory, migrates the metadata store and opens the event store.

        Raises:
            StoreError: A store cannot be opened (StoreBusyError when another process has it).
        """
        clock = clock or SystemClock()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        meta = open_meta(settings)
        store = DuckDBEventStore(settings.event_store_path)
        journal = open_journal(store, settings.data_dir / "journal")
        salts = SaltKeeper(meta)
        sites = SiteDirectory(meta)
        sessions = SessionCache(settings.session_cache_size)
        since = clock.now().astimezone(dt.UTC).replace(tzinfo=None) - _RESUME_WINDOW
        if not store.was_closed_cleanly:
            # Sessions trail their events by up to a flush interval; rebuild the newest ones.
            newest = store.newest_event_time()
            if newest is not None:
                store.repair_sessions(newest - _REPAIR_MARGIN)
        # Only after the repair: a session lost in a crash still owns its id in the events.
        session_ids = IdAllocator(store.max_session_id() + 1)
        for row in store.open_sessions(since):
            sessions.put(session_from_row(row))
        # After the replay and the repair every number in use is stored: continue after them.
        visitor_ids = IdAllocator(store.max_visitor() + 1)
        visitor_numbers = VisitorNumbers(visitor_ids.next)
        pipeline = Pipeline(
            site_id_for=sites.site_id_for,
            salts=lambda: salts.ring(clock.now()),
            user_agents=UserAgentParser(cache_size=settings.ua_cache_size),
            geo=GeoLocator(),
            sources=SourceClassifier(),
            sessions=sessions,
            new_session_id=session_ids.next,
            visitor_numbers=visitor_numbers,
            clock=clock,
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
            visitor_numbers=visitor_numbers,
        )
        services.remember_recent_visitors()
        return services

    def remember_recent_visitors(self, *, site_id: int | None = None) -> None:
        """Loads the stored numbers of visitors whose hashes can still recur into the live mapping.

        Called on open and after an import (from any thread), so that a live event of a known
        visitor gets the number the store already has for it.

        Args:
            site_id: Only this site's visitors; every site's when None.
        """
        now = self.clock.now().astimezone(dt.UTC).replace(tzinfo=None)
        self.visitor_numbers.remember(
            self.store.recent_visitors(now - _NUMBERS_WINDOW, site_id=site_id)
        )

    def close(self) -> None:
        """Checkpoints the event store and releases the databases."""
        self.journal.close()
        self.journal.drop_applied(self.store.applied_journal_seq(), closed=True)
        self.store.close()
        self.meta.dispose()


def open_journal(store: DuckDBEventStore, directory: Path) -> Journal:
    """Applies journal entries the store lacks (after a crash), then opens the journal."""
    applied = store.applied_journal_seq()
    last = applied
    batch: list[tuple[object, ...]] = []
    for seq, rows in pending_entries(directory, applied):
        batch.extend(rows)
        last = seq
        if len(batch) >= 50_000:
            store.write(batch, [], [], journal_seq=last)
            batch = []
    if batch or last != applied:
        store.write(batch, [], [], journal_seq=last)
    # Rows journalled by a release without visitor numbers were stored with 0; number them now.
    store.fill_visitor_numbers()
    journal = Journal(directory)
    journal.set_sequence(last)
    journal.drop_applied(last)
    return journal


def open_meta(settings: Settings) -> sa.Engine:
    """Opens the metadata store and brings its schema up to date."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.create_engine(settings.metadata_url)
    db.migrate(engine)
    return engine
