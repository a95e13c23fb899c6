from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from footfall.stats.intervals import auto_granularity
from footfall.stats.model import Granularity, StatsQueryError
from footfall.stats.periods import (
    DateRange,
    bucket_label,
    bucket_labels,
    iso_local,
    previous_period,
    today_in,
    utc_bounds,
    v1_date_range,
    v1_interval,
    v2_date_range,
)

D = dt.date
T = dt.datetime
SECOND = dt.timedelta(seconds=1)

PERIOD_ERROR = (
    "Error parsing `period` parameter: invalid period `{}`. "
    "Please find accepted values in our docs: https://plausible.io/docs/stats-api#time-periods"
)
DATE_ERROR = "Error parsing `date` parameter: {}. Please specify a valid date in ISO-8601 format."
CUSTOM_REQUIRED = (
    "The `date` parameter is required when using a custom period. "
    "See https://plausible.io/docs/stats-api#time-periods"
)
CUSTOM_FORMAT = (
    "Invalid format for `date` parameter. When using a custom period, please include two "
    "ISO-8601 formatted dates joined by a comma. "
    "See https://plausible.io/docs/stats-api#time-periods"
)
INTERVAL_ERROR = (
    "Error parsing `interval` parameter: invalid interval `{}`. Valid intervals are `day`, `month`"
)


def _message(excinfo: pytest.ExceptionInfo[StatsQueryError]) -> str:
    assert excinfo.value.status == 400
    return excinfo.value.message


# --- v1 period and date -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "date", "first", "last"),
    [
        ("day", "2021-01-08", D(2021, 1, 8), D(2021, 1, 8)),
        # The reference example: today is excluded.
        ("7d", "2021-01-08", D(2021, 1, 1), D(2021, 1, 7)),
        ("30d", "2021-01-08", D(2020, 12, 9), D(2021, 1, 7)),
        ("month", "2021-01-08", D(2021, 1, 1), D(2021, 1, 31)),
        ("month", "2021-04-30", D(2021, 4, 1), D(2021, 4, 30)),
        ("month", "2020-02-10", D(2020, 2, 1), D(2020, 2, 29)),
        ("month", "2021-02-10", D(2021, 2, 1), D(2021, 2, 28)),
        ("month", "2000-02-01", D(2000, 2, 1), D(2000, 2, 29)),
        ("month", "1900-02-15", D(1900, 2, 1), D(1900, 2, 28)),
        # The reference example: whole months before the current one.
        ("6mo", "2021-02-10", D(2020, 8, 1), D(2021, 1, 31)),
        ("6mo", "2020-03-31", D(2019, 9, 1), D(2020, 2, 29)),
        ("12mo", "2021-02-10", D(2020, 2, 1), D(2021, 1, 31)),
        ("12mo", "2021-01-01", D(2020, 1, 1), D(2020, 12, 31)),
        ("custom", "2021-01-01,2021-01-31", D(2021, 1, 1), D(2021, 1, 31)),
        ("custom", " 2021-01-01 ,\t2021-01-31\u00a0", D(2021, 1, 1), D(2021, 1, 31)),
        ("custom", "2021-01-05,2021-01-05", D(2021, 1, 5), D(2021, 1, 5)),
        (None, "2021-01-08", D(2020, 12, 9), D(2021, 1, 7)),
    ],
)
def test_v1_periods(period: str | None, date: str, first: dt.date, last: dt.date) -> None:
    assert v1_date_range(period, date, D(1999, 1, 1)) == DateRange(first, last)


def test_v1_defaults_are_30d_and_today() -> None:
    today = D(2021, 1, 8)
    assert v1_date_range(None, None, today) == DateRange(D(2020, 12, 9), D(2021, 1, 7))
    assert v1_date_range("day", None, today) == DateRange(today, today)
    assert v1_date_range("month", None, today).days == 31


@pytest.mark.parametrize("period", ["28d", "91d", "year", "all", "realtime", "", "DAY", "7d "])
def test_v1_rejects_unknown_periods(period: str) -> None:
    with pytest.raises(StatsQueryError) as excinfo:
        v1_date_range(period, "2021-01-01", D(2021, 1, 8))
    assert _message(excinfo) == PERIOD_ERROR.format(period)


@pytest.mark.parametrize(
    ("date", "reason"),
    [
        ("2021/01/08", "invalid_format"),
        ("20210108", "invalid_format"),
        ("2021-1-08", "invalid_format"),
        ("today", "invalid_format"),
        ("", "invalid_format"),
        (" 2021-01-08", "invalid_format"),
        ("2021-01-08\n", "invalid_format"),
        ("2021-01-08T00:00:00", "invalid_format"),
        ("2021-01-08,2021-01-09", "invalid_format"),
        ("\uff12\uff10\uff12\uff11-01-08", "invalid_format"),
        ("2021-02-29", "invalid_date"),
        ("2021-02-30", "invalid_date"),
        ("2021-13-01", "invalid_date"),
        ("2021-00-10", "invalid_date"),
        ("2021-01-00", "invalid_date"),
        ("0000-01-01", "invalid_date"),
    ],
)
def test_v1_rejects_bad_dates(date: str, reason: str) -> None:
    with pytest.raises(StatsQueryError) as excinfo:
        v1_date_range("day", date, D(2021, 1, 8))
    assert _message(excinfo) == DATE_ERROR.format(reason)


