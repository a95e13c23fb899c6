"""Housekeeping: salt rotation at 00:00 UTC, forgetting ended sessions, writing key uses."""

from __future__ import annotations

import asyncio
import logging
import time

import sqlalchemy as sa

from footfall.clock import Clock
from footfall.ingest.salts import SaltKeeper, next_rotation
from footfall.meta.keys import KeyUsage
from footfall.sessions.store import SessionBook

log = logging.getLogger(__name__)

# How often API keys' last use is written (`footfall key list` may lag this much).
KEY_USAGE_FLUSH_SECONDS = 30.0
# A failing write is logged at most this often.
_ERROR_LOG_SECONDS = 300.0


async def run_housekeeping(
    *,
    clock: Clock,
    salts: SaltKeeper,
    sessions: SessionBook,
) -> None:
    """Wakes at least once a minute and just after midnight UTC, until cancelled."""
    while True:
        now = clock.now()
        wait = min(60.0, (next_rotation(now) - now).total_seconds() + 0.5)
        await asyncio.sleep(max(wait, 0.5))
        now = clock.now()
        ring = salts.ring(now)
        sessions.housekeep(now, ring.current_created)


async def run_key_usage_writer(usage: KeyUsage, meta: sa.Engine, interval: float) -> None:
    """Writes API keys' last use every `interval` seconds, until cancelled.

    A failed write (a full disk, an unreachable database) keeps the uses for the next round
    and is logged at most every few minutes: no request ever waits for or fails on it.
    """
    last_logged = -_ERROR_LOG_SECONDS
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(usage.flush, meta)
        except sa.exc.SQLAlchemyError as exc:
            if time.monotonic() - last_logged >= _ERROR_LOG_SECONDS:
                last_logged = time.monotonic()
                log.warning("writing API keys' last use failed (%s); will retry", exc)
