"""Increasing ids for sessions and visitor numbers."""

from __future__ import annotations

import threading
from typing import Protocol


class Allocator(Protocol):
    """Hands out increasing ids that no other holder of the same allocator gets."""

    def next(self) -> int:
        """One new id."""
        ...

    def reserve(self, count: int) -> int:
        """Reserves `count` consecutive ids and returns the first."""
        ...


class IdAllocator:
    """Hands out increasing ids: session ids and visitor numbers.

    Small sequential ids compress far better than random ones. Thread-safe: an import reserves
    a block while live ingest goes on.
    """

    def __init__(self, start: int) -> None:
        self._lock = threading.Lock()
        self._next = start

    def next(self) -> int:
        """One new id."""
        return self.reserve(1)

    def reserve(self, count: int) -> int:
        """Reserves `count` consecutive ids and returns the first (an import takes millions)."""
        with self._lock:
            first = self._next
            self._next += count
            return first
