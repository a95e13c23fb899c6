from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from footfall.cluster.cache import RedisCache
from footfall.errors import ConfigError
from footfall.services import open_cache
from footfall.settings import REDACTED, describe, load_settings
from footfall.stats.cache import (
    CacheCounters,
    MemoryCache,
    NullCache,
    QueryCache,
    cache_key,
    ttl_for,
)
from tests.services import free_port


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- MemoryCache ---------------------------------------------------------------------------


def test_memory_cache_evicts_least_recently_used_and_counts_it() -> None:
    cache = MemoryCache(2)
    cache.set("a", b"1", 60)
    cache.set("b", b"2", 60)
    assert cache.get("a") == b"1"  # "a" is now the most recently used
    cache.set("c", b"3", 60)
    assert cache.get("b") is None
    assert cache.get("a") == b"1"
    assert cache.get("c") == b"3"
    assert len(cache) == 2
    assert cache.counters.evictions == 1


def test_memory_cache_overwrite_refreshes_without_evicting() -> None:
    cache = MemoryCache(2)
    cache.set("a", b"1", 60)
    cache.set("b", b"2", 60)
    cache.set("a", b"new", 60)
    cache.set("c", b"3", 60)  # evicts "b": rewriting "a" made it recent
    assert cache.get("a") == b"new"
    assert cache.get("b") is None
    assert cache.counters.evictions == 1


def test_memory_cache_entries_expire_on_their_own_ttl() -> None:
    clock = FakeClock()
    cache = MemoryCache(10, clock=clock)
    cache.set("short", b"s", 5)
    cache.set("long", b"l", 50)
    clock.now += 4.9
    assert cache.get("short") == b"s"
    clock.now += 0.1
    assert cache.get("short") is None
    assert len(cache) == 1  # the expired entry is gone, not just hidden
    assert cache.get("long") == b"l"
    clock.now += 50
    assert cache.get("long") is None
    assert (cache.counters.hits, cache.counters.misses, cache.counters.evictions) == (2, 2, 0)


def test_memory_cache_ignores_non_positive_ttl_and_clear_keeps_counters() -> None:
    cache = MemoryCache(10)
    cache.set("zero", b"x", 0)
    assert cache.get("zero") is None
    cache.set("a", b"1", 60)
    assert cache.get("a") == b"1"
    cache.clear()
    assert len(cache) == 0
    assert cache.get("a") is None
    assert (cache.counters.hits, cache.counters.misses) == (1, 2)


def test_memory_cache_needs_room_for_one_entry() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        MemoryCache(0)


def test_counters_and_hit_ratio() -> None:
    counters = CacheCounters()
    assert counters.hit_ratio() == 0.0
    for _ in range(3):
        counters.count_hit()
    counters.count_miss()
    counters.count_error()
    counters.count_eviction()
    assert (counters.hits, counters.misses, counters.errors, counters.evictions) == (3, 1, 1, 1)
    assert counters.hit_ratio() == 0.75


def test_memory_cache_is_consistent_under_concurrent_use() -> None:
    cache = MemoryCache(50)
    threads, rounds = 8, 2000
    failures: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(worker: int) -> None:
        try:
            start.wait()
            for i in range(rounds):
                key = f"k{(worker * 7 + i) % 80}"
                cache.set(key, key.encode(), 60)
                value = cache.get(key)
                # Another thread may have evicted it, but never swapped in another key's value.
                assert value in (None, key.encode())
        except BaseException as exc:
            failures.append(exc)

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert failures == []
    assert len(cache) <= 50
    counters = cache.counters
    assert counters.hits + counters.misses == threads * rounds  # no increment was lost
    assert counters.hits > 0 and counters.evictions > 0
    for n in range(80):  # whatever survived still maps each key to its own value
        assert cache.get(f"k{n}") in (None, f"k{n}".encode())


# --- NullCache, keys and TTLs ---------------------------------------------------------------


def test_null_cache_never_hits() -> None:
    cache = NullCache()
    cache.set("a", b"1", 60)
    assert cache.get("a") is None
    cache.clear()
    assert (cache.counters.hits, cache.counters.misses) == (0, 1)


def test_cache_key_is_stable_short_and_led_by_the_site() -> None:
    key = cache_key(42, '{"metrics":["visitors"]}', 7)
    assert key == cache_key(42, '{"metrics":["visitors"]}', 7)
    site, version, digest = key.split(":")
    assert (site, version) == ("42", "7")
    # SHA-256 of the query text only: the same in every process, across restarts and releases.
    assert digest == "86d18cdab10aff382d3312dc427ad89372f14e0339b07b802259b09566d95b10"
    assert cache_key(43, '{"metrics":["visitors"]}', 7) != key
    assert cache_key(42, '{"metrics":["visitors"]}', 8) != key
    assert cache_key(42, '{"metrics":["pageviews"]}', 7) != key


NOW = dt.datetime(2026, 11, 2, 10, 0)


