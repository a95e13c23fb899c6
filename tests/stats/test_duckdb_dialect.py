"""The DuckDB dialect's exact bitmap visitor count, on a real DuckDB event store.

The count takes the range's visitor-number bounds from an earlier statement; a row written in
between can fall outside them, and the answer must still be exact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from footfall.clock import FixedClock
from footfall.lifecycle.importing import import_ndjson
from footfall.services import Services
from footfall.stats import engine as engine_module
from footfall.stats.cache import NullCache
from footfall.stats.engine import StatsEngine
from footfall.stats.model import Condition, Query
from footfall.stats.sql import dialect_for
from footfall.stats.sql.dialect import OUTSIDE_BOUNDS
from footfall.storage.duckdb.store import DuckDBEventStore
from tests.stats_harness import demo_file, prepare_site
from tests.storage.rows import T0, event, session

NOW = dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC)


def test_bitmap_count_is_exact_inside_its_bounds_and_flags_rows_outside(tmp_path: Path) -> None:
    """Inside the bounds the bitmap counts exactly; a row outside makes the group say so.

    Cache warming read the bounds, then new events arrived before the count ran, and DuckDB
    refused the count ("Value 121 is outside of provided min and max range (1 <-> 120)").
    The count must neither fail nor miss the new visitor: it answers `OUTSIDE_BOUNDS`, and
    the engine counts again without bounds.
    """
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        store.write([event(visitor=v, session_id=v) for v in (1, 2, 3, 3, 7, 9, 12)], [], [])
        count = dialect_for("duckdb").distinct_visitors(("$1", "$2"))
        rows = store.query(f"SELECT {count} FROM events", [1, 12], timeout=10, tag="test")
        assert rows == [(6,)]
        rows = store.query(f"SELECT {count} FROM events", [3, 8], timeout=10, tag="test")
        assert rows == [(OUTSIDE_BOUNDS,)]
        rows = store.query(f"SELECT {count} FROM events", [100, 200], timeout=10, tag="test")
        assert rows == [(OUTSIDE_BOUNDS,)]
        # A group with every row inside keeps its count.
        grouped = store.query(
            f"SELECT visitor > 8, {count} FROM events GROUP BY 1 ORDER BY 1",
            [1, 8],
            timeout=10,
            tag="test",
        )
        assert grouped == [(False, 4), (True, OUTSIDE_BOUNDS)]
    finally:
        store.close()


class _WritesAfterBounds:
    """The real store, with a visit stored right after the engine read the visitor bounds.

    This is the race the bounds statement opens: a new visitor (a higher number) arrives
    between it and the count.
    """

    def __init__(self, store: DuckDBEventStore, visitor: int) -> None:
        self.store = store
        self.backend = store.backend
        self._visitor = visitor
        self.retried = 0

    def data_version(self) -> int:
        return self.store.data_version()

    def query(
        self, sql: str, params: Sequence[Any], *, timeout: float, tag: str
    ) -> list[tuple[Any, ...]]:
        if "bitstring_agg" not in sql and "count(DISTINCT visitor)" in sql:
            self.retried += 1
        rows = self.store.query(sql, params, timeout=timeout, tag=tag)
        if sql.startswith("SELECT min(visitor), max(visitor)"):
            v = self._visitor
            self._visitor += 1
            self.store.write(
                [event(visitor=v, visitor_id=v, session_id=v, pathname="/new")],
                [session(visitor=v, visitor_id=v, session_id=v, entry_page="/new")],
                [],
            )
        return rows


@pytest.mark.parametrize(
    ("dimensions", "expected"),
    [
        ((), [((), (4,))]),
        (("event:page",), [(("/",), (3,)), (("/new",), (1,))]),
        (("visit:entry_page",), [(("/",), (3,)), (("/new",), (1,))]),
    ],
)
def test_a_visitor_stored_between_bounds_and_count_is_counted(
    tmp_path: Path,
    dimensions: tuple[str, ...],
    expected: list[tuple[tuple[Any, ...], tuple[Any, ...]]],
) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        store.write(
            [event(visitor=v, visitor_id=v, session_id=v) for v in (1, 2, 3)],
            [session(visitor=v, visitor_id=v, session_id=v) for v in (1, 2, 3)],
            [],
        )
        racing = _WritesAfterBounds(store, visitor=4)
        engine = StatsEngine(racing, now=lambda: NOW, cache=NullCache())
        query = Query(
            site_id=1,
            timezone="UTC",
            start=T0 - dt.timedelta(hours=1),
            end=T0 + dt.timedelta(hours=1),
            metrics=("visitors",),
            dimensions=dimensions,
        )
        assert engine.run(query).rows == expected
        assert racing.retried == 1
    finally:
        store.close()


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """Two weeks of demo traffic imported into a DuckDB store."""
    tmp = tmp_path_factory.mktemp("bitmap")
    settings, site, _ = prepare_site(tmp / "data")
    services = Services.open(settings, clock=FixedClock(NOW))
    path = demo_file(tmp / "events.ndjson", events=6000, days=14, end=NOW)
    import_ndjson(services, site=site, path=path)
    yield services
    services.close()


_SHAPES: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("visitors", "visits", "pageviews", "bounce_rate", "visit_duration"), ()),
    (("visitors", "pageviews"), ("time:day",)),
    (("visitors", "pageviews"), ("time:hour",)),
    *(
        (("visitors", "bounce_rate"), (dim,))
        for dim in (
            "visit:source",
            "visit:channel",
            "visit:entry_page",
            "visit:exit_page",
            "visit:device",
            "visit:browser",
            "visit:os",
            "visit:country",
        )
    ),
    (("visitors", "pageviews"), ("event:page",)),
]
_FILTERS: list[tuple[Condition, ...]] = [
    (),
    (Condition("is", "visit:device", ("Mobile",)),),
    (Condition("is_not", "visit:source", ("Google",)),),
    (Condition("contains", "event:page", ("/blog",)),),
]


@pytest.mark.parametrize("filters", _FILTERS, ids=["none", "device", "not-source", "page"])
@pytest.mark.parametrize("days", [1, 7, 14])
def test_bitmap_counts_equal_distinct_counts(
    imported: Services,
    days: int,
    filters: tuple[Condition, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every dashboard shape answers the same with bitmap counts as with count(DISTINCT)."""
    # Bitmaps wherever the budget allows, not only where they are the cheaper way.
    monkeypatch.setattr(engine_module, "BITMAP_BITS_PER_ROW", 1 << 40)
    bitmap = StatsEngine(imported.store, now=lambda: NOW, cache=NullCache())
    distinct = StatsEngine(imported.store, now=lambda: NOW, cache=NullCache())
    distinct.dialect.uses_visitor_bounds = False
    assert bitmap.dialect.uses_visitor_bounds
    end = dt.datetime(2026, 11, 1, 23, 59, 59)
    start = dt.datetime(2026, 11, 1) - dt.timedelta(days=days - 1)
    for metrics, dims in _SHAPES:
        if dims == ("time:hour",) and days > 1:
            continue
        if filters and filters[0].dimension == "event:page" and "bounce_rate" in metrics:
            metrics = ("visitors",)
        query = Query(
            site_id=1,
            timezone="UTC",
            start=start,
            end=end,
            metrics=metrics,
            filters=filters,
            dimensions=dims,
        )
        expected = distinct.run(query).rows
        assert bitmap.run(query).rows == expected, (metrics, dims)
        assert sum(values[0] for _, values in expected) > 0


