"""A 202 means committed: SIGKILL during concurrent ingest loses no acknowledged event."""

from __future__ import annotations

import json
import threading
import time

import duckdb
import httpx
import pytest

from footfall.settings import Settings
from tests.conftest import CHROME_UA, ServerProcess

pytestmark = pytest.mark.slow


def _send(url: str, worker: int, acked: list[str], stop: threading.Event) -> None:
    with httpx.Client(timeout=5) as client:
        n = 0
        while not stop.is_set():
            path = f"/w{worker}/e{n}"
            n += 1
            body = json.dumps(
                {"n": "pageview", "u": f"https://example.com{path}", "d": "example.com"}
            )
            try:
                response = client.post(
                    f"{url}/api/event",
                    content=body,
                    headers={
                        "content-type": "text/plain",
                        "user-agent": CHROME_UA,
                        "x-forwarded-for": f"81.2.69.{worker}",
                    },
                )
            except httpx.HTTPError:
                return  # the server is gone
            if response.status_code == 202:
                acked.append(path)


def test_sigkill_during_concurrent_ingest_loses_no_acknowledged_event(
    server: ServerProcess, settings: Settings
) -> None:
    server.start()
    stop = threading.Event()
    acked: list[str] = []
    workers = [threading.Thread(target=_send, args=(server.url, i, acked, stop)) for i in range(8)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 20
    while len(acked) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()  # SIGKILL while requests are in flight
    stop.set()
    for worker in workers:
        worker.join()
    assert len(acked) >= 300

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
