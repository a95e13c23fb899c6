"""Opening the ingest journal: entries the store lacks after a crash are replayed first."""

from __future__ import annotations

from pathlib import Path

from footfall.storage.base import EventStore, SessionVersionWriter
from footfall.storage.journal import Journal, pending_batches
from footfall.storage.versions import SessionVersions

# Journal entries replayed per store write after a crash.
REPLAY_BATCH = 50_000


def open_journal(
    store: EventStore, directory: Path, *, versions: SessionVersionWriter | None = None
) -> Journal:
    """Applies journal entries the store lacks (after a crash), then opens the journal.

    Args:
        store: The event store.
        directory: The journal's directory.
        versions: Where versioned session rows go when sessions are shared; they are written
            for the entries whose session rows the store does not have yet (the writer
            stores them just before their events, so some may have made it).
    """
    journal = Journal(directory)
    applied = store.applied_journal_seq()
    sessions_applied = versions.applied_session_seq() if versions is not None else 0
    last = applied
    batch: list[tuple[object, ...]] = []
    changes = SessionVersions()

    def write() -> None:
        if versions is not None and changes:
            versions.write_session_versions(changes.rows(), journal_seq=last)
            changes.clear()
        store.write(batch, [], [], journal_seq=last)
        batch.clear()

    for seq, rows, session_rows in pending_batches(directory, applied, counts=journal.replay):
        batch.extend(rows)
        if versions is not None and seq > sessions_applied:
            changes.add_rows(session_rows)
        last = seq
        if len(batch) >= REPLAY_BATCH:
            write()
    if batch or changes or last != applied:
        write()
    # Rows journalled by a release without visitor numbers were stored with 0; number them now.
    store.fill_visitor_numbers()
    journal.set_sequence(last)
    store.checkpoint()  # the replayed segments may go only once the store holds them for good
    journal.drop_applied(last)
    return journal
