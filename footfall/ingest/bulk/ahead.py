"""Reading ahead: the next block of an import is read on a thread while this one is worked on."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")


def read_ahead(blocks: Iterator[T]) -> Iterator[T]:
    """The same blocks, each read on a thread while the caller works on the one before.

    Reading is mostly C++ that releases the interpreter lock, so it overlaps the caller's
    per-block Python work.
    """
    ahead: queue.Queue[T | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(item: T | BaseException | None) -> bool:
        # Waits for room, unless the caller has stopped taking blocks (it raised).
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for block in blocks:
                if not offer(block):
                    return
            offer(None)
        except BaseException as exc:  # handed to the caller, raised there
            offer(exc)

    worker = threading.Thread(target=produce, name="import-reader", daemon=True)
    worker.start()
    try:
        while (item := ahead.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
