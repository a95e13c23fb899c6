"""Dense visitor numbers on the live path: (site, visitor hash) → a small increasing integer.

The Stats API counts distinct visitors far faster over dense integers than over random 64-bit
hashes (docs/adr/0007-dense-visitor-numbers.md), so every stored row carries a number next to
its hash. New sessions are keyed by the hash under the *current* salt
(`footfall.ingest.pipeline`), and a salt is current for one UTC day: a hash older than the
previous salt can never be looked up again. The mapping therefore keeps two generations and
drops the older one at each salt rotation, which bounds it to about two days of visitors.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable

VisitorKey = tuple[int, int]  # (site_id, visitor_id)


class VisitorNumbers:
    """Hands out one visitor number per (site_id, visitor_id), the same one every time.

    Numbers come from `allocate`, an increasing counter shared with imports, so visitors are
    numbered in order of first appearance and a time range's visitors occupy a narrow band.
    Only the event loop looks numbers up and rotates, so neither needs a lock; `remember` may
    be called from any thread (an import runs in a worker thread) and takes effect at the next
    lookup or rotation.
    """

    def __init__(self, allocate: Callable[[], int]) -> None:
        self._allocate = allocate
        self._current: dict[VisitorKey, int] = {}
        self._previous: dict[VisitorKey, int] = {}
        self._salt_created: dt.datetime | None = None
        # deque.append and popleft are atomic: the hand-over from other threads.
        self._remembered: deque[list[tuple[int, int, int]]] = deque()

    def __len__(self) -> int:
        """Live entries, both generations (what the mapping's memory grows with)."""
        return len(self._current) + len(self._previous)

    def number_for(self, site_id: int, visitor_id: int) -> int:
        """The visitor number of a hash, assigning the next one when the hash is new.

        Args:
            site_id: The site the event belongs to.
            visitor_id: The visitor hash under the current salt.

        Returns:
            The number; equal for equal (site_id, visitor_id), different otherwise.
        """
        if self._remembered:
            self._take_remembered()
        key = (site_id, visitor_id)
        number = self._current.get(key)
        if number is None:
            # Seen before the last rotation (a salt rotated late, or a remembered entry):
            # promote it so that it outlives the next rotation too.
            number = self._previous.pop(key, None)
            if number is None:
                number = self._allocate()
            self._current[key] = number
        return number

    def remember(self, rows: Iterable[tuple[int, int, int]]) -> None:
        """Adds numbers already stored (after a restart or an import). Safe from any thread.

        A number the mapping already holds wins. Remembered entries join the older
        generation: they are dropped at the next rotation unless looked up before it.

        Args:
            rows: (site_id, visitor_id, visitor) triples.
        """
        self._remembered.append(list(rows))

    def rotate(self, salt_created: dt.datetime) -> bool:
        """Starts a new generation once a salt newer than the last one seen is current.

        Cheap and idempotent, so the caller may call it on every housekeeping tick; the first
        call only records the salt.

        Args:
            salt_created: When the current salt was made.

        Returns:
            True when the generations rotated (the older one was dropped).
        """
        if self._remembered:
            self._take_remembered()
        if self._salt_created is None or salt_created <= self._salt_created:
            self._salt_created = self._salt_created or salt_created
            return False
        self._salt_created = salt_created
        self._previous = self._current
        self._current = {}
        return True

    def _take_remembered(self) -> None:
        current, previous = self._current, self._previous
        while self._remembered:
            for site_id, visitor_id, number in self._remembered.popleft():
                key = (site_id, visitor_id)
                if key not in current:
                    previous.setdefault(key, number)
