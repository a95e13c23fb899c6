"""A worker killed between its journal and the shared stores loses nothing, counts nothing twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from footfall.cluster.sessions import RedisSessions
from footfall.ingest.deferred import Sessionizer
from footfall.storage.journal import Journal
from footfall.storage.replay import open_journal
from footfall.storage.versions import SessionVersions
from tests.services import chdb_store
from tests.storage.rows import T0, event

STREAM = 4


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    opened = chdb_store(tmp_path / "chdb")
    opened.use_stream(STREAM)
    opened._command("SYSTEM STOP MERGES sessions")
    try:
        yield opened
    finally:
        opened.close()


def _pending(n: int, visitor_id: int = 77) -> tuple[Any, ...]:
    """A pending page view, as the pipeline journals it when sessions are shared."""
    return event(
        at=T0 + dt.timedelta(seconds=n),
        pathname=f"/{n}",
        visitor_id=visitor_id,
        visitor=0,
        session_id=0,
        referrer_source="News",
        country="DE",
    )


def _one(store: Any, sql: str) -> Any:
    return store.query(sql, [], timeout=10, tag="test")[0][0]


def test_a_replay_finishes_what_the_killed_worker_had_begun(
    tmp_path: Path, store: Any, redis_client: redis.Redis
) -> None:
    directory = tmp_path / "journal"
    journal = Journal(directory)
    entries = [(journal.append([_pending(2 * k), _pending(2 * k + 1)]), k) for k in range(3)]
    journal.close()
    sessionizer = Sessionizer(RedisSessions(redis_client), stream=STREAM)
    rows = {seq: [_pending(2 * k), _pending(2 * k + 1)] for seq, k in entries}
    # Before the kill: entry 1 fully stored; entry 2's sessions decided and stored, its events
    # not; entry 3 journalled only (its 202s were sent) and never decided.
    events, changes = sessionizer([(1, rows[1])])
    first = SessionVersions()
    first.add(changes)
    store.write_session_versions(first.rows(), journal_seq=1)
    store.write(events, [], [], journal_seq=1)
    sessionizer.forget([1])
    _, changes = sessionizer([(2, rows[2])])
    second = SessionVersions()
    second.add(changes)
    store.write_session_versions(second.rows(), journal_seq=2)

    open_journal(store, directory, shared=(sessionizer, store)).close()

    assert store.applied_journal_seq() == 3
    assert store.applied_session_seq() == 3
    assert store.count_events() == 6
    assert _one(store, "SELECT uniqExact(session_id) FROM events") == 1
    assert _one(store, "SELECT sum(sign) FROM sessions") == 1
    assert _one(store, "SELECT sum(sign * pageviews) FROM sessions") == 6
    assert _one(store, "SELECT sum(sign * events) FROM sessions") == 6
    (state,) = store.scan("sessions", T0, T0 + dt.timedelta(hours=1)).to_pylist()
    assert (state["entry_page"], state["exit_page"], state["referrer_source"]) == (
        "/0",
        "/5",
        "News",
    )
    assert not redis_client.keys("footfall:result:*")  # nothing kept once stored
