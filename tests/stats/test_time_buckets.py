"""Time buckets without the slot table give the slot table's answers, on every backend.

When the site's UTC offset is fixed all range long (`fixed_offset`), a row's local bucket is
computed from its timestamp plus the offset instead of joining the range's 15-minute slots.
Every timeseries below is asked both ways, of DuckDB and of ClickHouse (chdb), and must agree
to the value: zones with whole-hour, half-hour and 45-minute offsets, every granularity,
event and session metrics, ranges that start in the middle of visits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from footfall.clock import FixedClock
from footfall.lifecycle.importing import import_ndjson
from footfall.services import Services
from footfall.stats.cache import NullCache
from footfall.stats.engine import StatsEngine
from footfall.stats.model import Condition, Query
from footfall.stats.periods import fixed_offset
from footfall.stats.sql import parts
from tests.stats_harness import STATS_BACKENDS, demo_file, events_url_for, prepare_site

NOW = dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC)


def test_fixed_offset_only_when_the_offset_holds_all_range_long() -> None:
    nov = (dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 30, 23, 59, 59))
    assert fixed_offset(*nov, "UTC") == dt.timedelta(0)
    assert fixed_offset(*nov, "Europe/Berlin") == dt.timedelta(hours=1)
    assert fixed_offset(*nov, "Asia/Kathmandu") == dt.timedelta(hours=5, minutes=45)
    # Berlin leaves summer time on 2026-10-25.
    october = (dt.datetime(2026, 10, 1), dt.datetime(2026, 10, 31, 23))
    assert fixed_offset(*october, "Europe/Berlin") is None
    # Summer time starts and ends inside the range: the same offset at both ends.
    year = (dt.datetime(2026, 1, 10), dt.datetime(2026, 12, 10))
    assert fixed_offset(*year, "Europe/Berlin") is None
    # Kolkata's local mean time (+5:53:28) is not whole 15-minute steps.
    old = (dt.datetime(1850, 1, 1), dt.datetime(1850, 1, 2))
    assert fixed_offset(*old, "Asia/Kolkata") is None
    assert fixed_offset(dt.datetime(2020, 1, 1), dt.datetime(2026, 1, 1), "UTC") is None


@pytest.fixture(scope="module", params=STATS_BACKENDS)
def services(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:
    """Three weeks of demo traffic imported into one backend's store."""
    tmp = Path(tmp_path_factory.mktemp(f"buckets-{request.param}"))
    url = events_url_for(request.param, tmp)
    settings, site, _ = prepare_site(tmp / "data", events_url=url)
    opened = Services.open(settings, clock=FixedClock(NOW))
    path = demo_file(tmp / "events.ndjson", events=5000, days=21, end=NOW)
    import_ndjson(opened, site=site, path=path)
    # A visit across the start of each range below: the range counts it, but the slot
    # table has no bucket for a session that started before the range.
    straddling = tmp / "straddling.ndjson"
    with straddling.open("w") as handle:
        for n, (_, start, _, _) in enumerate(_RANGES):
            for minutes, page in ((-10, "/"), (10, "/pricing")):
                at = (start + dt.timedelta(minutes=minutes)).isoformat() + "Z"
                url = f"https://example.com{page}"
                handle.write(
                    orjson.dumps(
                        {"timestamp": at, "name": "pageview", "url": url, "visitor_id": f"s{n}"}
                    ).decode()
                    + "\n"
                )
    import_ndjson(opened, site=site, path=straddling)
    yield opened
    opened.close()


_RANGES = [
    # (zone, first instant, last instant, granularity), naive UTC; most start mid-visit.
    ("UTC", dt.datetime(2026, 10, 12), dt.datetime(2026, 11, 1, 23, 59, 59), "day"),
    ("UTC", dt.datetime(2026, 10, 20, 9, 7), dt.datetime(2026, 10, 21, 15, 40), "hour"),
    ("UTC", dt.datetime(2026, 10, 14, 13), dt.datetime(2026, 11, 1, 23, 59, 59), "week"),
    ("UTC", dt.datetime(2026, 10, 12, 6), dt.datetime(2026, 11, 2, 11), "month"),
    ("Asia/Kolkata", dt.datetime(2026, 10, 15, 18, 30), dt.datetime(2026, 11, 1, 18, 29), "day"),
    ("Asia/Kolkata", dt.datetime(2026, 10, 22, 3, 10), dt.datetime(2026, 10, 23, 2), "hour"),
    ("Asia/Kathmandu", dt.datetime(2026, 10, 13, 5), dt.datetime(2026, 11, 1, 7), "week"),
    ("Asia/Kathmandu", dt.datetime(2026, 10, 20, 1, 2), dt.datetime(2026, 10, 20, 23), "hour"),
    ("America/New_York", dt.datetime(2026, 11, 1, 6), dt.datetime(2026, 11, 2, 11), "hour"),
    ("America/New_York", dt.datetime(2026, 10, 12, 4), dt.datetime(2026, 10, 31, 3), "month"),
]
_METRICS = [("visitors", "pageviews"), ("visitors", "visits", "bounce_rate", "visit_duration")]
_FILTERS: list[tuple[Condition, ...]] = [
    (),
    (Condition("is", "visit:device", ("Desktop",)),),
    (Condition("contains", "event:page", ("/blog",)),),
]


@pytest.mark.parametrize(("zone", "start", "end", "granularity"), _RANGES)
def test_buckets_from_the_fixed_offset_equal_the_slot_table(
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    zone: str,
    start: dt.datetime,
    end: dt.datetime,
    granularity: str,
) -> None:
    assert fixed_offset(start, end, zone) is not None
    engine = StatsEngine(services.store, now=lambda: NOW, cache=NullCache())
    queries = [
        Query(
            site_id=1,
            timezone=zone,
            start=start,
            end=end,
            metrics=metrics,
            filters=filters,
            dimensions=(f"time:{granularity}",),
            fill_time_buckets=True,
        )
        for metrics in _METRICS
        for filters in _FILTERS
        if not (filters and filters[0].dimension == "event:page" and "bounce_rate" in metrics)
    ]
    fast = [engine.run(query).rows for query in queries]
    with monkeypatch.context() as patch:
        patch.setattr(parts, "fixed_offset", _never)
        slots = [engine.run(query).rows for query in queries]
    assert fast == slots
    assert any(values[0] for rows in fast for _, values in rows)


def _never(*_: Any) -> None:
    return None