def test_v1_period_is_checked_before_date() -> None:
    with pytest.raises(StatsQueryError) as excinfo:
        v1_date_range("year", "bad", D(2021, 1, 8))
    assert _message(excinfo) == PERIOD_ERROR.format("year")


def test_v1_custom_needs_a_date() -> None:
    with pytest.raises(StatsQueryError) as excinfo:
        v1_date_range("custom", None, D(2021, 1, 8))
    assert _message(excinfo) == CUSTOM_REQUIRED


@pytest.mark.parametrize(
    "date",
    [
        "",
        "2021-01-01",
        "2021-01-01,",
        "2021-01-01,2021-01-02,2021-01-03",
        "2021-01-01;2021-01-02",
        "2021-01-01 2021-01-02",
        "2021-01-01,2021-02-30",
        "2021/01/01,2021-01-02",
        # A reversed range is refused rather than returning nothing.
        "2021-01-31,2021-01-01",
    ],
)
def test_v1_custom_rejects_bad_values(date: str) -> None:
    with pytest.raises(StatsQueryError) as excinfo:
        v1_date_range("custom", date, D(2021, 1, 8))
    assert _message(excinfo) == CUSTOM_FORMAT


@pytest.mark.parametrize(
    ("period", "interval", "expected"),
    [
        ("day", None, "hour"),
        ("7d", None, "day"),
        ("30d", None, "day"),
        ("month", None, "day"),
        ("custom", None, "day"),
        ("6mo", None, "month"),
        ("12mo", None, "month"),
        (None, None, "day"),
        ("day", "day", "day"),
        ("6mo", "date", "day"),
        ("day", "month", "month"),
        ("30d", "month", "month"),
    ],
)
def test_v1_intervals(period: str | None, interval: str | None, expected: Granularity) -> None:
    assert v1_interval(period, interval) == expected


@pytest.mark.parametrize("interval", ["hour", "week", "minute", "Day", "", "month "])
def test_v1_rejects_unknown_intervals(interval: str) -> None:
    with pytest.raises(StatsQueryError) as excinfo:
        v1_interval("30d", interval)
    message = _message(excinfo)
    assert message == INTERVAL_ERROR.format(interval)
    # The Markdown reference pads this code span with a space; the message itself has none.
    assert message.endswith("Valid intervals are `day`, `month`")


def test_v1_interval_checks_the_period_first() -> None:
    with pytest.raises(StatsQueryError) as excinfo:
        v1_interval("year", "hour")
    assert _message(excinfo) == PERIOD_ERROR.format("year")


# --- v2 date_range ----------------------------------------------------------------------------

TODAY = D(2021, 1, 8)


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("day", T(2021, 1, 8), T(2021, 1, 8, 23, 59, 59)),
        ("month", T(2021, 1, 1), T(2021, 1, 31, 23, 59, 59)),
        ("year", T(2021, 1, 1), T(2021, 12, 31, 23, 59, 59)),
        ("7d", T(2021, 1, 1), T(2021, 1, 7, 23, 59, 59)),
        ("07d", T(2021, 1, 1), T(2021, 1, 7, 23, 59, 59)),
        ("1d", T(2021, 1, 7), T(2021, 1, 7, 23, 59, 59)),
        ("30d", T(2020, 12, 9), T(2021, 1, 7, 23, 59, 59)),
        ("5000d", T(2007, 5, 2), T(2021, 1, 7, 23, 59, 59)),
        ("1mo", T(2020, 12, 1), T(2020, 12, 31, 23, 59, 59)),
        ("6mo", T(2020, 7, 1), T(2020, 12, 31, 23, 59, 59)),
        ("12mo", T(2020, 1, 1), T(2020, 12, 31, 23, 59, 59)),
        ("100mo", T(2012, 9, 1), T(2020, 12, 31, 23, 59, 59)),
        (["2021-01-01", "2021-01-31"], T(2021, 1, 1), T(2021, 1, 31, 23, 59, 59)),
        (["2021-01-05", "2021-01-05"], T(2021, 1, 5), T(2021, 1, 5, 23, 59, 59)),
        (
            ["2021-01-01T00:00:00+01:00", "2021-01-02T12:00:00+01:00"],
            T(2020, 12, 31, 23),
            T(2021, 1, 2, 11),
        ),
        (
            ["2021-01-01T10:00:00.999Z", "2021-01-01T12:30:00-05:30"],
            T(2021, 1, 1, 10),
            T(2021, 1, 1, 18),
        ),
    ],
)
def test_v2_date_ranges(value: object, start: dt.datetime, end: dt.datetime) -> None:
    assert v2_date_range(value, today=TODAY, tz="UTC", first_data_day=None) == (start, end)


