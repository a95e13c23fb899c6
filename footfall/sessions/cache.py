"""The bounded in-memory cache of live sessions, keyed by (site, visitor)."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict

from footfall.sessions.rule import Session


class SessionCache:
    """Live sessions, least recently active evicted first once `capacity` is reached.

    Only the event loop touches it, so it needs no lock.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.evictions = 0
        self._items: OrderedDict[tuple[int, int], Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, site_id: int, visitor_id: int) -> Session | None:
        """The cached session of a visitor, if any."""
        return self._items.get((site_id, visitor_id))

    def put(self, session: Session) -> None:
        """Stores or refreshes a session, evicting the stalest when full."""
        key = (session.site_id, session.visitor_id)
        self._items[key] = session
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
            self.evictions += 1

    def expire(self, older_than: dt.datetime) -> int:
        """Drops sessions whose last event is before `older_than`; returns how many."""
        dropped = 0
        while self._items:
            key, session = next(iter(self._items.items()))
            if (session.seen or session.last) >= older_than:
                break
            del self._items[key]
            dropped += 1
        return dropped

    def forget_site(self, site_id: int) -> int:
        """Drops every session of a site (its events were deleted); returns how many."""
        keys = [key for key in self._items if key[0] == site_id]
        for key in keys:
            del self._items[key]
        return len(keys)
