"""Injected time, so that sessions, salts and periods are deterministic in tests."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current UTC time."""

    def now(self) -> dt.datetime:
        """Returns the current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> dt.datetime:
        """Returns the current time, timezone-aware UTC."""
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock that only moves when told to (tests, imports)."""

    def __init__(self, start: dt.datetime) -> None:
        self._now = start

    def now(self) -> dt.datetime:
        """Returns the frozen time."""
        return self._now

    def set(self, when: dt.datetime) -> None:
        """Moves the clock to `when`."""
        self._now = when

    def advance(self, seconds: float) -> None:
        """Moves the clock forward."""
        self._now += dt.timedelta(seconds=seconds)
