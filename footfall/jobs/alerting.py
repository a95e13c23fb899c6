"""The alerting job: one round of `footfall.alerts.rounds.Alerting` every interval.

It runs in every serving process, but a round runs only in the process that holds the
``alerts`` lease in the metadata store, so a cluster evaluates each rule once per interval and
sends each notification once. The lease outlives a few intervals: if its holder stops, another
process takes over within that time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

LEASE = "alerts"
# A lease lasts this many intervals (and at least a minute) past its holder's last round.
LEASE_INTERVALS = 3
MIN_LEASE_SECONDS = 60.0


class Round(Protocol):
    """What the job runs (`footfall.alerts.rounds.Alerting` has it)."""

    def run_round(self) -> object:
        """Evaluates, reports and delivers once."""
        ...


def holder_name() -> str:
    """This process, as lease holders are named: ``<host>:<pid>``."""
    return f"{socket.gethostname()}:{os.getpid()}"


class AlertJob:
    """Runs rounds every `interval` seconds while `lease` says this process holds the lease.

    Args:
        alerting: What a round runs.
        interval: Seconds between two rounds.
        lease: Takes or renews the lease for a duration in seconds; True when held.
        release: Gives the lease up (at stop).
    """

    def __init__(
        self,
        alerting: Round,
        *,
        interval: float,
        lease: Callable[[float], bool],
        release: Callable[[], None],
    ) -> None:
        self.alerting = alerting
        self.interval = interval
        self._lease = lease
        self._release = release
        self._wake: asyncio.Event | None = None
        self.rounds = 0

    def kick(self) -> None:
        """Starts the next round now (after a test send was queued, say); call on the loop."""
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        """Loops until cancelled; a failed round is logged and the next one comes as usual."""
        self._wake = asyncio.Event()
        seconds = max(self.interval * LEASE_INTERVALS, MIN_LEASE_SECONDS)
        try:
            while True:
                # The first round comes one interval after start, when the process has settled.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval)
                self._wake.clear()
                try:
                    if await asyncio.to_thread(self._lease, seconds):
                        await asyncio.to_thread(self.alerting.run_round)
                        self.rounds += 1
                except Exception:  # the next round tries again; the error is in the log
                    log.exception("alerting round failed")
        finally:
            with contextlib.suppress(Exception):
                self._release()
