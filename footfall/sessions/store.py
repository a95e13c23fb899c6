"""Where live sessions are kept: this process's memory, or a store every worker shares.

In one process the pipeline asks a `SessionStore` to apply each event to its visitor's session
(`track`) before the event is journalled: the store continues the session when the 30-minute
rule allows, or opens a new one with a new id and the visitor's number, and says what the
writer must store. `LocalSessions` keeps them in this process's memory.

Workers sharing their sessions (`SharedSessions`, in Redis: `footfall.cluster.sessions`)
decide sessions *after* the events are journalled, a batch at a time
(`footfall.ingest.deferred`): so the shared state only ever holds events that survive a crash
of the worker that took them. Each event is applied in one atomic step under an id made of its
journal stream, entry and position, and its outcome is kept until the writer has stored it:
applying it again (a retried write, a replay after a crash) returns the same outcome rather
than counting the event twice. Each change carries its version and the state it replaced
(ClickHouse stores a session's changes as cancel and new rows). Because a late event (one
replayed after a crash) may be applied after later ones of its visitor, the shared rule orders
by time rather than by arrival: the entry page is the earliest pageview's, the exit page the
latest's, the start the earliest event's. For events that arrive in time order, as they do in
one process, both rules agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from footfall.sessions.cache import SessionCache
from footfall.sessions.numbering import VisitorNumbers
from footfall.sessions.rule import (
    SESSION_TIMEOUT_MINUTES,
    Session,
    continues,
    extend_session,
    start_session,
)

# What the writer stores for one change of a session (`footfall.storage.writer`): (row,
# created) from `LocalSessions`; (row, version, replaced row or None) from a shared store.
SessionChange = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Hit:
    """What one event tells the session rule.

    Attributes:
        timestamp: When it happened (naive UTC, whole seconds).
        name: The event name (``pageview``, ``engagement`` or a custom one).
        hostname: The page's host.
        pathname: The page's path.
        interactive: False for events sent with ``interactive: false``.
    """

    timestamp: dt.datetime
    name: str
    hostname: str
    pathname: str
    interactive: bool


@dataclass(frozen=True, slots=True)
class Opening:
    """What a new session takes from its first event besides the hit: visit attributes, props."""

    visit: tuple[Any, ...]
    props: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Tracked:
    """A session after one event, and the change the writer stores (None for engagement)."""

    session: Session
    change: SessionChange | None


@dataclass(frozen=True, slots=True)
class SessionFigures:
    """Live sessions held, the bound on them and how many were evicted (0, 0, 0 when shared)."""

    entries: int
    capacity: int
    evictions: int


class SessionBook(Protocol):
    """Live sessions and the visitor numbers of the hashes that can still recur."""

    def remember_visitors(self, rows: Iterable[tuple[int, int, int]]) -> None:
        """Adds stored (site_id, visitor_id, visitor) numbers; safe from any thread."""
        ...

    def housekeep(self, now: dt.datetime, salt_created: dt.datetime) -> None:
        """Forgets what can no longer recur: ended sessions, numbers of retired salts."""
        ...

    def figures(self) -> SessionFigures:
        """How many live sessions this process holds (for monitoring)."""
        ...

    def forget_site(self, site_id: int) -> int:
        """Drops a site's live sessions (its events were deleted); returns how many."""
        ...


class SessionStore(SessionBook, Protocol):
    """Sessions decided as each event arrives, by the process that took it."""

    def track(
        self,
        site_id: int,
        visitor_ids: Sequence[int],
        hit: Hit,
        opening: Callable[[], Opening],
    ) -> Tracked | None:
        """Applies one event to its visitor's session.

        Args:
            site_id: The site.
            visitor_ids: The visitor's hash under the current salt, then under the previous
                salt when there is one (a visit that began before the last rotation).
            hit: The event.
            opening: Builds the new session's attributes; called only when one may start.

        Returns:
            The session and its change, or None for an engagement event of no live session.

        Raises:
            StoreError: A shared store could not be reached; nothing was changed.
        """
        ...


