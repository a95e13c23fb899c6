"""/metrics exposes GC pauses, pool and buffer reuse and the bounded caches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.services import Services
from footfall.settings import Settings
from footfall.web.app import create_app
from tests.monitoring.test_metrics import AUTH, SECRET_KEY, TOKEN, post_event, scrape, value


@pytest.fixture
def open_client(settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    guarded = settings.replace(metrics_token=TOKEN, secret_key=SECRET_KEY)
    with TestClient(create_app(guarded, clock=clock), headers=AUTH) as test_client:
        yield test_client


def test_memory_management_families_appear_with_their_labels(open_client: TestClient) -> None:
    state: Services = open_client.app.state.footfall  # type: ignore[attr-defined]
    for _ in range(3):
        post_event(open_client, "example.com")
    assert state.writer.flush_sessions()
    for _ in range(3):
        with state.store.cursor() as cur:
            cur.execute("SELECT count(*) FROM events").fetchall()
    families = scrape(open_client)

    generations = {s.labels["generation"] for s in families["footfall_gc_collections"]}
    assert generations == {"0", "1", "2"}
    assert "footfall_gc_pause_seconds" in families
    assert "footfall_gc_longest_pause_seconds" in families

    for pool in ("duckdb_cursors", "metadata"):
        assert value(families, "footfall_pool_checkouts_total", pool=pool) >= 1, pool
        assert value(families, "footfall_pool_opened_total", pool=pool) >= 1, pool
        assert value(families, "footfall_pool_connections", pool=pool) >= 1, pool
        assert value(families, "footfall_pool_in_use", pool=pool) == 0, pool
    assert value(families, "footfall_pool_reuse_ratio", pool="duckdb_cursors") > 0

    assert value(families, "footfall_buffer_acquisitions_total", buffer="writer_batch") >= 3
    assert "footfall_buffer_reuses" in families
    assert "footfall_buffer_reuse_ratio" in families

    caches = {s.labels["cache"] for s in families["footfall_cache_entries"]}
    assert {"sessions", "user_agents", "geo", "sources", "error_groups"} <= caches
    assert value(families, "footfall_cache_entries", cache="sessions") == 1
    assert value(families, "footfall_cache_capacity", cache="sessions") == 500_000
    assert "footfall_cache_evictions" in families
