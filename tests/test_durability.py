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

    con = duckdb.connect(str(settings.event_store_path))  # replays the WAL
    stored = {row[0] for row in con.execute("SELECT pathname FROM events").fetchall()}
    sessions = con.execute("SELECT count(*), sum(pageviews) FROM sessions").fetchone()
    con.close()
    missing = set(acked) - stored
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:3]}"
    assert sessions is not None and sessions[0] == 8 and sessions[1] >= len(acked)

    # After a restart the eight visitors' sessions continue instead of starting anew.
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
    count = con.execute("SELECT count(*) FROM sessions").fetchone()
    resumed = con.execute(
        "SELECT s.pageviews > 1 FROM events e JOIN sessions s USING (session_id) "
        "WHERE e.pathname = '/after-restart'"
    ).fetchone()
    con.close()
    assert count == (8,) and resumed == (True,)
