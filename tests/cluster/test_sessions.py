"""Sessions in Redis follow the same rule as sessions in memory, atomically and once per event."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import redis

from footfall.cluster.sessions import SESSION_COUNTER, RedisAllocator, RedisSessions
from footfall.errors import StoreError
from footfall.sessions.cache import SessionCache
from footfall.sessions.ids import IdAllocator
from footfall.sessions.numbering import VisitorNumbers
from footfall.sessions.store import Deferred, Hit, LocalSessions, Opening, Tracked
from footfall.storage.versions import SessionVersions

T0 = dt.datetime(2026, 11, 2, 10, 0)
SITE = 1
VISIT = ("https://news.example/", "News", "Referral", "", "", "", "", "", "", "DE", "", 0)
VISIT = (*VISIT, "Desktop", "Chrome", "120", "Linux", "")


def _opening(path: str) -> Opening:
    return Opening(visit=VISIT, props=(("entry", path),))


def _local() -> LocalSessions:
    numbers = IdAllocator(1)
    return LocalSessions(
        SessionCache(1000),
        new_session_id=IdAllocator(1).next,
        visitor_numbers=VisitorNumbers(numbers.next),
    )


# (minutes after T0, visitor ids, name, path, interactive)
SCRIPT: list[tuple[float, tuple[int, ...], str, str, bool]] = [
    (0, (11,), "pageview", "/a", True),
    (1, (11,), "signup", "/a", False),  # not interactive: still a bounce
    (2, (22,), "engagement", "/x", True),  # no session yet: dropped
    (3, (22,), "pageview", "/x", True),
    (4, (11,), "pageview", "/b", True),  # second pageview: no longer a bounce
    (20, (22,), "engagement", "/x", True),  # a sign of life that keeps the session open
    (45, (22,), "click", "/x", True),  # 42 minutes after its last event, 25 after engagement
    (80, (11,), "pageview", "/c", True),  # 76 minutes later: a new session, same number
    (81, (33, 11), "pageview", "/d", True),  # new salt: continues under the previous hash
    (82, (33, 11), "custom", "/d", True),
    (83, (44, 22), "pageview", "/y", True),  # previous hash's session has ended: a new one
    (84, (55,), "custom", "/z", True),  # a custom event opens a session without a page
    (85, (55,), "pageview", "/z", True),
]


def _deferred(seq: int, ids: tuple[int, ...], hit: Hit, index: int = 0) -> Deferred:
    return Deferred(seq, index, SITE, ids, hit, _opening(hit.pathname))


def _replay(store: LocalSessions | RedisSessions) -> list[tuple[Any, ...] | None]:
    out: list[tuple[Any, ...] | None] = []
    for seq, (minutes, ids, name, path, interactive) in enumerate(SCRIPT, start=1):
        hit = Hit(T0 + dt.timedelta(minutes=minutes), name, "example.com", path, interactive)
        tracked: Tracked | None
        if isinstance(store, LocalSessions):
            tracked = store.track(SITE, ids, hit, lambda path=path: _opening(path))  # type: ignore[misc]
        else:
            (tracked,) = store.track_batch(1, [_deferred(seq, ids, hit)])
        if tracked is None:
            out.append(None)
            continue
        session = tracked.session
        out.append((session.as_row(), session.seen, tracked.change))
    return out


def test_redis_sessions_follow_the_rule_of_sessions_in_memory(redis_client: redis.Redis) -> None:
    local = _replay(_local())
    shared = _replay(RedisSessions(redis_client))
    assert len(local) == len(shared)
    versions: dict[int, tuple[int, tuple[Any, ...]]] = {}
    for step, (mine, theirs) in enumerate(zip(local, shared, strict=True)):
        assert (mine is None) == (theirs is None), step
        if mine is None or theirs is None:
            continue
        assert theirs[0] == mine[0], step  # the same row, ids and numbers included
        if SCRIPT[step][2] == "engagement":
            assert mine[2] is None and theirs[2] is None
            continue
        row, created = mine[2]
        shared_row, version, replaced = theirs[2]
        assert shared_row == row
        session_id = row[1]
        if created:
            assert (version, replaced) == (1, None)
        else:
            # Each change replaces exactly the state the previous change wrote.
            assert versions[session_id] == (version - 1, replaced)
        versions[session_id] = (version, row)
    assert redis_client.ttl(f"footfall:session:{SITE}:11") > 30 * 60


def test_workers_sending_one_visitors_events_at_once_build_one_session(
    redis_url: str,
) -> None:
    threads, per_thread = 6, 40
    changes: list[tuple[Any, ...]] = []
    lock = threading.Lock()

    def send(worker: int) -> None:
        with redis.Redis.from_url(redis_url) as client:
            store = RedisSessions(client)
            for n in range(per_thread):
                hit = Hit(T0, "pageview", "example.com", f"/{worker}/{n}", True)
                (tracked,) = store.track_batch(worker, [_deferred(n + 1, (7,), hit)])
                assert tracked is not None and tracked.change is not None
                with lock:
                    changes.append(tracked.change)

    workers = [threading.Thread(target=send, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert {change[0][1] for change in changes} == {1}  # one session id
    assert sorted(change[1] for change in changes) == list(range(1, threads * per_thread + 1))
    # Written by whichever workers, the cancel and new rows leave exactly the final state.
    rows = SessionVersions()
    rows.add(changes)
    ((sign, version, row),) = rows.rows()
    assert (sign, version) == (1, threads * per_thread)
    assert row[7] == threads * per_thread  # pageviews


def test_an_event_is_applied_once_however_often_it_is_asked(redis_client: redis.Redis) -> None:
    sessions = RedisSessions(redis_client)
    hits = [
        Hit(T0 + dt.timedelta(seconds=n), "pageview", "example.com", f"/{n}", True)
        for n in range(3)
    ]
    batch = [_deferred(5, (7,), hit, index) for index, hit in enumerate(hits)]
    first = sessions.track_batch(2, batch[:2])
    again = sessions.track_batch(2, batch)  # a retried write: the first two are known
    assert [t.change for t in again[:2] if t] == [t.change for t in first if t]
    assert again[2] is not None and again[2].session.pageviews == 3
    assert redis_client.get(SESSION_COUNTER) == b"1"
    sessions.forget(2, [5])
    assert not redis_client.exists("footfall:result:2:5")


def test_a_late_event_lands_where_it_belongs_in_time(redis_client: redis.Redis) -> None:
    """A replayed event may be applied after later ones: the outcome does not depend on it."""
    paths = ["/a", "/b", "/c", "/d"]
    hits = [
        Hit(T0 + dt.timedelta(seconds=10 * n), "pageview", "example.com", p, True)
        for n, p in enumerate(paths)
    ]
    in_order = RedisSessions(redis_client).track_batch(
        1, [_deferred(1, (7,), h, i) for i, h in enumerate(hits)]
    )
    shuffled = [2, 0, 3, 1]
    late = RedisSessions(redis_client).track_batch(
        1, [_deferred(2, (8,), hits[i], n) for n, i in enumerate(shuffled)]
    )
    final, other = in_order[-1], late[-1]
    assert final is not None and other is not None
    columns = ("start", "last", "pageviews", "entry_page", "exit_page", "is_bounce")
    assert [getattr(other.session, c) for c in columns] == [
        getattr(final.session, c) for c in columns
    ]
    assert (other.session.entry_page, other.session.exit_page) == ("/a", "/d")


def test_ids_come_from_counters_every_process_shares(redis_client: redis.Redis) -> None:
    sessions = RedisSessions(redis_client)
    assert sessions.raise_counters(session_id=41, visitor=9) is True  # Redis had none
    assert sessions.raise_counters(session_id=5, visitor=3) is False  # never lowered
    one, two = (RedisAllocator(redis_client, SESSION_COUNTER) for _ in range(2))
    assert one.next() == 42
    assert two.reserve(100) == 43
    assert one.next() == 143
    hit = Hit(T0, "pageview", "example.com", "/", True)
    (tracked,) = sessions.track_batch(1, [_deferred(1, (5,), hit)])
    assert tracked is not None
    assert (tracked.session.session_id, tracked.session.visitor) == (144, 10)


def test_remembered_numbers_are_used_and_never_replace_a_live_one(
    redis_client: redis.Redis,
) -> None:
    sessions = RedisSessions(redis_client)
    sessions.raise_counters(session_id=0, visitor=100)
    sessions.remember_visitors([(SITE, 5, 7), (SITE, 6, 8)])
    sessions.remember_visitors([(SITE, 5, 99)])
    hit = Hit(T0, "pageview", "example.com", "/", True)
    first, other = sessions.track_batch(1, [_deferred(1, (5,), hit), _deferred(1, (9,), hit, 1)])
    assert first is not None and other is not None
    assert first.session.visitor == 7
    assert other.session.visitor == 101


def test_an_unreachable_redis_is_a_store_error() -> None:
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    hit = Hit(T0, "pageview", "example.com", "/", True)
    with pytest.raises(StoreError, match="session store"):
        RedisSessions(client).track_batch(1, [_deferred(1, (5,), hit)])
