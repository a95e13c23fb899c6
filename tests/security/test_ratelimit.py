"""Rate limits on POST /api/event (per client IP) and the Stats API (per key): memory, Redis."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import redis
from starlette.testclient import TestClient

from footfall.errors import ConfigError
from footfall.meta.keys import create_key
from footfall.security.ratelimit import Decision, rate_limit_headers
from footfall.services import open_meta
from footfall.settings import Settings, load_settings
from tests.services import free_port
from tests.stats_harness import StatsHarness, prepare_site, serve

NOW = dt.datetime(2026, 11, 2, 12, 0)
IP_A, IP_B = "81.2.69.142", "89.160.20.112"
LIMITED = (
    "Too many API requests. Your API key is limited to 2 requests per hour. "
    "Please contact us to request more capacity."
)


def post_event(client: TestClient, ip: str) -> tuple[int, str, dict[str, str]]:
    response = client.post(
        "/api/event",
        json={"name": "pageview", "url": "https://example.com/", "domain": "example.com"},
        headers={"x-forwarded-for": ip},
    )
    return response.status_code, response.text, dict(response.headers)


def assert_window_headers(headers: dict[str, str], *, limit: int, remaining: int) -> None:
    assert headers["ratelimit-limit"] == str(limit)
    assert headers["ratelimit-remaining"] == str(remaining)
    assert 0 <= int(headers["ratelimit-reset"]) <= 3600


def limited_settings(tmp_path: Path, **changes: object) -> tuple[Settings, str]:
    settings, _, key = prepare_site(tmp_path / "data")
    return settings.replace(**changes), key


# -- settings ------------------------------------------------------------------------------


def test_defaults_follow_plausible() -> None:
    settings = load_settings(environ={})
    assert settings.ingest_rate_limit == "100/second"
    assert settings.stats_api_hourly_limit == 1_000_000


@pytest.mark.parametrize("raw", ["fast", "0/second", "1/second;5/minute", "10/fortnight"])
def test_malformed_ingest_limit_names_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"^FOOTFALL_INGEST_RATE_LIMIT: "):
        load_settings(environ={"FOOTFALL_INGEST_RATE_LIMIT": raw})


def test_limit_notation_and_disabling() -> None:
    environ = {
        "FOOTFALL_INGEST_RATE_LIMIT": " 10 per minute ",
        "FOOTFALL_STATS_API_HOURLY_LIMIT": "0",
    }
    settings = load_settings(environ=environ)
    assert settings.ingest_rate_limit == "10 per minute"
    assert settings.stats_api_hourly_limit == 0
    assert load_settings(environ={"FOOTFALL_INGEST_RATE_LIMIT": ""}).ingest_rate_limit == ""
    with pytest.raises(ConfigError, match=r"^FOOTFALL_STATS_API_HOURLY_LIMIT: "):
        load_settings(environ={"FOOTFALL_STATS_API_HOURLY_LIMIT": "-1"})
    with pytest.raises(ValueError, match="couldn't parse"):
        Settings().replace(ingest_rate_limit="lots")


def test_headers_of_a_refusal() -> None:
    decision = Decision(allowed=False, limit=5, remaining=0, reset=1000.2)
    assert rate_limit_headers(decision, now=990.0) == {
        "RateLimit-Limit": "5",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "11",
        "Retry-After": "11",
    }
    allowed = Decision(allowed=True, limit=5, remaining=4, reset=1000.0)
    assert "Retry-After" not in rate_limit_headers(allowed, now=990.0)


# -- ingest, in memory -----------------------------------------------------------------------


def test_ingest_refuses_the_event_over_the_limit_per_ip(tmp_path: Path) -> None:
    settings, key = limited_settings(tmp_path, ingest_rate_limit="3/minute")
    with serve(settings, key, now=NOW) as h:
        for _ in range(3):
            assert post_event(h.client, IP_A)[:2] == (202, "ok")
        status, body, headers = post_event(h.client, IP_A)
        assert (status, body) == (429, "Too many requests")
        assert headers["content-type"] == "text/plain; charset=utf-8"
        assert headers["access-control-allow-origin"] == "*"
        assert_window_headers(headers, limit=3, remaining=0)
        assert 1 <= int(headers["retry-after"]) <= 60
        # Another visitor is unaffected.
        assert post_event(h.client, IP_B)[:2] == (202, "ok")


def test_ingest_limit_disabled(tmp_path: Path) -> None:
    settings, key = limited_settings(tmp_path, ingest_rate_limit="")
    with serve(settings, key, now=NOW) as h:
        for _ in range(20):
            status, _, headers = post_event(h.client, IP_A)
            assert status == 202
            assert "ratelimit-limit" not in headers


# -- Stats API, in memory --------------------------------------------------------------------


def stats_get(h: StatsHarness, key: str) -> tuple[int, object, dict[str, str]]:
    response = h.client.get(
        "/api/v1/stats/aggregate",
        params={"site_id": "example.com", "period": "day"},
        headers={"authorization": f"Bearer {key}"},
    )
    return response.status_code, response.json(), dict(response.headers)


def test_stats_api_limit_per_key_with_plausibles_message(tmp_path: Path) -> None:
    settings, key = limited_settings(tmp_path, stats_api_hourly_limit=2)
    other = create_key(open_meta(settings), name="other", scopes=("stats:read",))[1]
    with serve(settings, key, now=NOW) as h:
        for remaining in (1, 0):
            status, _, headers = stats_get(h, key)
            assert status == 200
            assert_window_headers(headers, limit=2, remaining=remaining)
            assert "retry-after" not in headers
        status, body, headers = stats_get(h, key)
        assert status == 429
        assert body == {"error": LIMITED}
        assert_window_headers(headers, limit=2, remaining=0)
        assert 3500 <= int(headers["retry-after"]) <= 3600
        # The same key is refused before its site is looked up, as in Plausible.
        response = h.client.get(
            "/api/v1/stats/aggregate", headers={"authorization": f"Bearer {key}"}
        )
        assert (response.status_code, response.json()) == (429, {"error": LIMITED})
        # Another key has its own count.
        status, _, headers = stats_get(h, other)
        assert status == 200
        assert_window_headers(headers, limit=2, remaining=1)


def test_stats_api_v2_counts_a_request_once(tmp_path: Path) -> None:
    settings, key = limited_settings(tmp_path, stats_api_hourly_limit=2)
    with serve(settings, key, now=NOW) as h:
        response = h.client.post(
            "/api/v2/query",
            json={"site_id": "example.com", "metrics": ["visitors"], "date_range": "day"},
            headers={"authorization": f"Bearer {key}"},
        )
        assert response.status_code == 200, response.text
        assert_window_headers(dict(response.headers), limit=2, remaining=1)


def test_stats_api_refused_key_is_not_counted(tmp_path: Path) -> None:
    settings, key = limited_settings(tmp_path, stats_api_hourly_limit=1)
    with serve(settings, key, now=NOW) as h:
        assert stats_get(h, "not-a-key")[0] == 401
        status, _, headers = stats_get(h, key)
        assert status == 200
        assert_window_headers(headers, limit=1, remaining=0)


# -- Redis -----------------------------------------------------------------------------------


def test_processes_sharing_redis_share_the_count(tmp_path: Path, redis_server: str) -> None:
    ip = "203.0.113.7"
    first, key = limited_settings(
        tmp_path / "one", ingest_rate_limit="3/minute", redis_url=redis_server
    )
    second, _ = limited_settings(
        tmp_path / "two", ingest_rate_limit="3/minute", redis_url=redis_server
    )
    with serve(first, key, now=NOW) as one, serve(second, key, now=NOW) as two:
        assert post_event(one.client, ip)[0] == 202
        assert post_event(two.client, ip)[0] == 202
        assert post_event(one.client, ip)[0] == 202
        status, body, headers = post_event(two.client, ip)
        assert (status, body) == (429, "Too many requests")
        assert_window_headers(headers, limit=3, remaining=0)
        assert post_event(one.client, ip)[0] == 429
        assert post_event(one.client, IP_B)[0] == 202
        assert one.client.app.state.footfall.rate_limits.limiter.errors == 0  # type: ignore[attr-defined]
    with redis.Redis.from_url(redis_server) as client:
        assert client.keys("footfall:rl*")


def test_unreachable_redis_fails_open(tmp_path: Path) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    settings, key = limited_settings(
        tmp_path, ingest_rate_limit="1/minute", stats_api_hourly_limit=1, redis_url=closed
    )
    with serve(settings, key, now=NOW) as h:
        for _ in range(3):
            assert post_event(h.client, IP_A)[:2] == (202, "ok")
        for _ in range(2):
            assert stats_get(h, key)[0] == 200
        assert h.client.app.state.footfall.rate_limits.limiter.errors >= 1  # type: ignore[attr-defined]
