"""GC pause timing: the `gc.callbacks` hook counts collections and their pauses per generation."""

from __future__ import annotations

import gc

from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.monitoring.gcstats import GcStats
from footfall.services import Services
from footfall.settings import Settings
from footfall.web.app import create_app


class FakeClock:
    """Advances by `step` seconds at every read."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_each_collection_is_counted_and_timed_by_generation() -> None:
    stats = GcStats(clock=FakeClock(0.25))
    stats.install()
    try:
        gc.collect(0)
        gc.collect(2)
        gc.collect(2)
    finally:
        stats.uninstall()
    # Collections the interpreter starts by itself may add to generation 0 and 1.
    assert stats.collections[2] == 2
    assert stats.collections[0] >= 1
    assert stats.pause_seconds[2] == 0.5  # one clock step between start and stop
    assert stats.max_pause_seconds[2] == 0.25
    assert all(pause >= 0 for pause in stats.pause_seconds)


def test_uninstall_removes_only_its_own_hook() -> None:
    def other(phase: str, info: dict[str, int]) -> None:
        pass

    gc.callbacks.append(other)
    stats = GcStats()
    try:
        stats.install()
        stats.install()  # idempotent: one hook
        assert gc.callbacks.count(stats._callback) == 1
        stats.uninstall()
        assert stats._callback not in gc.callbacks
        assert other in gc.callbacks
        counted = list(stats.collections)
        gc.collect()
        assert stats.collections == counted  # no longer measuring
        assert not stats.installed
    finally:
        gc.callbacks.remove(other)


def test_real_pauses_are_measured() -> None:
    garbage: list[object] = []
    for _ in range(50_000):
        cycle: list[object] = []
        cycle.append(cycle)  # only the collector can free these
        garbage.append(cycle)
    stats = GcStats()
    stats.install()
    try:
        del garbage, cycle
        gc.collect()
    finally:
        stats.uninstall()
    assert stats.collections[2] == 1
    assert stats.collected[2] >= 50_000
    assert stats.pause_seconds[2] > 0


def _state(client: TestClient) -> Services:
    state: Services = client.app.state.footfall  # type: ignore[attr-defined]
    return state


def test_the_app_installs_the_hook_for_its_lifetime(settings: Settings, clock: FixedClock) -> None:
    client = TestClient(create_app(settings, clock=clock))
    with client:
        gc_stats = _state(client).gc_stats
        assert gc_stats.installed
        before = gc_stats.collections[1]
        gc.collect(1)
        assert gc_stats.collections[1] == before + 1
        assert gc.get_threshold() == (50_000, 20, 100)
    assert not gc_stats.installed
    assert gc_stats._callback not in gc.callbacks
