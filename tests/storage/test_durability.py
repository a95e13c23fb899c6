"""A 202 means committed: SIGKILL during concurrent ingest loses no acknowledged event."""

from __future__ import annotations

import json

import duckdb
import httpx
import pytest

from footfall.settings import Settings
from tests.conftest import CHROME_UA, ServerProcess, ingest_then_kill

pytestmark = pytest.mark.slow


def test_sigkill_during_concurrent_ingest_loses_no_acknowledged_event(
    server: ServerProcess, settings: Settings
) -> None:
    server.start()
    acked = ingest_then_kill(server)

    # Acknowledged events are in the journal, and in DuckDB once applied; a restart replays
    # whatever the store lacks, then rebuilds the sessions that trail their events.
    server.start()
    response = httpx.post(
        f"{server.url}/api/event",
        content=json.dumps(
            {"n": "pageview", "u": "https://example.com/after-restart", "d": "example.com"}
        ),
        headers={
            "content-type": "text/plain",
            "user-agent": CHROME_UA,
            "x-forwarded-for": "81.2.69.0",
        },
    )
    assert response.status_code == 202
    server.stop()
    con = duckdb.connect(str(settings.event_store_path), read_only=True)
    sessions = con.execute("SELECT count(*), sum(pageviews) FROM sessions").fetchone()
    events = con.execute("SELECT count(*) FROM events").fetchone()
    stored = {row[0] for row in con.execute("SELECT pathname FROM events").fetchall()}
    resumed = con.execute(
        "SELECT s.pageviews > 1 FROM events e JOIN sessions s USING (session_id) "
        "WHERE e.pathname = '/after-restart'"
    ).fetchone()
    con.close()
    missing = set(acked) - stored
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:3]}"
    # The eight visitors' sessions survive the crash and continue after the restart.
    assert sessions is not None and events is not None
    assert sessions[0] == 8 and sessions[1] == events[0] >= len(acked) + 1
    assert resumed == (True,)


def test_a_clean_stop_flushes_sessions_without_repair(
    server: ServerProcess, settings: Settings
) -> None:
    server.start()
    for n in range(5):
        response = httpx.post(
            f"{server.url}/api/event",
            content=json.dumps(
                {"n": "pageview", "u": f"https://example.com/{n}", "d": "example.com"}
            ),
            headers={"content-type": "text/plain", "user-agent": CHROME_UA},
        )
        assert response.status_code == 202
    server.stop()
    con = duckdb.connect(str(settings.event_store_path), read_only=True)
    row = con.execute(
        "SELECT count(*), sum(pageviews), any_value(exit_page) FROM sessions"
    ).fetchone()
    clean = con.execute("SELECT value FROM store_info WHERE key = 'clean_shutdown'").fetchone()
    con.close()
    assert row == (1, 5, "/4") and clean == ("true",)