@dataclass(frozen=True, slots=True)
class Deferred:
    """A journalled event whose session is decided now, under a cluster-unique id.

    Attributes:
        seq: Its journal entry.
        index: Its position in the entry.
        site_id: The site.
        visitor_ids: The hash under the current salt, then under the previous one if any.
        hit: The event.
        opening: The attributes of a session it would open.
    """

    seq: int
    index: int
    site_id: int
    visitor_ids: tuple[int, ...]
    hit: Hit
    opening: Opening


class SharedSessions(SessionBook, Protocol):
    """Sessions several workers share, decided after the events are journalled."""

    def track_batch(self, stream: int, events: Sequence[Deferred]) -> list[Tracked | None]:
        """Applies journalled events of one stream, each once however often it is asked.

        Args:
            stream: The journal stream the events were journalled in.
            events: The events, in journal order.

        Returns:
            Per event, its session and change, or None for an engagement event of no session.

        Raises:
            StoreError: The shared store failed; ask again with the same events.
        """
        ...

    def forget(self, stream: int, seqs: Iterable[int]) -> None:
        """Drops the kept outcomes of journal entries the event store now holds."""
        ...


class LocalSessions:
    """Sessions in this process's memory: a bounded LRU, ids and numbers from counters.

    Only the event loop calls `track` and `housekeep`, so nothing is locked.
    """

    def __init__(
        self,
        cache: SessionCache,
        *,
        new_session_id: Callable[[], int],
        visitor_numbers: VisitorNumbers,
    ) -> None:
        self.cache = cache
        self.visitor_numbers = visitor_numbers
        self._new_session_id = new_session_id

    def __len__(self) -> int:
        return len(self.cache)

    def put(self, session: Session) -> None:
        """Adds a session read back from the store (after a restart)."""
        self.cache.put(session)

    def track(
        self,
        site_id: int,
        visitor_ids: Sequence[int],
        hit: Hit,
        opening: Callable[[], Opening],
    ) -> Tracked | None:
        """Continues the visitor's cached session, or starts one (see `SessionStore.track`)."""
        cache = self.cache
        current = visitor_ids[0]
        # Only a visit that began before the last midnight rotation is keyed by the old salt.
        candidates = visitor_ids if cache.get(site_id, current) is None else visitor_ids[:1]
        for vid in candidates:
            session = cache.get(site_id, vid)
            if session is not None and continues(session, hit.timestamp):
                if hit.name == "engagement":
                    session.seen = hit.timestamp
                    cache.put(session)
                    return Tracked(session, None)
                extend_session(
                    session,
                    timestamp=hit.timestamp,
                    name=hit.name,
                    hostname=hit.hostname,
                    pathname=hit.pathname,
                    interactive=hit.interactive,
                )
                cache.put(session)
                return Tracked(session, (session.as_row(), False))
        if hit.name == "engagement":
            return None
        opened = opening()
        session = start_session(
            site_id=site_id,
            session_id=self._new_session_id(),
            visitor_id=current,
            visitor=self.visitor_numbers.number_for(site_id, current),
            timestamp=hit.timestamp,
            name=hit.name,
            hostname=hit.hostname,
            pathname=hit.pathname,
            interactive=hit.interactive,
            props=opened.props,
            visit=opened.visit,
        )
        cache.put(session)
        return Tracked(session, (session.as_row(), True))

    def remember_visitors(self, rows: Iterable[tuple[int, int, int]]) -> None:
        """Adds stored numbers to the live mapping (`VisitorNumbers.remember`)."""
        self.visitor_numbers.remember(rows)

    def housekeep(self, now: dt.datetime, salt_created: dt.datetime) -> None:
        """Rotates the visitor numbers after a salt rotation and drops ended sessions."""
        self.visitor_numbers.rotate(salt_created)
        self.cache.expire(
            now.astimezone(dt.UTC).replace(tzinfo=None)
            - dt.timedelta(minutes=SESSION_TIMEOUT_MINUTES + 1)
        )

    def forget_site(self, site_id: int) -> int:
        """Drops a site's cached sessions (see `SessionBook.forget_site`)."""
        return self.cache.forget_site(site_id)

    def figures(self) -> SessionFigures:
        """Sessions held, the cache's bound and its evictions."""
        cache = self.cache
        return SessionFigures(len(cache), cache.capacity, cache.evictions)
