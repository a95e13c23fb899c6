"""Self-monitoring: the leak detector, the readiness checks and allocation snapshots."""

from __future__ import annotations

import os
import random
import subprocess
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.meta.keys import create_key
from footfall.monitoring.leaks import LeakDetector, current_rss
from footfall.monitoring.readiness import WriterWatch
from footfall.services import open_meta
from footfall.settings import Settings
from footfall.web.app import create_app
from tests.conftest import FOOTFALL, ServerProcess, free_port

MB = 1024 * 1024
START_RSS = 200 * MB
MEMORY = "/api/v1/debug/memory"


def feed(detector: LeakDetector, values: list[int], step: float = 10.0) -> None:
    for i, value in enumerate(values):
        detector.add(value, i * step)


def admin_headers(settings: Settings) -> dict[str, str]:
    _, secret = create_key(open_meta(settings), name="root", scopes=("admin",))
    return {"authorization": f"Bearer {secret}"}


# -- the leak detector, on synthetic samples ---------------------------------------------------


def test_steady_growth_is_flagged() -> None:
    detector = LeakDetector()
    # +1 MiB every 10 s: +60 MiB over 10 minutes, well above 5 % of 200 MiB.
    feed(detector, [START_RSS + i * MB for i in range(61)])
    status = detector.status()
    assert status["leak_suspected"] is True
    assert status["slope_bytes_per_s"] == pytest.approx(MB / 10)
    assert status["samples"] == 61
    assert status["window"] == 600.0


def test_flat_noisy_memory_is_not_flagged() -> None:
    rng = random.Random(7)
    detector = LeakDetector()
    feed(detector, [START_RSS + rng.randint(-8 * MB, 8 * MB) for _ in range(200)])
    assert detector.status()["leak_suspected"] is False


def test_a_single_spike_is_not_flagged() -> None:
    detector = LeakDetector()
    values = [START_RSS] * 61
    values[45] = START_RSS + 500 * MB  # a big request, freed again
    feed(detector, values)
    assert detector.leak_suspected() is False