def test_v2_uses_the_site_zone_for_dates_but_not_for_datetimes() -> None:
    def berlin(value: object) -> tuple[dt.datetime, dt.datetime]:
        return v2_date_range(value, today=TODAY, tz="Europe/Berlin", first_data_day=None)

    assert berlin("day") == (T(2021, 1, 7, 23), T(2021, 1, 8, 22, 59, 59))
    assert berlin(["2021-07-01", "2021-07-02"]) == (T(2021, 6, 30, 22), T(2021, 7, 2, 21, 59, 59))
    pair = ["2021-01-01T00:00:00Z", "2021-01-01T05:00:00Z"]
    assert berlin(pair) == (T(2021, 1, 1), T(2021, 1, 1, 5))


def test_v2_all_starts_at_the_first_day_with_data() -> None:
    def run(first: dt.date | None) -> tuple[dt.datetime, dt.datetime]:
        return v2_date_range("all", today=TODAY, tz="UTC", first_data_day=first)

    assert run(D(2020, 6, 15)) == (T(2020, 6, 15), T(2021, 1, 8, 23, 59, 59))
    assert run(None) == (T(2021, 1, 8), T(2021, 1, 8, 23, 59, 59))
    assert run(D(2021, 2, 1)) == (T(2021, 1, 8), T(2021, 1, 8, 23, 59, 59))


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("bad_period", '"bad_period"'),
        ("0d", '"0d"'),
        ("5001d", '"5001d"'),
        ("0mo", '"0mo"'),
        ("101mo", '"101mo"'),
        ("99999999999999999999999d", '"99999999999999999999999d"'),
        ("24h", '"24h"'),
        ("7D", '"7D"'),
        ("7 d", '"7 d"'),
        ("-7d", '"-7d"'),
        ("+7d", '"+7d"'),
        ("realtime", '"realtime"'),
        ("30m", '"30m"'),
        ("custom", '"custom"'),
        ("", '""'),
        ('say "hi"', '"say \\"hi\\""'),
        ("line\nbreak", '"line\\nbreak"'),
        ("caf\u00e9", '"caf\u00e9"'),
        ("\x01", "<<1>>"),
        (7, "7"),
        (1.5, "1.5"),
        (None, "nil"),
        (True, "true"),
        (["2021-01-01"], '["2021-01-01"]'),
        (
            ["2021-01-01", "2021-01-02", "2021-01-03"],
            '["2021-01-01", "2021-01-02", "2021-01-03"]',
        ),
        (["2021-01-01", "bad"], '["2021-01-01", "bad"]'),
        (["2021-01-01", "2021-01-02T00:00:00Z"], '["2021-01-01", "2021-01-02T00:00:00Z"]'),
        (
            ["2021-01-01T00:00:00", "2021-01-02T00:00:00"],
            '["2021-01-01T00:00:00", "2021-01-02T00:00:00"]',
        ),
        (
            ["2021-01-01 00:00:00Z", "2021-01-02 00:00:00Z"],
            '["2021-01-01 00:00:00Z", "2021-01-02 00:00:00Z"]',
        ),
        (
            ["2021-01-01T00:00:00+24:00", "2021-01-02T00:00:00Z"],
            '["2021-01-01T00:00:00+24:00", "2021-01-02T00:00:00Z"]',
        ),
        (["2021-02-30", "2021-03-01"], '["2021-02-30", "2021-03-01"]'),
        (["2021-01-31", "2021-01-01"], '["2021-01-31", "2021-01-01"]'),
        (
            ["2021-01-02T00:00:00Z", "2021-01-01T00:00:00Z"],
            '["2021-01-02T00:00:00Z", "2021-01-01T00:00:00Z"]',
        ),
        (
            ["2021-02-30T00:00:00Z", "2021-03-01T00:00:00Z"],
            '["2021-02-30T00:00:00Z", "2021-03-01T00:00:00Z"]',
        ),
        (
            ["2021-01-01T25:00:00Z", "2021-01-02T00:00:00Z"],
            '["2021-01-01T25:00:00Z", "2021-01-02T00:00:00Z"]',
        ),
        # Before the calendar's first instant.
        (
            ["0001-01-01T00:00:00+01:00", "0001-01-02T00:00:00Z"],
            '["0001-01-01T00:00:00+01:00", "0001-01-02T00:00:00Z"]',
        ),
        ([1, 2], "[1, 2]"),
        (list(range(51)), "[" + ", ".join(map(str, range(50))) + ", ...]"),
        ([], "[]"),
        ({"from": "2021-01-01"}, '%{"from" => "2021-01-01"}'),
    ],
)
def test_v2_rejects_anything_else(value: object, shown: str) -> None:
    with pytest.raises(StatsQueryError) as excinfo:
        v2_date_range(value, today=TODAY, tz="UTC", first_data_day=None)
    assert _message(excinfo) == f"#/date_range: Invalid date range {shown}"


