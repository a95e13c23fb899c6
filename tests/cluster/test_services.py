"""The composition root with shared state: journal streams, and the switch from one process."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import redis

from footfall.clock import FixedClock
from footfall.cluster.streams import STREAM_FILE
from footfall.ingest.pipeline import ClientContext
from footfall.ingest.request import parse_event
from footfall.meta.sites import add_site
from footfall.services import Services, journal_dir, open_meta
from footfall.settings import Settings, load_settings
from tests.clickhouse_http import clickhouse_http
from tests.conftest import CHROME_UA

NOW = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)


def _settings(tmp_path: Path, events_url: str, redis_url: str | None) -> Settings:
    return load_settings(
        {"data_dir": tmp_path / "data", "events_url": events_url, "redis_url": redis_url},
        environ={},
    )


def _journal(services: Services, path: str, ip: str) -> None:
    request = parse_event({"n": "pageview", "u": f"https://example.com{path}", "d": "example.com"})
    assert not isinstance(request, dict)
    outcome = services.pipeline.process(request, ClientContext(CHROME_UA, ip))
    services.journal.append(outcome.events)


def _one(services: Services, sql: str) -> object:
    return services.store.query(sql, [], timeout=10, tag="test")[0][0]


def test_a_journal_of_one_process_is_finished_before_its_sessions_are_shared(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis
) -> None:
    clock = FixedClock(NOW)
    with clickhouse_http(tmp_path / "clickhouse") as events_url:
        alone = _settings(tmp_path, events_url, None)
        add_site(open_meta(alone), domain="example.com", timezone="UTC")
        first = Services.open(alone, clock=clock)
        # Journalled with sessions decided in memory, then the process dies before applying.
        for n, path in enumerate(["/a", "/b", "/c"]):
            clock.set(NOW + dt.timedelta(seconds=n))
            _journal(first, path, "81.2.69.160")
        first.journal.close()
        assert not (journal_dir(alone) / STREAM_FILE).exists()

        shared = Services.open(_settings(tmp_path, events_url, redis_url), clock=clock)
        try:
            assert shared.store.count_events() == 3
            assert _one(shared, "SELECT sum(sign) FROM sessions") == 1
            assert _one(shared, "SELECT sum(sign * pageviews) FROM sessions") == 3
            # The directory now has a stream of its own, drawn from Redis.
            stream = int((journal_dir(alone) / STREAM_FILE).read_text())
            assert stream >= 1 and shared.store.stream == stream  # type: ignore[attr-defined]
            assert redis_client.get("footfall:seq:session") is not None
        finally:
            shared.close()
        first.store.close()
        first.meta.dispose()