class _Recording:
    """The real store, keeping the statements the engine sent it."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.backend = store.backend
        self.statements: list[str] = []

    def data_version(self) -> int:
        return int(self.store.data_version())

    def query(
        self, sql: str, params: Sequence[Any], *, timeout: float, tag: str
    ) -> list[tuple[Any, ...]]:
        self.statements.append(sql)
        return list(self.store.query(sql, params, timeout=timeout, tag=tag))

    def counted_with(self) -> list[str]:
        """How each aggregating statement counted its visitors, in order."""
        return [
            "bitmap" if "bitstring_agg" in sql else "distinct"
            for sql in self.statements
            if "bitstring_agg" in sql or "count(DISTINCT visitor)" in sql
        ]


def _pages_and_devices(start: dt.datetime, end: dt.datetime) -> tuple[Query, Query]:
    def ask(metrics: tuple[str, ...], dimension: str) -> Query:
        return Query(
            site_id=1,
            timezone="UTC",
            start=start,
            end=end,
            metrics=metrics,
            dimensions=(dimension,),
        )

    return ask(("visitors", "pageviews"), "event:page"), ask(("visitors",), "visit:device")


def test_each_count_takes_the_cheaper_way_with_the_same_answers(imported: Services) -> None:
    """Many groups over few rows are hashed; few groups over many rows use the bitmap.

    A bitmap costs a bit per visitor number in range for every group, so a one-day
    breakdown by page (few rows, a wide range of visitor numbers, many pages) is cheaper
    with count(DISTINCT); a fortnight by device is cheaper with the bitmap. Either way the
    answers are those of count(DISTINCT) alone.
    """
    recording = _Recording(imported.store)
    engine = StatsEngine(recording, now=lambda: NOW, cache=NullCache())
    hashed = StatsEngine(imported.store, now=lambda: NOW, cache=NullCache())
    hashed.dialect.uses_visitor_bounds = False
    day = dt.datetime(2026, 11, 1)
    for start in (day, day - dt.timedelta(days=13)):
        for query in _pages_and_devices(start, day + dt.timedelta(days=1, microseconds=-1)):
            expected = hashed.run(query).rows
            assert engine.run(query).rows == expected
            assert sum(values[0] for _, values in expected) > 0
    # One day by page, one day by device, a fortnight by page, a fortnight by device.
    assert recording.counted_with() == ["distinct", "bitmap", "bitmap", "bitmap"]


def test_a_range_statistics_statement_serves_every_panel_until_the_next_write(
    imported: Services,
) -> None:
    """The panels of one dashboard share their range's visitor bounds and row count.

    They are read once per table and range, and again once the store's write generation
    moves, since a write can add visitors and rows to the range.
    """
    recording = _Recording(imported.store)
    generation = [0]
    engine = StatsEngine(
        recording, now=lambda: NOW, cache=NullCache(), generation=lambda: generation[0]
    )
    start, end = dt.datetime(2026, 10, 20), dt.datetime(2026, 11, 1, 23, 59, 59)

    def statistics_read() -> int:
        return sum(1 for sql in recording.statements if sql.startswith("SELECT min(visitor)"))

    for query in _pages_and_devices(start, end):
        engine.run(query)
    assert statistics_read() == 2  # events for pages, sessions for devices
    for query in _pages_and_devices(start, end):
        engine.run(query)
    assert statistics_read() == 2
    generation[0] += 1
    for query in _pages_and_devices(start, end):
        engine.run(query)
    assert statistics_read() == 4