def test_v2_refuses_instants_the_site_zone_cannot_show() -> None:
    pair = ["9999-12-31T00:00:00Z", "9999-12-31T23:00:00Z"]
    bounds = v2_date_range(pair, today=TODAY, tz="UTC", first_data_day=None)
    assert bounds == (T(9999, 12, 31), T(9999, 12, 31, 23))
    # In Tokyo the end would be in year 10000.
    with pytest.raises(StatsQueryError) as excinfo:
        v2_date_range(pair, today=TODAY, tz="Asia/Tokyo", first_data_day=None)
    assert _message(excinfo) == (
        '#/date_range: Invalid date range ["9999-12-31T00:00:00Z", "9999-12-31T23:00:00Z"]'
    )


def test_v2_reference_example_message() -> None:
    with pytest.raises(StatsQueryError) as excinfo:
        v2_date_range("bad_period", today=TODAY, tz="UTC", first_data_day=None)
    assert _message(excinfo) == '#/date_range: Invalid date range "bad_period"'


# --- UTC bounds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "day", "start", "end"),
    [
        ("UTC", D(2021, 1, 1), T(2021, 1, 1), T(2021, 1, 1, 23, 59, 59)),
        ("Europe/Berlin", D(2021, 1, 1), T(2020, 12, 31, 23), T(2021, 1, 1, 22, 59, 59)),
        ("Europe/Berlin", D(2021, 7, 1), T(2021, 6, 30, 22), T(2021, 7, 1, 21, 59, 59)),
        # Spring forward at 02:00: a 23-hour day.
        ("Europe/Berlin", D(2022, 3, 27), T(2022, 3, 26, 23), T(2022, 3, 27, 21, 59, 59)),
        # Fall back at 03:00: a 25-hour day.
        ("Europe/Berlin", D(2022, 10, 30), T(2022, 10, 29, 22), T(2022, 10, 30, 22, 59, 59)),
        ("Asia/Kathmandu", D(2021, 1, 1), T(2020, 12, 31, 18, 15), T(2021, 1, 1, 18, 14, 59)),
        # Santiago skips 00:00-00:59 on 2022-09-11: the day starts at 01:00 (-03).
        ("America/Santiago", D(2022, 9, 10), T(2022, 9, 10, 4), T(2022, 9, 11, 3, 59, 59)),
        ("America/Santiago", D(2022, 9, 11), T(2022, 9, 11, 4), T(2022, 9, 12, 2, 59, 59)),
        # Santiago repeats 23:00-23:59 on 2022-04-02: the day ends at the first 23:59:59 (-03).
        ("America/Santiago", D(2022, 4, 2), T(2022, 4, 2, 3), T(2022, 4, 3, 2, 59, 59)),
        ("America/Santiago", D(2022, 4, 3), T(2022, 4, 3, 4), T(2022, 4, 4, 3, 59, 59)),
        # Havana skips 00:00-00:59 on 2022-03-13 and repeats it on 2022-11-06, where the day
        # starts at the second 00:00 (-05).
        ("America/Havana", D(2022, 3, 12), T(2022, 3, 12, 5), T(2022, 3, 13, 4, 59, 59)),
        ("America/Havana", D(2022, 3, 13), T(2022, 3, 13, 5), T(2022, 3, 14, 3, 59, 59)),
        ("America/Havana", D(2022, 11, 5), T(2022, 11, 5, 4), T(2022, 11, 6, 3, 59, 59)),
        ("America/Havana", D(2022, 11, 6), T(2022, 11, 6, 5), T(2022, 11, 7, 4, 59, 59)),
        # Nuuk skips 23:00-23:59 on 2024-03-30: the day ends at 22:59:59 (-02).
        ("America/Nuuk", D(2024, 3, 30), T(2024, 3, 30, 2), T(2024, 3, 31, 0, 59, 59)),
        ("America/Nuuk", D(2024, 3, 31), T(2024, 3, 31, 1), T(2024, 4, 1, 0, 59, 59)),
        # Samoa skipped 2011-12-30 entirely: it ends one second before it starts.
        ("Pacific/Apia", D(2011, 12, 30), T(2011, 12, 30, 10), T(2011, 12, 30, 9, 59, 59)),
    ],
)
def test_utc_bounds(tz: str, day: dt.date, start: dt.datetime, end: dt.datetime) -> None:
    assert utc_bounds(DateRange(day, day), tz) == (start, end)


def test_utc_bounds_of_a_longer_range() -> None:
    march = DateRange(D(2022, 3, 1), D(2022, 3, 31))
    assert utc_bounds(march, "Europe/Berlin") == (T(2022, 2, 28, 23), T(2022, 3, 31, 21, 59, 59))


def test_a_repeated_hour_at_a_day_boundary_belongs_to_neither_day() -> None:
    _, end = utc_bounds(DateRange(D(2022, 4, 2), D(2022, 4, 2)), "America/Santiago")
    start, _ = utc_bounds(DateRange(D(2022, 4, 3), D(2022, 4, 3)), "America/Santiago")
    assert start - end == dt.timedelta(hours=1, seconds=1)


