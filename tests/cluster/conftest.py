"""Fixtures for the state workers share: a Redis database of their own, emptied per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

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
