"""The event-store interface every backend implements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

EventRow = tuple[Any, ...]
SessionRow = tuple[Any, ...]


class EventWriter(Protocol):
    """Durably appends events and upserts the sessions they belong to."""

    def write(
        self,
        events: Sequence[EventRow],
        new_sessions: Sequence[SessionRow],
        changed_sessions: Sequence[SessionRow],
        *,
        journal_seq: int | None = None,
    ) -> None:
        """Commits one batch atomically, with the journal position it completes."""
        ...


class EventReader(Protocol):
    """What the ingest side needs to read back."""

    def open_sessions(self, since: dt.datetime) -> list[SessionRow]:
        """Sessions whose last event is at or after `since` (to resume after a restart)."""
        ...

    def max_session_id(self) -> int:
        """The largest session id stored (0 when empty)."""
        ...

    def max_visitor(self) -> int:
        """The largest visitor number stored (0 when empty)."""
        ...

    def recent_visitors(
        self, since: dt.datetime, *, site_id: int | None = None
    ) -> list[tuple[int, int, int]]:
        """(site_id, visitor_id, visitor) of sessions active since `since` (the live mapping)."""
        ...

    def count_events(self, site_id: int | None = None) -> int:
        """How many events are stored, for one site or all."""
        ...