def test_utc_bounds_clamp_at_the_ends_of_the_calendar() -> None:
    assert utc_bounds(DateRange(D.min, D.min), "Asia/Tokyo")[0] == T.min
    end = utc_bounds(DateRange(D.max, D.max), "America/New_York")[1]
    assert end == T(9999, 12, 31, 23, 59, 59)
    assert v1_date_range("7d", "0001-01-03", TODAY) == DateRange(D.min, D(1, 1, 2))
    assert v1_date_range("6mo", "0001-03-15", TODAY) == DateRange(D.min, D(1, 2, 28))
    assert v1_date_range("12mo", "0001-01-15", TODAY) == DateRange(D.min, D.min)
    assert previous_period(DateRange(D(1, 1, 3), D(1, 1, 9)), TODAY) == DateRange(D.min, D(1, 1, 2))
    # Labels near the end of the calendar do not fail either.
    last_day = utc_bounds(DateRange(D.max, D.max), "Asia/Tokyo")
    assert bucket_labels(*last_day, "Asia/Tokyo", "day") == ["9999-12-31"]
    assert bucket_labels(T(9999, 12, 31, 20), T.max, "Asia/Tokyo", "month") == ["9999-12-01"]


@pytest.mark.parametrize(
    ("tz", "now", "expected"),
    [
        ("Europe/Berlin", T(2021, 1, 1, 22, 59, 59), D(2021, 1, 1)),
        ("Europe/Berlin", T(2021, 1, 1, 23), D(2021, 1, 2)),
        ("America/Los_Angeles", T(2021, 1, 1, 7, 59), D(2020, 12, 31)),
        ("Pacific/Kiritimati", T(2021, 1, 1, 10), D(2021, 1, 2)),
        ("UTC", T(2021, 1, 1, 23, 59, 59), D(2021, 1, 1)),
        ("Europe/Berlin", T(2021, 1, 1, 23, tzinfo=dt.UTC), D(2021, 1, 2)),
    ],
)
def test_today_in(tz: str, now: dt.datetime, expected: dt.date) -> None:
    assert today_in(tz, now) == expected


# --- comparison -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "today", "expected_first", "expected_last"),
    [
        # Reference example: day 2021-01-01 compares with 2020-12-31.
        (D(2021, 1, 1), D(2021, 1, 1), D(2021, 1, 5), D(2020, 12, 31), D(2020, 12, 31)),
        (D(2021, 1, 1), D(2021, 1, 7), D(2021, 1, 8), D(2020, 12, 25), D(2020, 12, 31)),
        # Reference example: 6mo Oct 1 - Mar 31 (182 days) compares with the 182 days before.
        (D(2020, 10, 1), D(2021, 3, 31), D(2021, 4, 10), D(2020, 4, 2), D(2020, 9, 30)),
        # Month to date: ten days elapsed compare with the ten days before the 1st.
        (D(2021, 3, 1), D(2021, 3, 31), D(2021, 3, 10), D(2021, 2, 19), D(2021, 2, 28)),
        (D(2021, 3, 1), D(2021, 3, 31), D(2021, 3, 1), D(2021, 2, 28), D(2021, 2, 28)),
        (D(2021, 3, 1), D(2021, 3, 31), D(2021, 3, 31), D(2021, 1, 29), D(2021, 2, 28)),
        (D(2020, 2, 1), D(2020, 2, 29), D(2021, 1, 1), D(2020, 1, 3), D(2020, 1, 31)),
        # A range wholly in the future is not cut.
        (D(2021, 5, 1), D(2021, 5, 31), D(2021, 3, 10), D(2021, 3, 31), D(2021, 4, 30)),
    ],
)
def test_previous_period(
    first: dt.date,
    last: dt.date,
    today: dt.date,
    expected_first: dt.date,
    expected_last: dt.date,
) -> None:
    previous = previous_period(DateRange(first, last), today)
    assert previous == DateRange(expected_first, expected_last)


def test_previous_period_of_the_reference_6mo_is_182_days() -> None:
    current = v1_date_range("6mo", "2021-04-10", TODAY)
    assert current == DateRange(D(2020, 10, 1), D(2021, 3, 31))
    assert current.days == 182
    assert previous_period(current, D(2021, 4, 10)).days == 182


# --- granularity and labels -------------------------------------------------------------------

START = T(2021, 1, 1)


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (dt.timedelta(0), "hour"),
        (dt.timedelta(hours=23, minutes=59, seconds=59), "hour"),
        (dt.timedelta(hours=47, minutes=59, seconds=59), "hour"),
        # Whole elapsed hours, as Plausible counts them: 48 h 59 min is still 48.
        (dt.timedelta(hours=48, minutes=59, seconds=59), "hour"),
        (dt.timedelta(hours=49), "day"),
        (dt.timedelta(days=6, hours=23, minutes=59, seconds=59), "day"),
        (dt.timedelta(days=40, hours=23, minutes=59, seconds=59), "day"),
        (dt.timedelta(days=41), "week"),
        (dt.timedelta(days=181, hours=23, minutes=59, seconds=59), "week"),
        (dt.timedelta(weeks=52, days=6, hours=23, minutes=59, seconds=59), "week"),
        (dt.timedelta(weeks=53), "month"),
        (dt.timedelta(days=730), "month"),
    ],
)
def test_auto_granularity(span: dt.timedelta, expected: Granularity) -> None:
    assert auto_granularity(START, START + span) == expected


