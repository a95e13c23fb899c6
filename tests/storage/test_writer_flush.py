"""`flush_sessions`: what a backup, an export or a site deletion waits for before it reads."""

from __future__ import annotations

import asyncio

from footfall.services import Services
from footfall.settings import Settings
from footfall.storage.writer import GroupCommitWriter
from tests.storage.rows import event


def test_a_flush_applies_at_once_rather_than_at_the_next_interval(settings: Settings) -> None:
    # The writer applies journalled events once a minute here; a flush must not wait for that.
    services = Services.open(settings)

    async def run() -> tuple[bool, int]:
        writer = GroupCommitWriter(
            services.store,
            services.journal,
            loop=asyncio.get_running_loop(),
            max_batch=100_000,
            max_wait_seconds=0,
            queue_limit=100_000,
            apply_interval_seconds=60,
        )
        try:
            waiter = writer.submit([event(pathname=f"/p{i}") for i in range(3)], [])
            assert waiter is not None
            await waiter  # journalled; the store has not got them yet
            flushed = await asyncio.to_thread(writer.flush_sessions, 10.0)
            return flushed, services.store.count_events()
        finally:
            writer.close()

    try:
        flushed, stored = asyncio.run(run())
    finally:
        services.close()
    assert (flushed, stored) == (True, 3)
