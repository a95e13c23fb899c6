"""Session rows over a `VersionedCollapsingMergeTree`: cancel rows, versions, current states.

ClickHouse does not update rows in place. When a session changes, the store writes the state it
wrote last with ``sign = -1`` (same version: the pair collapses when parts merge) and the new
state with ``sign = 1`` and the next version. Until the merge, a cancelled state and its cancel
row are identical in every column a query can filter on, so ``sum(sign * x)`` over any filter
counts each session's current state exactly once. Writing a cancel row needs the previous state
as it was written: `SessionStates` keeps the recent ones, and the store reads the others back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from footfall.storage.base import SessionRow
from footfall.storage.schema import SESSION_COLUMNS, VISIT_COLUMNS

SESSION_ID = SESSION_COLUMNS.index("session_id")
SITE_ID = SESSION_COLUMNS.index("site_id")
LAST = SESSION_COLUMNS.index("timestamp")
# The states of sessions whose last event is older than this before the newest are forgotten:
# such sessions cannot continue (30 minutes), and a repair after a crash reads them back.
_KEEP = dt.timedelta(hours=3)


def current_sessions_sql(columns: str, where: str) -> str:
    """Each session's current row among those meeting `where`.

    `where` may only test columns that never change (site, start) or change one way (the last
    event's time only grows): then a session's newest version meets it whenever an older one
    does, and the newest version among the matching rows is the current one.
    """
    return (
        f"SELECT {columns} FROM sessions WHERE {where} AND sign = 1 AND (session_id, version) IN "
        f"(SELECT session_id, max(version) FROM sessions WHERE {where} GROUP BY session_id)"
    )


class SessionStates:
    """The last written state and version of each recent session (for its next cancel row)."""

    def __init__(self) -> None:
        self._states: dict[int, tuple[int, SessionRow]] = {}
        self._newest: dt.datetime | None = None

    def __len__(self) -> int:
        return len(self._states)

    def get(self, session_id: int) -> tuple[int, SessionRow] | None:
        """The version and row last written for a session, if known."""
        return self._states.get(session_id)

    def put(self, version: int, row: SessionRow) -> None:
        """Remembers a written state."""
        self._states[int(row[SESSION_ID])] = (version, row)
        last = row[LAST]
        if self._newest is None or last > self._newest:
            self._newest = last

    def forget_site(self, site_id: int) -> None:
        """Drops the states of a deleted site."""
        self._states = {k: v for k, v in self._states.items() if v[1][SITE_ID] != site_id}

    def trim(self) -> None:
        """Drops states of sessions that can no longer continue."""
        if self._newest is None:
            return
        oldest = self._newest - _KEEP
        self._states = {k: v for k, v in self._states.items() if v[1][LAST] >= oldest}


def versioned_rows(
    rows: Iterable[SessionRow], states: SessionStates
) -> tuple[list[SessionRow], list[int], list[int], list[tuple[int, SessionRow]]]:
    """The rows to insert for new states: cancel rows first, each with its sign and version.

    Returns:
        (rows, signs, versions, written) where `written` lists the (version, row) each session
        will have once the insert succeeds.
    """
    out: list[SessionRow] = []
    signs: list[int] = []
    versions: list[int] = []
    written: list[tuple[int, SessionRow]] = []
    for row in rows:
        prior = states.get(int(row[SESSION_ID]))
        if prior is None:
            version = 1
        else:
            old_version, old = prior
            if tuple(old) == tuple(row):
                continue
            out.append(old)
            signs.append(-1)
            versions.append(old_version)
            version = old_version + 1
        out.append(row)
        signs.append(1)
        versions.append(version)
        written.append((version, row))
    return out, signs, versions, written


def repair_sql() -> str:
    """Sessions rebuilt from their events, for sessions with an event at or after ``$1``."""
    visit = ", ".join(f"any({c}) AS r_{c}" for c in VISIT_COLUMNS)
    pv = "name = 'pageview'"
    return f"""
        SELECT site_id, session_id, any(visitor_id) AS r_visitor_id, any(visitor) AS r_visitor,
               min(timestamp) AS r_start, max(timestamp) AS r_last,
               toUInt32(dateDiff('second', min(timestamp), max(timestamp))) AS r_duration,
               toUInt32(countIf({pv})) AS r_pageviews,
               toUInt32(count()) AS r_events,
               toBool(countIf({pv}) < 2 AND countIf(name <> 'pageview' AND interactive) = 0)
                 AS r_is_bounce,
               argMinIf(pathname, timestamp, {pv}) AS r_entry_page,
               argMaxIf(pathname, timestamp, {pv}) AS r_exit_page,
               argMinIf(hostname, timestamp, {pv}) AS r_hostname,
               argMaxIf(hostname, timestamp, {pv}) AS r_exit_hostname,
               argMin(props_keys, timestamp) AS r_entry_props_keys,
               argMin(props_values, timestamp) AS r_entry_props_values,
               {visit}
        FROM events
        WHERE name <> 'engagement' AND session_id IN (
          SELECT DISTINCT session_id FROM events WHERE timestamp >= $1)
        GROUP BY site_id, session_id
        ORDER BY session_id
    """


def as_rows(found: Sequence[Sequence[object]]) -> list[SessionRow]:
    """Result rows (in `SESSION_COLUMNS` order) as session row tuples."""
    return [tuple(row) for row in found]
