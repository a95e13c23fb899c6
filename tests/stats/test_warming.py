"""Cache warming and shared computations: live results stay cached for the users who keep
asking for them, and new events still show within the short live TTL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from footfall.meta.keys import create_key
from footfall.services import Services, open_meta
from footfall.settings import Settings
from footfall.stats.warming import LiveQueries, SingleFlight
from footfall.web.app import create_app
from tests.conftest import CHROME_UA

LIVE_TTL = 1.0


def _query(n: int) -> object:
    return object() if n < 0 else n  # stands in for a Query: LiveQueries only keeps it


def test_live_queries_are_bounded_and_due_by_popularity_age_and_window() -> None:
    now = [100.0]
    live = LiveQueries(capacity=3, clock=lambda: now[0])
    for text, times in (("a", 1), ("b", 3), ("c", 2), ("d", 2)):
        for _ in range(times):
            live.requested(text, _query(0))  # type: ignore[arg-type]
    assert len(live) == 3 and live.evictions == 1  # "a" was asked longest ago
    due = [text for text, _ in live.due(window_seconds=60, refresh_after=1)]
    assert due == ["b", "c", "d"]  # most asked first
    live.computed("b", generation=7)
    now[0] += 0.5
    assert [t for t, _ in live.due(window_seconds=60, refresh_after=1)] == ["c", "d"]
    now[0] += 1
    entry = dict(live.due(window_seconds=60, refresh_after=1))["b"]
    assert entry.generation == 7
    now[0] += 100  # nobody asked for a while: nothing is worth warming
    assert live.due(window_seconds=60, refresh_after=1) == []
    live.requested("e", _query(0))  # type: ignore[arg-type]
    assert live.due(window_seconds=60, refresh_after=0) == []  # asked once only


def test_single_flight_runs_one_computation_for_concurrent_callers() -> None:
    flight: SingleFlight[int] = SingleFlight()
    started = threading.Event()
    release = threading.Event()
    runs: list[int] = []

    def slow() -> int:
        runs.append(1)
        started.set()
        release.wait(5)
        return 42

    results: list[int] = []
    leader = threading.Thread(target=lambda: results.append(flight.do("k", slow)))
    leader.start()
    started.wait(5)
    followers = [
        threading.Thread(target=lambda: results.append(flight.do("k", slow))) for _ in range(4)
    ]
    for thread in followers:
        thread.start()
    deadline = time.monotonic() + 5
    while flight.shared < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    for thread in (leader, *followers):
        thread.join(5)
    assert results == [42] * 5 and len(runs) == 1 and flight.shared == 4
    assert flight.do("k", lambda: 7) == 7  # finished flights are not reused


def test_single_flight_shares_the_error_too() -> None:
    flight: SingleFlight[int] = SingleFlight()

    def boom() -> int:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        flight.do("k", boom)


# -- through the app, with the real writer and the warming task ------------------------------


@pytest.fixture
def live_client(settings: Settings) -> Iterator[tuple[TestClient, str]]:
    fast = settings.replace(
        query_cache_live_ttl_s=LIVE_TTL, ingest_rate_limit="", stats_api_hourly_limit=1_000_000
    )
    _, key = create_key(open_meta(fast), name="reader", scopes=("stats:read",))
    with TestClient(create_app(fast)) as client:
        yield client, key


def _send(client: TestClient, ip: str) -> None:
    answer = client.post(
        "/api/event",
        json={"name": "pageview", "url": "https://example.com/", "domain": "example.com"},
        headers={"user-agent": CHROME_UA, "x-forwarded-for": ip},
    )
    assert answer.status_code == 202


def _visitors(client: TestClient, key: str) -> int:
    answer = client.get(
        "/api/v1/stats/aggregate",
        params={"site_id": "example.com", "period": "day", "metrics": "visitors"},
        headers={"authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["results"]["visitors"]["value"])


def _state(client: TestClient) -> Services:
    state: Services = client.app.state.footfall  # type: ignore[attr-defined]
    return state


def _wait_for(check: object, timeout: float) -> float:
    began = time.monotonic()
    while not check():  # type: ignore[operator]
        assert time.monotonic() - began < timeout, "condition not met in time"
        time.sleep(0.05)
    return time.monotonic() - began


def test_warming_keeps_asked_results_cached_and_new_events_show_within_the_ttl(
    live_client: tuple[TestClient, str],
) -> None:
    client, key = live_client
    state = _state(client)
    _send(client, "8.8.8.1")
    _wait_for(lambda: _visitors(client, key) == 1, timeout=10)
    assert _visitors(client, key) == 1  # asked at least twice: now a candidate for warming
    counters = state.stats.cache.counters

    # Nothing new is written: the warmer extends the cached result before it expires, so
    # asking again long after the TTL is still a hit.
    time.sleep(LIVE_TTL * 3)
    misses = counters.misses
    assert _visitors(client, key) == 1
    assert counters.misses == misses
    assert state.stats.warming.extended >= 1

    # A new event: flushed, then the warmer recomputes; the answer changes within the TTL of
    # the flush, and it is served from the cache.
    _send(client, "8.8.8.2")
    waited = _wait_for(lambda: _visitors(client, key) == 2, timeout=10)
    assert waited < LIVE_TTL + state.settings.apply_interval_ms / 1000 + 2.0
    assert state.stats.warming.recomputed >= 1
    time.sleep(LIVE_TTL * 2)
    misses = counters.misses
    assert _visitors(client, key) == 2
    assert counters.misses == misses

    metrics = state.metrics.exposition().decode()
    assert "footfall_cache_warming_rounds_total" in metrics
    assert 'footfall_cache_warming_refreshed_total{how="recomputed"}' in metrics


def test_without_warming_results_expire_after_the_ttl(settings: Settings) -> None:
    fast = settings.replace(query_cache_live_ttl_s=LIVE_TTL, cache_warming=False)
    _, key = create_key(open_meta(fast), name="reader", scopes=("stats:read",))
    with TestClient(create_app(fast)) as client:
        assert _visitors(client, key) == 0
        assert _visitors(client, key) == 0
        counters = _state(client).stats.cache.counters
        time.sleep(LIVE_TTL * 1.5)
        misses = counters.misses
        _visitors(client, key)
        assert counters.misses == misses + 1
        assert _state(client).stats.warming.rounds == 0
