"""Workers show their ops figures to each other through Redis."""

from __future__ import annotations

import time

import redis

from footfall.cluster.board import STALE_SECONDS, WorkerBoard
from footfall.web.pages.ops import worker_rows


def test_every_live_worker_is_on_the_board_and_the_cluster_adds_up(
    redis_client: redis.Redis,
) -> None:
    one, two = WorkerBoard(redis_client, "web-1/0"), WorkerBoard(redis_client, "web-1/1")
    one.publish({"requests_per_s": 120.0, "queue_depth": 3, "rss_bytes": 100, "threads": 9})
    two.publish({"requests_per_s": 80.0, "queue_depth": 1, "rss_bytes": 50})
    rows = one.rows()
    assert [row.name for row in rows] == ["web-1/0", "web-1/1"]
    assert "threads" not in rows[0].figures  # only the figures the board shows
    shown = worker_rows(rows)
    assert shown["cluster"]["requests_per_s"] == 200.0
    assert shown["cluster"]["queue_depth"] == 4
    # A worker that stopped publishing drops off once its sample is stale.
    assert [r.name for r in two.rows(now=time.time() + STALE_SECONDS + 1)] == []
