"""One process's share of a cluster: its Redis client and the state every worker shares.

`ClusterState.open` connects to Redis (no command is sent until first use) and gathers what
the composition root wires in when the state is shared (`footfall.cluster.config.shares_state`):
live sessions and the id counters (`sessions.py`), job leases (`leases.py`), the journal
stream of this worker's journal directory (`streams.py`) and the board where workers show
their ops figures to each other (`board.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import redis

from footfall.cluster.board import WorkerBoard, worker_name
from footfall.cluster.leases import RedisLeases
from footfall.cluster.sessions import (
    SESSION_COUNTER,
    VISITOR_COUNTER,
    RedisAllocator,
    RedisSessions,
)
from footfall.cluster.streams import allocate_stream, journal_stream
from footfall.errors import ConfigError
from footfall.storage.base import EventStore

# How long a Redis command may take before ingest answers 503 (a live Redis takes < 1 ms).
SOCKET_TIMEOUT_S = 2.0
# Timeout of the queries that check a new stream number is unused.
_CHECK_TIMEOUT_S = 60.0
_STREAM_SPAN = 1 << 40
_OWN_BATCHES = 1 << 62


@dataclass
class ClusterState:
    """The Redis-backed parts of a worker: sessions, id counters, leases."""

    client: redis.Redis
    sessions: RedisSessions
    session_ids: RedisAllocator
    visitor_ids: RedisAllocator
    leases: RedisLeases
    board: WorkerBoard

    @classmethod
    def open(cls, url: str, *, worker: int | None = None) -> ClusterState:
        """Creates the client (connecting lazily).

        Raises:
            ConfigError: The URL is malformed (the message does not repeat it).
        """
        try:
            client = redis.Redis.from_url(
                url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S
            )
        except ValueError as exc:
            raise ConfigError(f"FOOTFALL_REDIS_URL: {exc}") from None
        return cls(
            client=client,
            sessions=RedisSessions(client),
            session_ids=RedisAllocator(client, SESSION_COUNTER),
            visitor_ids=RedisAllocator(client, VISITOR_COUNTER),
            leases=RedisLeases(client),
            board=WorkerBoard(client, worker_name(worker)),
        )

    def journal_stream(self, directory: Path, store: EventStore) -> int:
        """The journal stream of `directory`, allocated on first use (unused in `store`).

        Raises:
            StoreError: Redis, the store or the directory failed.
        """
        return journal_stream(
            directory, lambda: allocate_stream(self.client, lambda s: stream_in_use(store, s))
        )

    def close(self) -> None:
        """Closes the client's connections."""
        self.client.close()


def stream_in_use(store: EventStore, stream: int) -> bool:
    """True when the (ClickHouse) store holds batches of `stream` already."""
    first, own = stream * _STREAM_SPAN, _OWN_BATCHES + stream * _STREAM_SPAN
    where = "(batch >= $1 AND batch < $2) OR (batch >= $3 AND batch < $4)"
    rows = store.query(
        f"SELECT (SELECT count() FROM events WHERE {where})"
        f" + (SELECT count() FROM sessions WHERE {where})",
        [first, first + _STREAM_SPAN, own, own + _STREAM_SPAN],
        timeout=_CHECK_TIMEOUT_S,
        tag="journal stream check",
    )
    return bool(rows and rows[0][0])