def test_auto_granularity_of_relative_ranges() -> None:
    def pick(value: str) -> Granularity:
        return auto_granularity(*v2_date_range(value, today=TODAY, tz="UTC", first_data_day=None))

    assert [pick(v) for v in ("day", "7d", "30d", "month", "6mo", "12mo", "year", "24mo")] == [
        "hour",
        "day",
        "day",
        "day",
        "week",
        "week",
        "week",
        "month",
    ]


def _labels(tz: str, first: dt.date, last: dt.date, granularity: Granularity) -> list[str]:
    return bucket_labels(*utc_bounds(DateRange(first, last), tz), tz, granularity)


def test_hour_labels_of_an_ordinary_day() -> None:
    labels = _labels("UTC", D(2021, 1, 1), D(2021, 1, 1), "hour")
    assert labels == [f"2021-01-01 {h:02d}:00:00" for h in range(24)]
    assert len(_labels("UTC", D(2021, 1, 1), D(2021, 1, 2), "hour")) == 48
    # Odd offsets still give whole local hours.
    assert _labels("Asia/Kathmandu", D(2021, 1, 1), D(2021, 1, 1), "hour") == labels


def test_hour_labels_skip_the_hour_lost_in_spring() -> None:
    labels = _labels("Europe/Berlin", D(2022, 3, 27), D(2022, 3, 27), "hour")
    assert labels == [f"2022-03-27 {h:02d}:00:00" for h in range(24) if h != 2]


def test_hour_labels_show_the_repeated_autumn_hour_once() -> None:
    labels = _labels("Europe/Berlin", D(2022, 10, 30), D(2022, 10, 30), "hour")
    assert labels == [f"2022-10-30 {h:02d}:00:00" for h in range(24)]


def test_hour_labels_around_midnight_and_half_hour_changes() -> None:
    # The day starts at 01:00 after the midnight gap.
    labels = _labels("America/Santiago", D(2022, 9, 11), D(2022, 9, 11), "hour")
    assert labels == [f"2022-09-11 {h:02d}:00:00" for h in range(1, 24)]
    # The day starts at the second 00:00, which still labels hour 00.
    labels = _labels("America/Havana", D(2022, 11, 6), D(2022, 11, 6), "hour")
    assert labels == [f"2022-11-06 {h:02d}:00:00" for h in range(24)]
    # Lord Howe moves 30 minutes: 02:00-02:29 is skipped, but 02:30-02:59 is a real hour 02.
    labels = _labels("Australia/Lord_Howe", D(2022, 10, 2), D(2022, 10, 2), "hour")
    assert labels == [f"2022-10-02 {h:02d}:00:00" for h in range(24)]
    labels = _labels("Australia/Lord_Howe", D(2022, 4, 3), D(2022, 4, 3), "hour")
    assert labels == [f"2022-04-03 {h:02d}:00:00" for h in range(24)]


def test_hour_labels_of_a_datetime_range_start_at_its_hour() -> None:
    labels = bucket_labels(T(2021, 1, 1, 10, 30), T(2021, 1, 1, 12), "UTC", "hour")
    assert labels == ["2021-01-01 10:00:00", "2021-01-01 11:00:00", "2021-01-01 12:00:00"]


def test_day_labels_are_local_dates() -> None:
    labels = _labels("Europe/Berlin", D(2021, 1, 1), D(2021, 1, 7), "day")
    assert labels == [f"2021-01-0{d}" for d in range(1, 8)]
    assert _labels("Pacific/Kiritimati", D(2020, 2, 28), D(2020, 3, 1), "day") == [
        "2020-02-28",
        "2020-02-29",
        "2020-03-01",
    ]


def test_week_labels_are_mondays_except_a_first_partial_week() -> None:
    # 2021-01-01 is a Friday.
    assert _labels("UTC", D(2021, 1, 1), D(2021, 1, 31), "week") == [
        "2021-01-01",
        "2021-01-04",
        "2021-01-11",
        "2021-01-18",
        "2021-01-25",
    ]
    assert _labels("Europe/Berlin", D(2021, 1, 4), D(2021, 1, 17), "week") == [
        "2021-01-04",
        "2021-01-11",
    ]
    assert _labels("UTC", D(2021, 1, 3), D(2021, 1, 3), "week") == ["2021-01-03"]
    assert _labels("UTC", D(2021, 1, 3), D(2021, 1, 4), "week") == ["2021-01-03", "2021-01-04"]


