"""Reading ahead on a thread: the same items in order, errors raised where they are taken."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from footfall.ingest.bulk.ahead import read_ahead


def test_items_come_in_order() -> None:
    assert list(read_ahead(iter(range(100)))) == list(range(100))


def test_an_error_while_reading_is_raised_to_the_caller() -> None:
    def broken() -> Iterator[int]:
        yield 1
        raise OSError("disk gone")

    taken = []
    with pytest.raises(OSError, match="disk gone"):
        for item in read_ahead(broken()):
            taken.append(item)
    assert taken == [1]


def test_a_caller_that_stops_early_leaves_no_thread_behind() -> None:
    items = read_ahead(iter(range(1000)))
    for item in items:
        if item == 3:
            break  # the reader thread is waiting for room; closing must end it
    items.close()
    assert not [t for t in threading.enumerate() if t.name == "import-reader"]