@pytest.mark.parametrize(
    ("range_end", "expected"),
    [
        (dt.datetime(2026, 11, 1, 23, 59, 59), 86_400.0),  # yesterday: settled
        (NOW - dt.timedelta(seconds=121), 86_400.0),
        (NOW - dt.timedelta(seconds=30), 5.0),  # just ended: late rows may still arrive
        (NOW, 5.0),
        (dt.datetime(2026, 11, 2, 23, 59, 59), 5.0),  # today
        (dt.datetime(2026, 12, 31, 23, 59, 59), 5.0),  # future end
    ],
)
def test_ttl_for_past_and_live_ranges(range_end: dt.datetime, expected: float) -> None:
    assert ttl_for(range_end, NOW, live_ttl=5.0, past_ttl=86_400.0) == expected


def test_ttl_for_accepts_aware_times_and_a_custom_settle() -> None:
    aware_now = NOW.replace(tzinfo=dt.UTC)
    berlin = dt.timezone(dt.timedelta(hours=1))
    # 10:30 in UTC+1 is 09:30 UTC: half an hour in the past.
    end = dt.datetime(2026, 11, 2, 10, 30, tzinfo=berlin)
    assert ttl_for(end, aware_now, live_ttl=5, past_ttl=100) == 100
    assert ttl_for(NOW - dt.timedelta(seconds=1), NOW, live_ttl=5, past_ttl=100, settle=0) == 100


# --- open_cache, from real settings -----------------------------------------------------------


def test_open_cache_picks_memory_by_default() -> None:
    cache = open_cache(load_settings({}, environ={}))
    assert isinstance(cache, MemoryCache)
    assert cache.max_entries == 2000


def test_open_cache_sized_from_the_environment() -> None:
    cache = open_cache(load_settings({}, environ={"FOOTFALL_QUERY_CACHE_ENTRIES": "17"}))
    assert isinstance(cache, MemoryCache)
    assert cache.max_entries == 17


def test_open_cache_disabled_with_zero_entries() -> None:
    cache = open_cache(load_settings({}, environ={"FOOTFALL_QUERY_CACHE_ENTRIES": "0"}))
    assert isinstance(cache, NullCache)


def test_open_cache_picks_redis_when_a_url_is_set() -> None:
    env = {"FOOTFALL_REDIS_URL": "redis://127.0.0.1:6399/0", "FOOTFALL_QUERY_CACHE_ENTRIES": "0"}
    cache = open_cache(load_settings({}, environ=env))
    assert isinstance(cache, RedisCache)
    cache.close()


def test_open_cache_blank_redis_url_means_unset() -> None:
    cache = open_cache(load_settings({}, environ={"FOOTFALL_REDIS_URL": "  "}))
    assert isinstance(cache, MemoryCache)


def test_open_cache_bad_redis_url_names_the_variable_not_the_password() -> None:
    settings = load_settings({}, environ={"FOOTFALL_REDIS_URL": "http://:hunter2@cache:6379"})
    with pytest.raises(ConfigError, match=r"^FOOTFALL_REDIS_URL: ") as info:
        open_cache(settings)
    assert "hunter2" not in str(info.value)


# --- RedisCache against a real server ---------------------------------------------------------


@pytest.fixture
def redis_cache(redis_server: str) -> Iterator[RedisCache]:
    # A prefix per test: the server is shared by the whole session.
    cache = RedisCache(redis_server, prefix=f"test:{uuid.uuid4().hex}:")
    yield cache
    cache.clear()
    cache.close()


def test_redis_cache_round_trip_and_expiry(redis_cache: RedisCache) -> None:
    cache: QueryCache = redis_cache
    assert cache.get("k") is None
    cache.set("k", b"\x00binary\xff", 60)
    cache.set("short", b"s", 0.05)
    assert cache.get("k") == b"\x00binary\xff"
    assert cache.get("short") == b"s"
    time.sleep(0.2)
    assert cache.get("short") is None
    assert (cache.counters.hits, cache.counters.misses, cache.counters.errors) == (2, 2, 0)
    assert cache.counters.hit_ratio() == 0.5


def test_redis_cache_sets_the_ttl_in_milliseconds(
    redis_cache: RedisCache, redis_server: str
) -> None:
    redis_cache.set("k", b"v", 30)
    with redis.Redis.from_url(redis_server) as raw:
        assert 29_000 < raw.pttl(redis_cache.prefix + "k") <= 30_000


def test_redis_cache_clear_deletes_only_its_prefix(redis_server: str) -> None:
    run = uuid.uuid4().hex
    mine = RedisCache(redis_server, prefix=f"{run}:q:")
    other = RedisCache(redis_server, prefix=f"{run}:qq:")  # shares "run:q" as a string prefix
    for i in range(1200):  # more than one SCAN/DEL batch
        mine.set(f"k{i}", b"x", 60)
    other.set("k0", b"y", 60)
    with redis.Redis.from_url(redis_server) as raw:
        raw.set(f"{run}:unrelated", b"z")
        mine.clear()
        assert raw.keys(f"{run}:q:*") == []
        assert other.get("k0") == b"y"
        assert raw.get(f"{run}:unrelated") == b"z"
        raw.delete(f"{run}:unrelated")
    other.clear()
    mine.close()
    other.close()


