"""Housekeeping: rotate the visitor-hash salts at 00:00 UTC and forget sessions that ended."""

from __future__ import annotations

import asyncio
import datetime as dt

from footfall.clock import Clock
from footfall.ingest.salts import SaltKeeper, next_rotation
from footfall.sessions.cache import SessionCache
from footfall.sessions.numbering import VisitorNumbers
from footfall.sessions.rule import SESSION_TIMEOUT_MINUTES


async def run_housekeeping(
    *,
    clock: Clock,
    salts: SaltKeeper,
    visitor_numbers: VisitorNumbers,
    sessions: SessionCache,
) -> None:
    """Wakes at least once a minute and just after midnight UTC, until cancelled."""
    while True:
        now = clock.now()
        wait = min(60.0, (next_rotation(now) - now).total_seconds() + 0.5)
        await asyncio.sleep(max(wait, 0.5))
        now = clock.now()
        ring = salts.ring(now)
        visitor_numbers.rotate(ring.current_created)
        sessions.expire(
            now.astimezone(dt.UTC).replace(tzinfo=None)
            - dt.timedelta(minutes=SESSION_TIMEOUT_MINUTES + 1)
        )