def test_month_labels() -> None:
    assert _labels("UTC", D(2020, 8, 1), D(2021, 1, 31), "month") == [
        "2020-08-01",
        "2020-09-01",
        "2020-10-01",
        "2020-11-01",
        "2020-12-01",
        "2021-01-01",
    ]
    # Unlike weeks, a first partial month is still labelled with its first day.
    assert _labels("America/New_York", D(2021, 1, 15), D(2021, 3, 10), "month") == [
        "2021-01-01",
        "2021-02-01",
        "2021-03-01",
    ]


def test_empty_ranges_have_no_labels() -> None:
    for granularity in ("hour", "day", "week", "month"):
        assert bucket_labels(T(2021, 1, 2), T(2021, 1, 1), "UTC", granularity) == []
        assert _labels("Pacific/Apia", D(2011, 12, 30), D(2011, 12, 30), granularity) == []


@pytest.mark.parametrize(
    ("local", "granularity", "expected"),
    [
        (T(2021, 1, 6, 10, 37, 12), "hour", "2021-01-06 10:00:00"),
        (T(2021, 1, 6, 0, 0), "hour", "2021-01-06 00:00:00"),
        (T(2021, 1, 6, 23, 59, 59), "day", "2021-01-06"),
        (T(2021, 1, 6, 12), "week", "2021-01-04"),
        (T(2021, 1, 3, 12), "week", "2021-01-01"),
        (T(2021, 1, 31, 23, 59), "month", "2021-01-01"),
        (T(2021, 1, 6, 12, tzinfo=ZoneInfo("Europe/Berlin")), "day", "2021-01-06"),
    ],
)
def test_bucket_label(local: dt.datetime, granularity: Granularity, expected: str) -> None:
    assert bucket_label(local, granularity, D(2021, 1, 1)) == expected


@pytest.mark.parametrize(
    ("utc", "tz", "expected"),
    [
        (T(2021, 1, 1), "UTC", "2021-01-01T00:00:00Z"),
        (T(2021, 1, 1), "Etc/UTC", "2021-01-01T00:00:00Z"),
        (T(2020, 12, 31, 23), "Europe/Berlin", "2021-01-01T00:00:00+01:00"),
        (T(2021, 7, 1, 21, 59, 59), "Europe/Berlin", "2021-07-01T23:59:59+02:00"),
        (T(2021, 1, 1, 5), "America/New_York", "2021-01-01T00:00:00-05:00"),
        (T(2021, 1, 1), "Asia/Kathmandu", "2021-01-01T05:45:00+05:45"),
        (T(2021, 1, 1), "America/St_Johns", "2020-12-31T20:30:00-03:30"),
        # Zero offset, but not the UTC zone.
        (T(2021, 1, 1), "Europe/London", "2021-01-01T00:00:00+00:00"),
        # Local mean time: the offset's seconds are dropped.
        (T(1900, 1, 1), "Europe/Amsterdam", "1900-01-01T00:19:32+00:19"),
        (T(2021, 1, 1, 0, 0, 0, 999999), "UTC", "2021-01-01T00:00:00Z"),
        (T(2021, 1, 1, 1, tzinfo=ZoneInfo("Europe/Berlin")), "UTC", "2021-01-01T00:00:00Z"),
    ],
)
def test_iso_local(utc: dt.datetime, tz: str, expected: str) -> None:
    assert iso_local(utc, tz) == expected


# --- properties -------------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Dublin",
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Santiago",
    "America/Havana",
    "America/Asuncion",
    "America/Nuuk",
    "America/Sao_Paulo",
    "Asia/Tehran",
    "Asia/Beirut",
    "Asia/Kathmandu",
    "Africa/Cairo",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Pacific/Kiritimati",
    "Antarctica/Troll",
]


def _offset_changes(tz: str) -> list[tuple[str, dt.date]]:
    """Days around each UTC-offset change of `tz` in a few years, to aim examples at."""
    zone = ZoneInfo(tz)
    days: list[tuple[str, dt.date]] = []
    instant = dt.datetime(2009, 1, 1, tzinfo=dt.UTC)
    previous = instant.astimezone(zone).utcoffset()
    while instant.year < 2026:
        instant += dt.timedelta(days=1)
        offset = instant.astimezone(zone).utcoffset()
        if offset != previous:
            day = instant.astimezone(zone).date()
            days += [(tz, day + dt.timedelta(days=n)) for n in (-2, -1, 0, 1)]
        previous = offset
    return days


TRICKY_DAYS = sorted({pair for tz in ZONES for pair in _offset_changes(tz)})
zone_days = st.one_of(
    st.tuples(st.sampled_from(ZONES), st.dates(D(1900, 1, 2), D(2099, 12, 30))),
    st.sampled_from(TRICKY_DAYS),
)


def _in_a_fold(instant: dt.datetime, tz: str) -> bool:
    """True when the local wall time at `instant` occurs twice."""
    local = instant.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(tz))
    other = local.replace(fold=1 - local.fold)
    return other.astimezone(dt.UTC) != local.astimezone(dt.UTC)


