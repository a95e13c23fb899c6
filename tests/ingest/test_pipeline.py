"""Pipeline behaviour that depends on time: salts rotating at midnight, sessions across it."""

from __future__ import annotations

import datetime as dt
import json

from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.settings import Settings
from footfall.web.app import create_app
from tests.conftest import CHROME_UA


def _send(client: TestClient, path: str, ip: str = "81.2.69.142") -> None:
    response = client.post(
        "/api/event",
        content=json.dumps(
            {"n": "pageview", "u": f"https://example.com{path}", "d": "example.com"}
        ),
        headers={"content-type": "text/plain", "user-agent": CHROME_UA, "x-forwarded-for": ip},
    )
    assert response.status_code == 202


def test_a_visit_continues_across_the_midnight_salt_rotation(settings: Settings) -> None:
    clock = FixedClock(dt.datetime(2026, 11, 2, 23, 50, tzinfo=dt.UTC))
    with TestClient(create_app(settings, clock=clock)) as client:
        _send(client, "/before-midnight")
        clock.set(dt.datetime(2026, 11, 3, 0, 10, tzinfo=dt.UTC))
        _send(client, "/after-midnight")
        # A new visitor after midnight gets an id under the new salt only.
        _send(client, "/", ip="8.8.8.8")
        state = client.app.state.footfall
        assert state.writer.flush_sessions()
        ring = state.salts.ring(clock.now())
        assert ring.previous is not None
        with state.store.cursor() as cur:
            events = cur.execute(
                "SELECT pathname, visitor_id, session_id FROM events ORDER BY timestamp"
            ).fetchall()
            sessions = cur.execute(
                "SELECT pageviews, entry_page, exit_page, duration FROM sessions ORDER BY start"
            ).fetchall()
    (_, v1, s1), (_, v2, s2), (_, v3, s3) = events
    assert (v1, s1) == (v2, s2), "the session keeps its visitor id across the rotation"
    assert s3 != s1 and v3 != v1
    assert sessions[0] == (2, "/before-midnight", "/after-midnight", 1200)


def test_a_returning_visitor_on_a_new_day_is_a_new_visitor(settings: Settings) -> None:
    clock = FixedClock(dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC))
    with TestClient(create_app(settings, clock=clock)) as client:
        _send(client, "/")
        clock.set(dt.datetime(2026, 11, 3, 12, 0, tzinfo=dt.UTC))
        _send(client, "/")
        state = client.app.state.footfall
        assert state.writer.flush_sessions()
        with state.store.cursor() as cur:
            visitors = cur.execute("SELECT count(DISTINCT visitor_id) FROM events").fetchone()
    assert visitors == (2,)
