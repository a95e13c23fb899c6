"""Each dialect's spellings give the same values on its own backend (DuckDB and chdb)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from footfall.stats.sql import dialect_for
from footfall.storage.base import EventStore
from tests.storage.conftest import BACKENDS
from tests.storage.rows import event

# DuckDB and ClickHouse in-process; the HTTP variant speaks the same SQL.
NAMES = ("duckdb", "clickhouse")


@pytest.fixture(params=NAMES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    opened = BACKENDS[request.param].open(tmp_path / "store")
    opened.write(
        [
            event(pathname="/a_b", props={"plan": "pro"}),
            event(pathname="/Ärger\nzwei", visitor=2, session_id=2),
        ],
        [],
        [],
    )
    try:
        yield opened
    finally:
        opened.close()


def _value(store: EventStore, expr: str, *params: Any) -> Any:
    return store.query(f"SELECT {expr}", list(params), timeout=10, tag="test")[0][0]


def _column(store: EventStore, expr: str, *params: Any) -> list[Any]:
    rows = store.query(
        f"SELECT {expr} FROM events ORDER BY visitor", list(params), timeout=10, tag="test"
    )
    return [r[0] for r in rows]


@pytest.mark.parametrize(
    ("granularity", "at", "label"),
    [
        ("hour", dt.datetime(2026, 3, 29, 0, 30), "2026-03-29 01:00:00"),
        ("hour", dt.datetime(2026, 3, 29, 1, 30), "2026-03-29 03:00:00"),  # DST starts
        ("day", dt.datetime(2026, 3, 29, 22, 30), "2026-03-30"),
        ("week", dt.datetime(2026, 3, 29, 12, 0), "2026-03-23"),
        ("week", dt.datetime(2026, 3, 21, 12, 0), "2026-03-20"),  # not before the first day
        ("month", dt.datetime(2026, 3, 31, 23, 30), "2026-04-01"),
    ],
)
def test_bucket_labels_in_local_time(
    store: EventStore, granularity: str, at: dt.datetime, label: str
) -> None:
    d = dialect_for(store.backend)
    tz = "$2"
    local = d.local_time(d.timestamp("$1"), tz)
    first = d.local_time(d.timestamp("$3"), tz)
    expr = d.bucket(local, granularity, first)  # type: ignore[arg-type]
    params: list[Any] = [at, "Europe/Berlin"]
    if "$3" in expr:  # only weeks start no earlier than the range's first day
        params.append(dt.datetime(2026, 3, 19, 23))
    assert _value(store, expr, *params) == label


def test_slots_cover_first_to_last(store: EventStore) -> None:
    d = dialect_for(store.backend)
    slots = d.explode_slots(d.timestamp("$1"), d.timestamp("$2"))
    rows = store.query(
        f"SELECT {slots} AS s ORDER BY s",
        [dt.datetime(2026, 1, 1, 10, 7), dt.datetime(2026, 1, 1, 10, 45)],
        timeout=10,
        tag="test",
    )
    assert [r[0].replace(tzinfo=None) for r in rows] == [
        dt.datetime(2026, 1, 1, 10, m) for m in (0, 15, 30, 45)
    ]


def test_text_matching(store: EventStore) -> None:
    d = dialect_for(store.backend)
    assert _column(store, d.like("pathname", "$1"), "/a\\_b") == [True, False]
    assert _column(store, d.like("pathname", "$1"), "/a%") == [True, False]
    # A pattern without a backslash may skip the escape clause: the same matches.
    assert _column(store, d.like("pathname", "$1", escapes=False), "/a%") == [True, False]
    assert _column(store, d.like("pathname", "$1", escapes=False), "/a_b") == [True, False]
    assert _column(store, d.regex("pathname", "$1"), "Ärger.zwei") == [False, True]
    assert _column(store, d.contains("pathname", "$1", case_sensitive=False), "ärger") == [
        False,
        True,
    ]
    assert _column(store, d.contains("pathname", "$1", case_sensitive=True), "ärger") == [
        False,
        False,
    ]
    assert _column(store, f"{d.lower('pathname')} = {d.lower('$1')}", "/ÄRGER\nZWEI") == [
        False,
        True,
    ]


def test_custom_properties(store: EventStore) -> None:
    d = dialect_for(store.backend)
    value = d.prop_value("props_keys", "props_values", "$1")
    assert _column(store, f"coalesce({value}, '(none)')", "plan") == ["pro", "(none)"]
    assert _column(store, d.has_prop("props_keys", "$1"), "plan") == [True, False]
    assert _column(store, d.list_length("props_keys")) == [1, 0]


@pytest.mark.parametrize(
    ("expr", "digits", "rounded"),
    [("1 / 40", 2, 0.02), ("107 / 40", 2, 2.68), ("5 / 2", 0, 2.0), ("7 / 2", 0, 4.0)],
)
def test_rounding_is_clickhouses(store: EventStore, expr: str, digits: int, rounded: float) -> None:
    d = dialect_for(store.backend)
    assert _value(store, d.round_half_even(expr, digits)) == rounded


def test_empty_aggregates_are_null_and_counts_zero(store: EventStore) -> None:
    d = dialect_for(store.backend)
    rows = store.query(
        f"SELECT {d.distinct_visitors(None)}, {d.session_avg('duration')}, "
        f"{d.count_if('true')}, min(timestamp) FROM sessions WHERE site_id = 99",
        [],
        timeout=10,
        tag="test",
    )
    assert rows == [(0, None, 0, None)]