@settings(max_examples=400, deadline=None)
@given(zone_day=zone_days)
@example(zone_day=("Pacific/Apia", D(2011, 12, 30)))
@example(zone_day=("America/Santiago", D(2022, 4, 2)))
def test_day_bounds_are_ordered_and_inside_the_day(zone_day: tuple[str, dt.date]) -> None:
    tz, day = zone_day
    start, end = utc_bounds(DateRange(day, day), tz)
    assert start.microsecond == 0 and end.microsecond == 0
    if start > end:
        # A day the zone skipped: no instant has that local date.
        assert start - end == SECOND
        assert today_in(tz, end) < day < today_in(tz, start)
    else:
        assert start < end
        assert today_in(tz, start) == day == today_in(tz, end)
        # The second outside each bound is another day, or a repeated hour left out.
        assert today_in(tz, start - SECOND) < day or _in_a_fold(start - SECOND, tz)
        assert today_in(tz, end + SECOND) > day or _in_a_fold(end + SECOND, tz)


@settings(max_examples=400, deadline=None)
@given(zone_day=zone_days)
@example(zone_day=("America/Santiago", D(2022, 4, 2)))
@example(zone_day=("America/Havana", D(2022, 11, 5)))
@example(zone_day=("America/Nuuk", D(2024, 3, 30)))
@example(zone_day=("Pacific/Apia", D(2011, 12, 29)))
def test_consecutive_days_tile(zone_day: tuple[str, dt.date]) -> None:
    tz, day = zone_day
    following = day + dt.timedelta(days=1)
    first_start, end = utc_bounds(DateRange(day, day), tz)
    start, last_end = utc_bounds(DateRange(following, following), tz)
    # Never overlap; touch exactly, unless the boundary falls in a repeated hour, which
    # Plausible's rules (ambiguous start: later, ambiguous end: earlier) leave out of both days.
    assert start > end
    if start - end > SECOND:
        assert _in_a_fold(end + SECOND, tz)
        assert _in_a_fold(start - SECOND, tz)
    # A two-day range has the outer bounds of its days.
    assert utc_bounds(DateRange(day, following), tz) == (first_start, last_end)


@given(
    first=st.dates(D(1900, 1, 1), D(2100, 1, 1)),
    length=st.integers(1, 800),
    today=st.dates(D(1900, 1, 1), D(2100, 1, 1)),
)
def test_previous_period_has_the_same_length_and_ends_the_day_before(
    first: dt.date, length: int, today: dt.date
) -> None:
    current = DateRange(first, first + dt.timedelta(days=length - 1))
    previous = previous_period(current, today)
    cut = DateRange(first, min(current.last, today)) if first <= today else current
    assert previous.days == cut.days
    assert previous.last == first - dt.timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(
    zone_day=zone_days,
    extra_days=st.integers(0, 2),
    granularity=st.sampled_from(["hour", "day", "week", "month"]),
    fraction=st.floats(0, 1),
)
def test_every_instant_falls_in_a_listed_bucket(
    zone_day: tuple[str, dt.date], extra_days: int, granularity: Granularity, fraction: float
) -> None:
    tz, day = zone_day
    dates = DateRange(day, day + dt.timedelta(days=extra_days))
    start, end = utc_bounds(dates, tz)
    labels = bucket_labels(start, end, tz, granularity)
    assert labels == sorted(set(labels))
    if start > end:
        assert labels == []
        return
    first_local_day = today_in(tz, start)
    instant = (start + (end - start) * fraction).replace(microsecond=0)
    local = instant.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(tz))
    assert bucket_label(local, granularity, first_local_day) in labels
    # The first and last instants label the first and last buckets.
    for edge, position in ((start, 0), (end, -1)):
        edge_local = edge.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(tz))
        assert bucket_label(edge_local, granularity, first_local_day) == labels[position]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    value=json_values
    | st.sampled_from(["day", "month", "year", "all", "7d", "30mo"])
    | st.lists(st.text(alphabet="0123456789-:TZ+.", max_size=26), min_size=2, max_size=2),
    tz=st.sampled_from(ZONES),
    today=st.dates(D(1971, 1, 1), D(2090, 1, 1)),
)
def test_v2_date_range_returns_ordered_bounds_or_refuses(
    value: object, tz: str, today: dt.date
) -> None:
    try:
        start, end = v2_date_range(value, today=today, tz=tz, first_data_day=None)
    except StatsQueryError as exc:
        assert exc.message.startswith("#/date_range: Invalid date range ")
    else:
        assert start.microsecond == 0 and end.microsecond == 0


@settings(max_examples=300, deadline=None)
@given(
    period=st.none()
    | st.sampled_from(["day", "7d", "30d", "month", "6mo", "12mo", "custom"])
    | st.text(max_size=6),
    date=st.none() | st.text(alphabet="0123456789-, \t", max_size=24) | st.text(max_size=12),
    today=st.dates(),
)
def test_v1_date_range_returns_a_range_or_refuses(
    period: str | None, date: str | None, today: dt.date
) -> None:
    try:
        dates = v1_date_range(period, date, today)
    except StatsQueryError as exc:
        assert exc.status == 400
    else:
        assert dates.first <= dates.last
