"""Opening the ingest journal: entries the store lacks after a crash are replayed first."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from footfall.storage.base import EventStore, SessionVersionWriter
from footfall.storage.journal import Journal, pending_entries
from footfall.storage.versions import SessionVersions
from footfall.storage.writer import Sessionize

# Journal entries replayed per store write after a crash.
REPLAY_BATCH = 50_000


def open_journal(
    store: EventStore,
    directory: Path,
    *,
    shared: tuple[Sessionize, SessionVersionWriter] | None = None,
) -> Journal:
    """Applies journal entries the store lacks (after a crash), then opens the journal.

    Args:
        store: The event store.
        directory: The journal's directory.
        shared: When sessions are shared, the journal holds pending rows: who decides their
            sessions (again: a decided event keeps its outcome) and where the versioned
            session rows go. They are written only for entries whose session rows the store
            lacks (the writer stores them just before their events, so some may have made it).
    """
    journal = Journal(directory)
    applied = store.applied_journal_seq()
    sessions_applied = shared[1].applied_session_seq() if shared is not None else 0
    last = applied
    entries: list[tuple[int, Sequence[tuple[Any, ...]]]] = []
    size = 0

    def write() -> None:
        nonlocal size
        if shared is None:
            events = [row for _, rows in entries for row in rows]
        else:
            sessionize, versions = shared
            events, _ = sessionize(entries)
            lacking = [(seq, rows) for seq, rows in entries if seq > sessions_applied]
            changes = SessionVersions()
            changes.add(sessionize(lacking)[1] if lacking else [])
            if changes:
                versions.write_session_versions(changes.rows(), journal_seq=last)
        store.write(events, [], [], journal_seq=last)
        if shared is not None:
            shared[0].forget([seq for seq, _ in entries])
        entries.clear()
        size = 0

    for seq, rows in pending_entries(directory, applied, counts=journal.replay):
        entries.append((seq, rows))
        size += len(rows)
        last = seq
        if size >= REPLAY_BATCH:
            write()
    if entries or last != applied:
        write()
    # Rows journalled by a release without visitor numbers were stored with 0; number them now.
    store.fill_visitor_numbers()
    journal.set_sequence(last)
    store.checkpoint()  # the replayed segments may go only once the store holds them for good
    journal.drop_applied(last)
    return journal
