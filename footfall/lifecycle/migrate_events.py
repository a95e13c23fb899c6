"""Copying the event history from one event store to another (DuckDB ⇄ ClickHouse).

The copy goes one UTC day at a time, events and then the sessions that started that day, each
day a bulk load of the target (`EventStore.load`), so memory holds one day at most. A day whose
events the target already holds in full is passed over, which makes an interrupted copy
resumable: run the same command again. At the end the events per site and day are counted on
both sides and must agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from footfall.errors import StoreError
from footfall.storage.base import EventStore

_DAY = dt.timedelta(days=1)


@dataclass
class MigrationReport:
    """What a copy did.

    Attributes:
        days: Days with events in the source.
        copied_days: Days copied by this run.
        skipped_days: Days the target already held in full (an earlier, interrupted run).
        events: Events copied by this run.
        sessions: Sessions copied by this run.
        mismatches: (site_id, day, source count, target count) where the counts disagree at
            the end; empty after a good copy.
    """

    days: int = 0
    copied_days: int = 0
    skipped_days: int = 0
    events: int = 0
    sessions: int = 0
    mismatches: list[tuple[int, str, int, int]] = field(default_factory=list)


def _first_day(store: EventStore) -> dt.datetime | None:
    rows = store.query("SELECT min(timestamp) FROM events", [], timeout=600, tag="migrate")
    first = rows[0][0] if rows else None
    if first is None:
        return None
    if first.tzinfo is not None:
        first = first.astimezone(dt.UTC).replace(tzinfo=None)
    return dt.datetime(first.year, first.month, first.day)


def migrate_events(
    source: EventStore,
    target: EventStore,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> MigrationReport:
    """Copies every event and session of `source` into `target`, day by day, then verifies.

    Args:
        source: The store copied from (not changed).
        target: The store copied to; days it already holds in full are not copied again.
        progress: Called with (days done, days in all) after each day.

    Raises:
        StoreError: A day is partly in the target (from another writer, or a load that a
            crash cut short on a store without transactions): the copy cannot tell which
            rows are missing.
    """
    report = MigrationReport()
    first = _first_day(source)
    newest = source.newest_event_time()
    if first is None or newest is None:
        target.write([], [], [], journal_seq=source.applied_journal_seq())
        return report
    end = dt.datetime(newest.year, newest.month, newest.day) + _DAY
    source_counts = source.daily_counts(first, end)
    target_counts = target.daily_counts(first, end)
    days = [first + i * _DAY for i in range((end - first) // _DAY)]
    report.days = sum(1 for d in days if any(k[1] == d.date().isoformat() for k in source_counts))
    for index, day in enumerate(days):
        label = day.date().isoformat()
        wanted = {k: v for k, v in source_counts.items() if k[1] == label}
        held = {k: v for k, v in target_counts.items() if k[1] == label}
        if wanted and held == wanted:
            report.skipped_days += 1
        elif wanted and held:
            raise StoreError(
                f"the target already holds part of {label} ({sum(held.values())} of "
                f"{sum(wanted.values())} events); empty it and start again"
            )
        elif wanted:
            events = source.scan("events", day, day + _DAY)
            sessions = source.scan("sessions", day, day + _DAY)
            target.load(events, sessions)
            report.copied_days += 1
            report.events += events.num_rows
            report.sessions += sessions.num_rows
        if progress is not None:
            progress(index + 1, len(days))
    # The target takes over where the source left the ingest journal, so that a journal
    # replay after the switch adds only what the source never stored.
    target.write([], [], [], journal_seq=source.applied_journal_seq())
    after = target.daily_counts(first, end)
    for key in sorted(set(source_counts) | set(after)):
        if source_counts.get(key, 0) != after.get(key, 0):
            report.mismatches.append((*key, source_counts.get(key, 0), after.get(key, 0)))
    return report
