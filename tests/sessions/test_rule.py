from __future__ import annotations

import datetime as dt

from footfall.sessions.cache import SessionCache
from footfall.sessions.rule import continues, extend_session, start_session

T0 = dt.datetime(2026, 11, 2, 10, 0)


def _start(name: str = "pageview", interactive: bool = True, site_id: int = 1, visitor: int = 7):
    return start_session(
        site_id=site_id,
        session_id=1,
        visitor_id=visitor,
        visitor=visitor,
        timestamp=T0,
        name=name,
        hostname="example.com",
        pathname="/",
        interactive=interactive,
        props=(),
        visit=("",) * 17,
    )


def test_thirty_whole_minutes_continue_a_session() -> None:
    session = _start()
    assert continues(session, T0 + dt.timedelta(minutes=30, seconds=59))
    assert not continues(session, T0 + dt.timedelta(minutes=31))


def test_engagement_keeps_a_session_alive() -> None:
    session = _start()
    session.seen = T0 + dt.timedelta(minutes=20)
    assert continues(session, T0 + dt.timedelta(minutes=45))


def test_pageviews_set_entry_exit_and_end_the_bounce() -> None:
    session = _start()
    assert session.is_bounce and session.entry_page == "/"
    extend_session(
        session,
        timestamp=T0 + dt.timedelta(minutes=5),
        name="pageview",
        hostname="example.com",
        pathname="/pricing",
        interactive=True,
    )
    assert (session.pageviews, session.events, session.exit_page) == (2, 2, "/pricing")
    assert not session.is_bounce and session.duration == 300


def test_custom_events_and_bounces() -> None:
    non_interactive = _start()
    extend_session(
        non_interactive, timestamp=T0, name="Scroll", hostname="", pathname="/", interactive=False
    )
    assert non_interactive.is_bounce
    interactive = _start()
    extend_session(
        interactive, timestamp=T0, name="Signup", hostname="", pathname="/", interactive=True
    )
    assert not interactive.is_bounce
    started_by_event = _start(name="Signup")
    assert not started_by_event.is_bounce and started_by_event.entry_page == ""
    extend_session(
        started_by_event,
        timestamp=T0,
        name="pageview",
        hostname="example.com",
        pathname="/landing",
        interactive=True,
    )
    assert started_by_event.entry_page == "/landing"
    assert _start(name="Signup", interactive=False).is_bounce


def test_cache_evicts_least_recently_active_and_expires_old() -> None:
    cache = SessionCache(capacity=2)
    a, b, c = _start(visitor=1), _start(visitor=2), _start(visitor=3)
    cache.put(a)
    cache.put(b)
    cache.put(a)  # a is now the most recent
    cache.put(c)
    assert cache.get(1, 2) is None and cache.get(1, 1) is a and cache.evictions == 1
    c.last = T0 + dt.timedelta(hours=1)
    cache.put(c)
    assert cache.expire(T0 + dt.timedelta(minutes=1)) == 1
    assert len(cache) == 1 and cache.get(1, 3) is c
