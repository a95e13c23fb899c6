"""The import's vectorised session rule against the live pipeline's pure one."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.ingest.bulk.sessions import sessionise
from footfall.sessions.rule import Session, continues, extend_session, start_session

T0 = dt.datetime(2026, 11, 1)

# (visitor, seconds after T0, is a pageview, interactive): gaps around 30 minutes are likely.
events = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.integers(0, 4 * 3600) | st.sampled_from([0, 1799, 1800, 1859, 1860, 1861, 3660]),
        st.booleans(),
        st.booleans(),
    ),
    max_size=60,
)


def _live(rows: list[tuple[int, int, bool, bool]]) -> list[tuple[int, ...]]:
    """Each session as the live rule builds it, events fed in (time, line) order."""
    latest: dict[int, Session] = {}
    members: dict[int, tuple[Session, list[int]]] = {}
    for line in sorted(range(len(rows)), key=lambda i: (rows[i][1], i)):
        visitor, seconds, pageview, interactive = rows[line]
        event = {
            "timestamp": T0 + dt.timedelta(seconds=seconds),
            "name": "pageview" if pageview else "Signup",
            "hostname": "h",
            "pathname": f"/{line}" if pageview else "/",
            "interactive": interactive,
        }
        session = latest.get(visitor)
        if session is not None and continues(session, event["timestamp"]):
            extend_session(session, **event)
            members[session.session_id][1].append(line)
            continue
        session = start_session(
            site_id=1,
            session_id=len(members),
            visitor_id=visitor,
            visitor=visitor,
            props=(),
            visit=(),
            **event,
        )
        latest[visitor] = session
        members[session.session_id] = (session, [line])
    return sorted(
        (
            *sorted(lines),
            session.pageviews,
            session.events,
            session.is_bounce,
            session.entry_page,
            session.exit_page,
            session.duration,
        )
        for session, lines in members.values()
    )


def _bulk(rows: list[tuple[int, int, bool, bool]]) -> list[tuple[int, ...]]:
    column = np.array([r[:2] for r in rows], dtype=np.int64).reshape(-1, 2)
    result = sessionise(
        column[:, 0],
        column[:, 1],
        np.arange(len(rows), dtype=np.int64),
        pageview=np.array([r[2] for r in rows], dtype=np.bool_),
        interactive=np.array([r[3] for r in rows], dtype=np.bool_),
    )
    found = []
    for k, (first, last) in enumerate(zip(result.firsts, result.lasts, strict=True)):
        lines = result.order[first : last + 1].tolist()
        entry, exit_ = result.entries[k], result.exits[k]
        found.append(
            (
                *sorted(lines),
                int(result.pageviews[k]),
                int(result.events[k]),
                bool(result.bounces[k]),
                f"/{result.order[entry]}" if entry >= 0 else "",
                f"/{result.order[exit_]}" if exit_ >= 0 else "",
                int(column[result.order[last], 1] - column[result.order[first], 1]),
            )
        )
    return sorted(found)


@settings(max_examples=500, deadline=None)
@given(rows=events)
def test_sessions_match_the_pure_rule(rows: list[tuple[int, int, bool, bool]]) -> None:
    assert _bulk(rows) == _live(rows)


def test_thirty_whole_minutes_continue_a_session_and_thirty_one_do_not() -> None:
    rows = [(0, 0, True, True), (0, 1859, True, True), (0, 1859 + 1860, True, True)]
    assert [s[:-6] for s in _bulk(rows)] == [(0, 1), (2,)]
