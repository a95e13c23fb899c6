"""The retention job: deletes expired events at start, then every hour, or when woken.

What is due and how it is deleted is `footfall.lifecycle.retention`'s business; the job only
decides when. A changed retention (settings page, Sites API, control socket) wakes it, so the
change takes effect at once rather than within the hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import sqlalchemy as sa

from footfall.errors import StoreError

log = logging.getLogger(__name__)

RETENTION_INTERVAL_SECONDS = 3600.0


async def run_retention(
    enforce: Callable[[], object],
    *,
    wake: asyncio.Event,
    interval_seconds: float = RETENTION_INTERVAL_SECONDS,
) -> None:
    """Runs `enforce` in a worker thread now, then every `interval_seconds` or when woken.

    A failed round (a full disk, an unreachable database) is logged and tried again at the
    next one; nothing was deleted that the audit log does not show.
    """
    while True:
        wake.clear()
        try:
            await asyncio.to_thread(enforce)
        except (StoreError, sa.exc.SQLAlchemyError) as exc:
            log.warning("retention round failed (%s); trying again at the next round", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=interval_seconds)
