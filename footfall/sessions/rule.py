"""Plausible's session rule (`Plausible.Session.CacheStore`), as pure functions.

A visitor's events belong to one session until more than 30 minutes pass without an event.
The first event fixes the visit attributes; entry/exit pages come from pageviews only; a visit
bounces while it has fewer than two pageviews and no interactive custom event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from footfall.storage.schema import SESSION_COLUMNS, VISIT_COLUMNS

SESSION_TIMEOUT_MINUTES = 30


@dataclass(slots=True)
class Session:
    """One visit, as it stands after its latest event."""

    site_id: int
    session_id: int
    visitor_id: int
    # The dense visitor number of (site_id, visitor_id) (footfall.sessions.numbering).
    visitor: int
    start: dt.datetime
    last: dt.datetime
    pageviews: int
    events: int
    is_bounce: bool
    entry_page: str
    exit_page: str
    hostname: str
    exit_hostname: str
    entry_props: tuple[tuple[str, str], ...]
    visit: tuple[Any, ...]
    # Last sign of life, engagement events included: it decides whether the session continues.
    seen: dt.datetime | None = None
    # Entry props never change, so their stored columns are built once (rows share them).
    _entry_columns: tuple[list[str], list[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._entry_columns = (
            [k for k, _ in self.entry_props],
            [v for _, v in self.entry_props],
        )

    @property
    def duration(self) -> int:
        """Seconds between the first and the latest event."""
        return int(abs((self.last - self.start).total_seconds()))

    def as_row(self) -> tuple[Any, ...]:
        """The session in `footfall.storage.schema.SESSION_COLUMNS` order."""
        return (
            self.site_id,
            self.session_id,
            self.visitor_id,
            self.visitor,
            self.start,
            self.last,
            self.duration,
            self.pageviews,
            self.events,
            self.is_bounce,
            self.entry_page,
            self.exit_page,
            self.hostname,
            self.exit_hostname,
            *self._entry_columns,
            *self.visit,
        )


def continues(session: Session, timestamp: dt.datetime) -> bool:
    """True when an event at `timestamp` still belongs to `session` (whole minutes, ≤ 30)."""
    seen = (
        session.seen if session.seen is not None and session.seen > session.last else session.last
    )
    return (timestamp - seen).total_seconds() // 60 <= SESSION_TIMEOUT_MINUTES


def start_session(
    *,
    site_id: int,
    session_id: int,
    visitor_id: int,
    visitor: int,
    timestamp: dt.datetime,
    name: str,
    hostname: str,
    pathname: str,
    interactive: bool,
    props: tuple[tuple[str, str], ...],
    visit: tuple[Any, ...],
) -> Session:
    """A new session opened by its first (non-engagement) event."""
    is_pageview = name == "pageview"
    return Session(
        site_id=site_id,
        session_id=session_id,
        visitor_id=visitor_id,
        visitor=visitor,
        start=timestamp,
        last=timestamp,
        pageviews=1 if is_pageview else 0,
        events=1,
        is_bounce=is_pageview or not interactive,
        entry_page=pathname if is_pageview else "",
        exit_page=pathname if is_pageview else "",
        hostname=hostname if is_pageview else "",
        exit_hostname=hostname if is_pageview else "",
        entry_props=props,
        visit=visit,
    )


def extend_session(
    session: Session,
    *,
    timestamp: dt.datetime,
    name: str,
    hostname: str,
    pathname: str,
    interactive: bool,
) -> None:
    """Applies a later (non-engagement) event to `session` in place."""
    session.last = max(session.last, timestamp)
    session.events += 1
    if name == "pageview":
        session.pageviews += 1
        session.exit_page = pathname
        session.exit_hostname = hostname
        if not session.entry_page:
            session.entry_page = pathname
            session.hostname = hostname
    if session.is_bounce and (session.pageviews >= 2 or (name != "pageview" and interactive)):
        session.is_bounce = False


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
