"""The workers' board: each worker's latest ops sample in Redis, for every worker's /ops.

Each worker keeps its own ops history (`footfall.monitoring.history`); whichever worker answers
``/ops`` would otherwise show only itself. After every sample, a worker writes a few of its
figures under its name to one Redis hash; ``/ops`` reads the hash and shows one row per worker
and the cluster's totals. A worker whose last sample is older than `STALE_SECONDS` has stopped
(or lost Redis) and is left out.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass

import orjson
import redis

log = logging.getLogger(__name__)

KEY = "footfall:ops:workers"
STALE_SECONDS = 60.0
# The figures each worker publishes (names of `footfall.monitoring.sampler`'s samples).
FIGURES = ("requests_per_s", "ingest_events_per_s", "queue_depth", "rss_bytes", "cpu_percent")


@dataclass(frozen=True, slots=True)
class WorkerRow:
    """One worker's latest published sample."""

    name: str
    at: float
    figures: Mapping[str, float]


def worker_name(worker: int | None) -> str:
    """How a worker is named on the board: its machine, and its index in the pool."""
    return f"{socket.gethostname()}/{0 if worker is None else worker}"


class WorkerBoard:
    """Publishes this worker's figures and reads every worker's."""

    def __init__(self, client: redis.Redis, name: str) -> None:
        self.name = name
        self._client = client

    def publish(self, values: Mapping[str, float]) -> None:
        """Writes the latest sample's figures (a failure is logged, never raised)."""
        data = {"at": time.time(), **{k: float(values[k]) for k in FIGURES if k in values}}
        try:
            self._client.hset(KEY, self.name, orjson.dumps(data))
        except redis.RedisError as exc:
            log.warning("publishing ops figures to Redis failed: %s", exc)

    def rows(self, now: float | None = None) -> list[WorkerRow]:
        """Every worker that published within `STALE_SECONDS`, by name."""
        now = time.time() if now is None else now
        try:
            found = self._client.hgetall(KEY)
        except redis.RedisError as exc:
            log.warning("reading the workers' ops figures failed: %s", exc)
            return []
        rows = []
        for name, raw in found.items():
            data = orjson.loads(raw)
            at = float(data.pop("at", 0.0))
            if now - at <= STALE_SECONDS:
                label = name.decode() if isinstance(name, bytes) else str(name)
                rows.append(WorkerRow(label, at, data))
        return sorted(rows, key=lambda row: row.name)