def test_redis_cache_prefix_with_glob_characters_is_literal(redis_server: str) -> None:
    run = uuid.uuid4().hex
    starry = RedisCache(redis_server, prefix=f"{run}:*:")
    plain = RedisCache(redis_server, prefix=f"{run}:a:")
    starry.set("k", b"1", 60)
    plain.set("k", b"2", 60)
    starry.clear()
    assert starry.get("k") is None
    assert plain.get("k") == b"2"
    plain.clear()
    starry.close()
    plain.close()


def test_redis_outage_is_a_miss_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    cache = RedisCache(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="footfall.stats.cache"):
        for _ in range(3):
            assert cache.get("k") is None
            cache.set("k", b"v", 60)
        cache.clear()
    assert cache.counters.errors == 7
    assert (cache.counters.hits, cache.counters.misses) == (0, 3)
    # One warning, not one per failure, and it names the failure.
    assert len(caplog.records) == 1
    assert "Redis GET failed" in caplog.records[0].getMessage()
    cache.close()


# --- the settings -------------------------------------------------------------------------------


def test_cache_settings_defaults_and_environment() -> None:
    defaults = load_settings({}, environ={})
    assert defaults.redis_url is None
    assert defaults.query_cache_entries == 2000
    assert defaults.query_cache_live_ttl_s == 5.0
    assert defaults.query_cache_past_ttl_s == 86_400.0
    assert defaults.query_timeout_ms == 10_000
    env = {
        "FOOTFALL_QUERY_CACHE_LIVE_TTL_S": "0.5",
        "FOOTFALL_QUERY_CACHE_PAST_TTL_S": "3600",
        "FOOTFALL_QUERY_TIMEOUT_MS": "250",
    }
    settings = load_settings({}, environ=env)
    assert settings.query_cache_live_ttl_s == 0.5
    assert settings.query_cache_past_ttl_s == 3600.0
    assert settings.query_timeout_ms == 250


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"FOOTFALL_QUERY_CACHE_ENTRIES": "-1"},
            "FOOTFALL_QUERY_CACHE_ENTRIES: must be at least 0",
        ),
        ({"FOOTFALL_QUERY_CACHE_ENTRIES": "many"}, "FOOTFALL_QUERY_CACHE_ENTRIES: invalid literal"),
        ({"FOOTFALL_QUERY_CACHE_LIVE_TTL_S": "0"}, "LIVE_TTL_S: must be greater than 0"),
        ({"FOOTFALL_QUERY_CACHE_LIVE_TTL_S": "61"}, "LIVE_TTL_S: must be at most 60"),
        ({"FOOTFALL_QUERY_CACHE_LIVE_TTL_S": "soon"}, "LIVE_TTL_S: could not convert"),
        ({"FOOTFALL_QUERY_CACHE_LIVE_TTL_S": "nan"}, "LIVE_TTL_S: expected a finite number"),
        ({"FOOTFALL_QUERY_CACHE_PAST_TTL_S": "-5"}, "PAST_TTL_S: must be greater than 0"),
        ({"FOOTFALL_QUERY_CACHE_PAST_TTL_S": "inf"}, "PAST_TTL_S: expected a finite number"),
        ({"FOOTFALL_QUERY_TIMEOUT_MS": "99"}, "FOOTFALL_QUERY_TIMEOUT_MS: must be at least 100"),
        ({"FOOTFALL_QUERY_TIMEOUT_MS": "1.5"}, "FOOTFALL_QUERY_TIMEOUT_MS: invalid literal"),
    ],
)
def test_bad_cache_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_settings({}, environ=env)
    assert "\n" not in str(info.value)


def test_bad_cache_flags_and_replace_are_validated() -> None:
    with pytest.raises(ConfigError, match="--query-cache-live-ttl-s: must be greater than 0"):
        load_settings({"query_cache_live_ttl_s": 0.0}, environ={})
    with pytest.raises(ConfigError, match="--query-cache-live-ttl-s: expected a finite number"):
        load_settings({"query_cache_live_ttl_s": float("nan")}, environ={})
    with pytest.raises(ValueError, match="at most 60"):
        load_settings({}, environ={}).replace(query_cache_live_ttl_s=60.5)
    assert (
        load_settings({}, environ={}).replace(query_cache_live_ttl_s=60).query_cache_live_ttl_s
        == 60
    )


def test_redis_url_is_a_secret(tmp_path: Path) -> None:
    secret = tmp_path / "redis-url"
    secret.write_text("redis://:hunter2@cache:6379/0\n")
    settings = load_settings({}, environ={"FOOTFALL_REDIS_URL_FILE": str(secret)})
    assert settings.redis_url == "redis://:hunter2@cache:6379/0"
    shown = dict((s.name, v) for s, v in describe(settings))
    assert shown["redis_url"] == REDACTED
    assert all("hunter2" not in v for v in shown.values())
    unset = dict((s.name, v) for s, v in describe(load_settings({}, environ={})))
    assert unset["redis_url"] == "(not set)"
