"""Over-long and never-seen User-Agents through the real app and a real server."""

from __future__ import annotations

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from starlette.testclient import TestClient

from footfall.ingest.useragent import MAX_LENGTH
from tests.conftest import ServerProcess

WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
EVENT = json.dumps({"n": "pageview", "u": "https://example.com/", "d": "example.com"})
# What a liveness check would allow /healthz; the burst below took about 30 s of blocked event
# loop when a new agent cost 150 ms.
LIVENESS_TIMEOUT_S = 5.0


def novel_agents(count: int, length: int = 1024, seed: int = 11) -> list[str]:
    """Browser-shaped agents, each with its own tail of random hexadecimal digits."""
    rng = random.Random(seed)
    tail = length - len(WINDOWS_CHROME) - 1
    return [f"{WINDOWS_CHROME} {rng.getrandbits(tail * 4):0{tail}x}" for _ in range(count)]


def test_an_overlong_agent_is_stored_with_the_fields_of_its_prefix(client: TestClient) -> None:
    # A crawler's name past the cap is not read, so the event is kept, as Chrome on Windows.
    agent = WINDOWS_CHROME + " " + "x" * (MAX_LENGTH - len(WINDOWS_CHROME))
    agent += " Googlebot/2.1 " + "y" * 100_000
    response = client.post(
        "/api/event",
        content=EVENT,
        headers={"content-type": "text/plain", "user-agent": agent, "x-forwarded-for": "81.2.69.1"},
    )
    assert response.status_code == 202
    assert "x-plausible-dropped" not in response.headers
    state = client.app.state.footfall  # type: ignore[attr-defined]
    assert state.writer.flush_sessions()
    with state.store.cursor() as cur:
        stored = cur.execute(
            "SELECT browser, browser_version, os, os_version, device FROM sessions"
        ).fetchall()
    assert stored == [("Chrome", "124.0", "Windows", "10", "Desktop")]


@pytest.mark.slow
def test_a_burst_of_novel_agents_is_accepted_while_healthz_answers(server: ServerProcess) -> None:
    server.start()
    agents = novel_agents(200)
    answers: list[httpx.Response] = []
    finished = threading.Event()

    senders = httpx.Client(
        base_url=server.url, timeout=120, limits=httpx.Limits(max_connections=20)
    )

    def send(numbered: tuple[int, str]) -> httpx.Response:
        number, agent = numbered
        headers = {
            "content-type": "text/plain",
            "user-agent": agent,
            "x-forwarded-for": f"81.2.{number // 250}.{1 + number % 250}",
        }
        return senders.post("/api/event", content=EVENT, headers=headers)

    def burst() -> None:
        with senders, ThreadPoolExecutor(max_workers=20) as pool:
            answers.extend(pool.map(send, enumerate(agents)))
        finished.set()

    sender = threading.Thread(target=burst)
    sender.start()
    probes = []
    with httpx.Client(base_url=server.url, timeout=LIVENESS_TIMEOUT_S) as http:
        while not finished.is_set():
            probes.append(http.get("/healthz").status_code)
    sender.join()
    probes.append(httpx.get(f"{server.url}/healthz", timeout=LIVENESS_TIMEOUT_S).status_code)

    assert [a.status_code for a in answers] == [202] * len(agents)
    assert not [a for a in answers if "x-plausible-dropped" in a.headers]
    assert set(probes) == {200}
    metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
    assert "footfall_events_accepted_total 200.0" in metrics