def test_slow_growth_below_the_threshold_is_not_flagged() -> None:
    detector = LeakDetector()
    # +2 % of the starting RSS per window.
    feed(detector, [START_RSS + i * (START_RSS // 50 // 60) for i in range(61)])
    assert detector.leak_suspected() is False


def test_nothing_is_flagged_before_enough_samples() -> None:
    detector = LeakDetector(min_samples=12)
    feed(detector, [START_RSS + i * 100 * MB for i in range(11)])
    assert detector.leak_suspected() is False
    detector.add(START_RSS + 1100 * MB, 110.0)
    assert detector.leak_suspected() is True


def test_old_samples_leave_the_window() -> None:
    detector = LeakDetector(window_seconds=60.0)
    feed(detector, [START_RSS + i * 100 * MB for i in range(20)])  # growth long ago
    feed_at = 1000.0
    for i in range(20):
        detector.add(START_RSS, feed_at + i * 5)
    assert detector.status()["samples"] == 13
    assert detector.leak_suspected() is False


# -- the leak detector, on the real RSS of an app with a leaking handler -------------------------


def _sample_while(
    client: TestClient, path: str, detector: LeakDetector, requests: int
) -> dict[str, object]:
    # A fixed number of requests, not a fixed time: a loaded machine makes fewer requests a
    # second, which must not change what the detector sees.
    for _ in range(requests):
        assert client.get(path).status_code == 200
        detector.add(current_rss(), time.monotonic())
    return detector.status()


@pytest.fixture
def leaky_client(settings: Settings, clock: FixedClock) -> Iterator[tuple[TestClient, list[bytes]]]:
    """The app with two test routes: one keeps 4 MiB per request, one reuses its buffer."""
    kept: list[bytes] = []
    steady: list[bytes] = [b""]

    async def leak(request: Request) -> Response:
        kept.append(b"\x01" * (4 * MB))  # written, so the pages are resident
        return PlainTextResponse("leaked")

    async def steady_handler(request: Request) -> Response:
        steady[0] = b""
        steady[0] = b"\x01" * (4 * MB)
        return PlainTextResponse("steady")

    app = create_app(settings, clock=clock)
    app.router.routes.insert(0, Route("/test/leak", leak))
    app.router.routes.insert(0, Route("/test/steady", steady_handler))
    with TestClient(app) as client:
        yield client, kept
    kept.clear()


def test_a_leaking_handler_is_flagged_and_a_steady_one_is_not(
    leaky_client: tuple[TestClient, list[bytes]],
) -> None:
    client, _ = leaky_client
    for _ in range(20):  # warm up: the steady handler's buffer and the allocator's arenas
        client.get("/test/steady")
    steady = _sample_while(
        client,
        "/test/steady",
        LeakDetector(window_seconds=2.0, min_samples=12, min_span_fraction=0.0),
        40,
    )
    assert steady["leak_suspected"] is False, steady
    leaking = _sample_while(
        client,
        "/test/leak",
        LeakDetector(window_seconds=2.0, min_samples=12, min_span_fraction=0.0),
        40,
    )
    assert leaking["leak_suspected"] is True, leaking
    assert isinstance(leaking["slope_bytes_per_s"], float)
    assert leaking["slope_bytes_per_s"] > 0


# -- readiness ---------------------------------------------------------------------------------


def test_readyz_names_every_check(client: TestClient, settings: Settings) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True
    checks = body["checks"]
    assert checks["metadata"] == {"ok": True}
    assert checks["event_store"] == {"ok": True, "writable": True, "recent_failures": False}
    assert checks["disk"]["ok"] is True
    assert checks["disk"]["min_free_bytes"] == settings.min_free_disk_mb * MB
    assert checks["disk"]["free_bytes"] >= checks["disk"]["min_free_bytes"]
    assert checks["ingest_queue"] == {
        "ok": True,
        "depth": 0,
        "limit": settings.ingest_queue_size,
        "draining": True,
    }
    memory = checks["memory"]
    assert memory["ok"] is True
    assert memory["leak_suspected"] is False
    assert {"slope_bytes_per_s", "window", "samples"} <= set(memory)
    assert list(settings.data_dir.glob(".readyz-*")) == []  # the probe file is gone


def test_readyz_fails_when_the_disk_is_short_of_room(settings: Settings, clock: FixedClock) -> None:
    greedy = settings.replace(min_free_disk_mb=1 << 40)
    with TestClient(create_app(greedy, clock=clock)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    failing = [name for name, check in body["checks"].items() if not check["ok"]]
    assert failing == ["disk"]


def test_a_queue_that_stops_draining_is_not_ready() -> None:
    watch = WriterWatch(stall_seconds=30.0)
    first = watch.queue(depth=10, limit=100, commits=5, failures=0, now=0.0)
    assert first == {"ok": True, "depth": 10, "limit": 100, "draining": True}
    assert watch.queue(depth=10, limit=100, commits=5, failures=0, now=20.0)["draining"] is True
    stalled = watch.queue(depth=10, limit=100, commits=5, failures=0, now=31.0)
    assert stalled["ok"] is False and stalled["draining"] is False
    moving = watch.queue(depth=12, limit=100, commits=6, failures=0, now=32.0)
    assert moving["ok"] is True
    full = watch.queue(depth=100, limit=100, commits=7, failures=0, now=33.0)
    assert full["ok"] is False and full["draining"] is True
    assert watch.queue(depth=0, limit=100, commits=7, failures=0, now=500.0)["ok"] is True


def test_recent_writer_failures_are_remembered_for_a_while() -> None:
    watch = WriterWatch(failure_seconds=60.0)
    assert watch.recent_failure(commits=0, failures=2, now=0.0) is False  # before we looked
    assert watch.recent_failure(commits=0, failures=3, now=10.0) is True
    assert watch.recent_failure(commits=1, failures=3, now=69.0) is True
    assert watch.recent_failure(commits=2, failures=3, now=71.0) is False


# -- allocation snapshots --------------------------------------------------------------------


def test_memory_endpoint_needs_an_admin_key(client: TestClient, settings: Settings) -> None:
    assert client.get(MEMORY).status_code == 401
    _, reader = create_key(open_meta(settings), name="reader", scopes=("stats:read",))
    assert client.get(MEMORY, headers={"authorization": f"Bearer {reader}"}).status_code == 401
    assert not tracemalloc.is_tracing()
    response = client.get(MEMORY, params={"top": "0"}, headers=admin_headers(settings))
    assert response.status_code == 400
    assert "top" in response.json()["error"]


def test_memory_endpoint_diffs_snapshots(settings: Settings, clock: FixedClock) -> None:
    headers = admin_headers(settings)
    with TestClient(create_app(settings, clock=clock)) as client:
        first = client.get(MEMORY, headers=headers)
        assert first.status_code == 200
        assert first.json() == {"baseline": True, "interval_seconds": None, "sites": []}
        assert tracemalloc.is_tracing()
        held = [bytearray(1000) for _ in range(3000)]  # about 3 MB from this line
        second = client.get(MEMORY, params={"top": "10"}, headers=headers)
        assert second.status_code == 200
        body = second.json()
        assert body["baseline"] is False
        assert body["interval_seconds"] >= 0
        assert 0 < len(body["sites"]) <= 10
        top = body["sites"][0]
        assert top["site"].startswith(f"{Path(__file__)}:")
        assert top["size_diff"] >= 3_000_000
        assert top["count_diff"] >= 3000
        assert set(top) == {"site", "size_diff", "count_diff", "size", "count"}
        del held
    assert not tracemalloc.is_tracing()  # stopped with the app that started it


# -- footfall debug memory -------------------------------------------------------------------


def debug_memory(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FOOTFALL, "debug", "memory", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")},
    )


@pytest.mark.slow
def test_debug_memory_prints_the_growing_sites(server: ServerProcess, settings: Settings) -> None:
    _, secret = create_key(open_meta(settings), name="root", scopes=("admin",))
    server.start()
    done = debug_memory("--url", server.url, "--key", secret, "--top", "5", "--seconds", "0.5")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("top ")
    assert lines[1].split() == ["size_diff", "count_diff", "size", "site"]
    assert len(lines) <= 2 + 5
    refused = debug_memory("--url", server.url, "--key", "wrong", "--seconds", "0")
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("error: the server refused the key (401)")


def test_debug_memory_reports_an_unreachable_server() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = debug_memory("--url", url, "--key", "k", "--seconds", "0")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"error: cannot reach {url}/api/v1/debug/memory")


def test_a_burst_of_samples_too_short_for_the_window_is_not_flagged() -> None:
    """Samples a few milliseconds apart say nothing about growth over ten minutes."""
    detector = LeakDetector()
    for i in range(40):
        detector.add(START_RSS + i * 10 * MB, 1000.0 + i * 0.05)
    assert detector.leak_suspected() is False
    detector.add(START_RSS + 400 * MB, 1000.0 + 0.15 * 600)
    assert detector.leak_suspected() is True
