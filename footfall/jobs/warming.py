"""Cache warming: after each flush of new events, refresh the live results users keep asking for.

The stats engine decides what to refresh and how (`StatsEngine.warm`); this task decides when:
after the writer has stored new events or sessions, and at least every half live TTL otherwise
(so results computed at an unchanged store get their lifetime extended before they expire).
One round at a time, each within a time budget, on a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from footfall.stats.engine import StatsEngine

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25


async def run_cache_warmer(
    engine: StatsEngine,
    generation: Callable[[], int],
    *,
    live_ttl: float,
    budget_seconds: float,
) -> None:
    """Runs warming rounds until cancelled.

    Args:
        engine: The stats engine whose cache is warmed.
        generation: The store's write generation (changes after each flush).
        live_ttl: The cache lifetime of live results, in seconds.
        budget_seconds: The most time one round may spend recomputing.
    """
    seen: int | None = None
    last_round = 0.0
    while True:
        await asyncio.sleep(min(POLL_SECONDS, live_ttl / 4))
        current = generation()
        now = time.monotonic()
        if current == seen and now - last_round < live_ttl / 2:
            continue
        seen, last_round = current, now
        try:
            await asyncio.to_thread(engine.warm, budget_seconds=budget_seconds)
        except Exception:  # a failed round is retried by the next one; it must not stop them
            log.exception("cache warming round failed")
