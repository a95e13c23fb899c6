"""Fixtures for the state workers share: a Redis database of their own, emptied per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.clickhouse_http import clickhouse_http
from tests.cluster.harness import environment
from tests.services import require_chdb

# The rate-limit and cache tests use database 0 of the same server.
CLUSTER_DB = 3


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    """A Redis URL whose database is empty when the test starts."""
    url = redis_server.rsplit("/", 1)[0] + f"/{CLUSTER_DB}"
    with redis.Redis.from_url(url) as client:
        client.flushdb()
    yield url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client of that database."""
    with redis.Redis.from_url(redis_url) as client:
        yield client


@pytest.fixture
def cluster_env(tmp_path: Path, postgres_database: str, redis_url: str) -> Iterator[dict[str, str]]:
    """The environment of workers sharing ClickHouse (over HTTP), PostgreSQL and Redis."""
    require_chdb()
    with clickhouse_http(tmp_path / "clickhouse") as events_url:
        yield environment(
            FOOTFALL_DATA_DIR=str(tmp_path / "data"),
            FOOTFALL_EVENTS_URL=events_url,
            FOOTFALL_DATABASE_URL=postgres_database,
            FOOTFALL_REDIS_URL=redis_url,
            FOOTFALL_LOG_LEVEL="warning",
        )
