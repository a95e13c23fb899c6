"""The query cache a clean stop keeps for the next start: exact copies only, read once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from footfall.stats.cache import MemoryCache, NullCache, cache_key
from footfall.stats.cache_file import (
    CACHE_FILE,
    keep_cache,
    load_cache,
    save_cache,
    take_back_cache,
)


class _Clock:
    """Seconds that only move when told (monotonic or wall, as the cache needs)."""

    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def _filled(version: int) -> MemoryCache:
    cache = MemoryCache(100, clock=_Clock(50.0))
    cache.set(cache_key(1, "past week", version), b'{"rows": [1]}', 86_400)
    cache.set(cache_key(2, "today", version), b'{"rows": [2]}', 5)
    cache.set(cache_key(1, "before an import", version - 1), b'{"rows": [3]}', 86_400)
    return cache


def test_entries_come_back_under_the_new_version_with_the_time_they_had_left(
    tmp_path: Path,
) -> None:
    path = tmp_path / "query-cache.bin"
    assert save_cache(_filled(7), path, data_version=7, now=_Clock(1_000.0)) == 2
    later = MemoryCache(100, clock=_Clock(0.0))
    # Six seconds later the process opened the store at version 7 and bumped it to 8.
    wall = _Clock(1_006.0)
    assert load_cache(later, path, closed_at_version=7, data_version=8, now=wall) == 1
    assert later.get(cache_key(1, "past week", 8)) == b'{"rows": [1]}'
    # The live entry had 5 s to live, which ran out while the server was down.
    kept = {key: left for key, left, _ in later.entries()}
    assert kept == {cache_key(1, "past week", 8): pytest.approx(86_394.0)}
    # Entries keyed at an older version were unreachable and stay gone.
    assert later.get(cache_key(1, "before an import", 8)) is None
    assert not path.exists()  # read once


def test_a_live_entry_with_time_left_comes_back(tmp_path: Path) -> None:
    """A restart within a live entry's lifetime keeps what is left of it."""
    path = tmp_path / "query-cache.bin"
    save_cache(_filled(7), path, data_version=7, now=_Clock(1_000.0))
    later = MemoryCache(100, clock=_Clock(0.0))
    assert load_cache(later, path, closed_at_version=7, data_version=8, now=_Clock(1_001.0)) == 2
    assert later.get(cache_key(2, "today", 8)) == b'{"rows": [2]}'


@pytest.mark.parametrize(
    "closed_at_version",
    [None, 8],
    ids=["the last run did not close cleanly", "the data changed since the last run"],
)
def test_nothing_comes_back_unless_the_data_is_as_the_last_run_left_it(
    tmp_path: Path, closed_at_version: int | None
) -> None:
    path = tmp_path / "query-cache.bin"
    save_cache(_filled(7), path, data_version=7, now=_Clock(1_000.0))
    later = MemoryCache(100, clock=_Clock(0.0))
    taken = load_cache(
        later, path, closed_at_version=closed_at_version, data_version=9, now=_Clock(1_001.0)
    )
    assert taken == 0 and later.entries() == []
    assert not path.exists()


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-3],
        lambda data: b'{"format": 99}\n' + data.split(b"\n", 1)[1],
        lambda data: b"not json\n",
        lambda data: b"",
    ],
    ids=["truncated", "another format", "not json", "empty"],
)
def test_a_damaged_file_is_dropped_with_a_warning(
    tmp_path: Path, damage: object, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "query-cache.bin"
    save_cache(_filled(7), path, data_version=7, now=_Clock(1_000.0))
    assert callable(damage)
    path.write_bytes(damage(path.read_bytes()))
    later = MemoryCache(100, clock=_Clock(0.0))
    with caplog.at_level(logging.WARNING, logger="footfall.stats.cache_file"):
        taken = load_cache(later, path, closed_at_version=7, data_version=8, now=_Clock(1_001.0))
    assert taken == 0 and later.entries() == []
    assert "unreadable" in caplog.text
    assert not path.exists()


def test_no_file_is_no_entries(tmp_path: Path) -> None:
    later = MemoryCache(100)
    assert load_cache(later, tmp_path / "absent.bin", closed_at_version=1, data_version=2) == 0


class _Store:
    """How a store was left, as the real ones tell it."""

    def __init__(self, *, clean: bool, opened: int, now: int) -> None:
        self.was_closed_cleanly = clean
        self.opened_data_version = opened
        self._now = now

    def data_version(self) -> int:
        return self._now


def test_a_serving_process_keeps_and_takes_back_only_an_in_process_cache(tmp_path: Path) -> None:
    """Redis outlives the processes: its cache is neither written nor read back."""
    keep_cache(_filled(7), tmp_path, _Store(clean=True, opened=6, now=7))
    assert (tmp_path / CACHE_FILE).exists()
    assert take_back_cache(NullCache(), tmp_path, _Store(clean=True, opened=7, now=8)) == 0
    assert not (tmp_path / CACHE_FILE).exists()  # not offered to a later start either
    keep_cache(NullCache(), tmp_path, _Store(clean=True, opened=6, now=7))
    assert not (tmp_path / CACHE_FILE).exists()
    keep_cache(_filled(7), tmp_path, _Store(clean=True, opened=6, now=7))
    cache = MemoryCache(100)
    assert take_back_cache(cache, tmp_path, _Store(clean=True, opened=7, now=8)) == 2
    assert take_back_cache(cache, tmp_path, _Store(clean=False, opened=7, now=8)) == 0


def test_a_cache_that_cannot_be_written_costs_only_the_warm_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="footfall.stats.cache_file"):
        keep_cache(_filled(7), tmp_path / "gone", _Store(clean=True, opened=6, now=7))
    assert "could not be kept" in caplog.text
