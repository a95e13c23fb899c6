"""Counts with their nouns and byte sizes, as every page and command words them."""

from __future__ import annotations

import pytest

from footfall.text.quantities import format_bytes, noun, plural


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 visitors"),
        (1, "1 visitor"),
        (1.0, "1 visitor"),
        (2, "2 visitors"),
        (1.5, "1.5 visitors"),
        (1234, "1,234 visitors"),
        (-1, "-1 visitors"),
    ],
)
def test_plural_takes_the_singular_only_for_exactly_one(count: float, text: str) -> None:
    assert plural(count, "visitor") == text


def test_irregular_plurals_and_nouns_of_several_words() -> None:
    assert plural(2, "entry", "entries") == "2 entries"
    assert plural(1, "entry", "entries") == "1 entry"
    assert noun(1, "current visitor") == "current visitor"
    assert noun(3, "current visitor") == "current visitors"


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (512, "512 B"),
        (1023, "1023 B"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (16 * 1024, "16 KiB"),
        (256 * 1024, "256 KiB"),
        (1 << 30, "1 GiB"),
        (3 * 2**30, "3 GiB"),
        (2**20 - 1, "1 MiB"),  # rounds up to the next unit, never "1024 KiB"
        (2 * 2**40, "2 TiB"),
    ],
)
def test_format_bytes(size: int, text: str) -> None:
    assert format_bytes(size) == text
