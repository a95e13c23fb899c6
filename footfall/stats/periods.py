"""Date ranges, comparison periods and time buckets, computed the way Plausible computes them.

Request parsing turns v1 `period`/`date` or a v2 `date_range` into naive-UTC bounds here, and the
timeseries code labels its buckets here, so that SQL results and gap-filled buckets agree. Every
function is pure: "today" and "now" are passed in. Naive datetimes are UTC; ranges are inclusive.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from footfall.stats.inspect import inspect
from footfall.stats.model import Granularity, StatsQueryError

_SECOND = dt.timedelta(seconds=1)
_HOUR = dt.timedelta(hours=1)
_LAST_SECOND = dt.datetime.max.replace(microsecond=0)
_CLAMPED = (dt.datetime.min, dt.datetime.max)

_PERIODS_DOC = "https://plausible.io/docs/stats-api#time-periods"
_DEFAULT_INTERVAL: dict[str, Granularity] = {
    "day": "hour",
    "7d": "day",
    "30d": "day",
    "month": "day",
    "custom": "day",
    "6mo": "month",
    "12mo": "month",
}
_MAX_DAYS = 5000
# The most buckets one time series may have: 27 years of days, or 416 days of hours.
MAX_TIME_BUCKETS = 10_000
_MAX_MONTHS = 100

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(Z|([+-])([0-9]{2}):([0-9]{2}))"
)
_SHORTHAND = re.compile(r"([0-9]+)(d|mo)")
# Unicode White_Space: what Elixir's String.trim/1 strips from each custom-range part.
_WHITESPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# Plausible prints "Z" only for its default zone (Etc/UTC); "UTC" is footfall's default.
_UTC_NAMES = frozenset({"UTC", "Etc/UTC"})


@dataclass(frozen=True, slots=True)
class DateRange:
    """An inclusive range of calendar dates in a site's time zone."""

    first: dt.date
    last: dt.date

    @property
    def days(self) -> int:
        """Number of days in the range, counting both ends."""
        return (self.last - self.first).days + 1


# --- Stats API v1 ---------------------------------------------------------------------------


def v1_date_range(period: str | None, date: str | None, today: dt.date) -> DateRange:
    """Resolves the v1 `period` and `date` parameters to a range of local dates.

    Args:
        period: The `period` parameter; absent means `30d`.
        date: The `date` parameter; absent means `today`. For `custom`, two dates joined by a
            comma.
        today: Today's date (Plausible uses the UTC date here, not the site's).

    Returns:
        The dates the query covers, per Plausible's period table.

    Raises:
        StatsQueryError: An unknown period or a malformed date, with Plausible's message.
    """
    period = _check_period(period)
    if period == "custom":
        return _custom_range(date)
    if date is None:
        anchor = today
    else:
        try:
            anchor = _iso_date(date)
        except ValueError as exc:
            raise StatsQueryError(
                f"Error parsing `date` parameter: {exc}. "
                "Please specify a valid date in ISO-8601 format."
            ) from None
    if period == "day":
        return DateRange(anchor, anchor)
    if period == "month":
        return _month_of(anchor)
    if period in ("7d", "30d"):
        return _last_n_days(anchor, int(period[:-1]))
    return _last_n_months(anchor, int(period[:-2]))


def v1_interval(period: str | None, interval: str | None) -> Granularity:
    """Resolves the v1 timeseries `interval` parameter.

    Args:
        period: The `period` parameter (absent means `30d`); it sets the default interval.
        interval: The `interval` parameter: `day` (alias `date`), `month` or absent.

    Returns:
        The bucket size: hour for `day`, month for `6mo`/`12mo`, day otherwise, unless given.

    Raises:
        StatsQueryError: An unknown period or interval, with Plausible's message.
    """
    period = _check_period(period)
    if interval is None:
        return _DEFAULT_INTERVAL[period]
    if interval in ("day", "date"):
        return "day"
    if interval == "month":
        return "month"
    raise StatsQueryError(
        f"Error parsing `interval` parameter: invalid interval `{interval}`. "
        "Valid intervals are `day`, `month`"
    )


def _check_period(period: str | None) -> str:
    period = "30d" if period is None else period
    if period not in _DEFAULT_INTERVAL:
        raise StatsQueryError(
            f"Error parsing `period` parameter: invalid period `{period}`. "
            f"Please find accepted values in our docs: {_PERIODS_DOC}"
        )
    return period


def _custom_range(value: str | None) -> DateRange:
    if value is None:
        raise StatsQueryError(
            f"The `date` parameter is required when using a custom period. See {_PERIODS_DOC}"
        )
    parts = value.split(",")
    if len(parts) == 2:
        try:
            first, last = (_iso_date(part.strip(_WHITESPACE)) for part in parts)
        except ValueError:
            pass
        else:
            if first <= last:
                return DateRange(first, last)
    raise StatsQueryError(
        "Invalid format for `date` parameter. When using a custom period, please include two "
        f"ISO-8601 formatted dates joined by a comma. See {_PERIODS_DOC}"
    )


def _iso_date(text: str) -> dt.date:
    """Parses `YYYY-MM-DD` as Elixir's `Date.from_iso8601/1` does.

    Raises:
        ValueError: `invalid_format` for the wrong shape, `invalid_date` for an impossible date
            (year 0, which Elixir accepts, included: Python dates start at year 1).
    """
    if not _DATE.fullmatch(text):
        raise ValueError("invalid_format")
    try:
        return dt.date(int(text[:4]), int(text[5:7]), int(text[8:]))
    except ValueError:
        raise ValueError("invalid_date") from None


# --- Stats API v2 ---------------------------------------------------------------------------


def v2_date_range(
    value: object, *, today: dt.date, tz: str, first_data_day: dt.date | None
) -> tuple[dt.datetime, dt.datetime]:
    """Resolves a v2 `date_range` to naive-UTC inclusive bounds.

    Args:
        value: The decoded JSON value: `"day"`, `"month"`, `"year"`, `"all"`, `"<n>d"`
            (1-5000), `"<n>mo"` (1-100), or a list of two ISO dates or two ISO datetimes with
            offsets.
        today: Today's date in the site's time zone.
        tz: The site's IANA time zone.
        first_data_day: The site's first local day with data, for `"all"`; None means today.

    Returns:
        The first and last second of the range, naive UTC.

    Raises:
        StatsQueryError: Anything else, as `#/date_range: Invalid date range <value>` with the
            value rendered as Plausible (Elixir's `inspect`) renders it.
    """
    if isinstance(value, str):
        dates = _v2_shorthand(value, today, first_data_day)
        if dates is not None:
            return utc_bounds(dates, tz)
    elif isinstance(value, list) and len(value) == 2:
        first, last = value
        if isinstance(first, str) and isinstance(last, str):
            bounds = _v2_explicit(first, last, tz)
            if bounds is not None:
                return bounds
    raise StatsQueryError(f"#/date_range: Invalid date range {inspect(value)}")


def _v2_shorthand(value: str, today: dt.date, first_data_day: dt.date | None) -> DateRange | None:
    if value == "day":
        return DateRange(today, today)
    if value == "month":
        return _month_of(today)
    if value == "year":
        return DateRange(today.replace(month=1, day=1), today.replace(month=12, day=31))
    if value == "all":
        return DateRange(min(first_data_day or today, today), today)
    match = _SHORTHAND.fullmatch(value)
    if match is None:
        return None
    # Leading zeros are fine ("07d"); cap the digits so int() never sees a huge string.
    digits = match.group(1).lstrip("0")
    count = int(digits) if 0 < len(digits) <= 4 else 0
    if match.group(2) == "d":
        return _last_n_days(today, count) if 1 <= count <= _MAX_DAYS else None
    return _last_n_months(today, count) if 1 <= count <= _MAX_MONTHS else None


def _v2_explicit(first: str, last: str, tz: str) -> tuple[dt.datetime, dt.datetime] | None:
    try:
        dates = DateRange(_iso_date(first), _iso_date(last))
    except ValueError:
        start, end = _iso_datetime(first), _iso_datetime(last)
        if start is None or end is None or start > end:
            return None
        # The range is echoed in local time; refuse instants local time cannot show.
        zone = ZoneInfo(tz)
        if _to_local(start, zone) in _CLAMPED or _to_local(end, zone) in _CLAMPED:
            return None
        return start, end
    return utc_bounds(dates, tz) if dates.days > 0 else None


def _iso_datetime(text: str) -> dt.datetime | None:
    """Parses an ISO-8601 datetime with a mandatory offset to naive UTC, whole seconds.

    Fractions are dropped, as Plausible truncates its ranges to the second.
    """
    match = _DATETIME.fullmatch(text)
    if match is None:
        return None
    day, hour, minute, second, zone, sign, off_h, off_m = match.groups()
    try:
        local = dt.datetime.combine(_iso_date(day), dt.time(int(hour), int(minute), int(second)))
    except ValueError:
        return None
    if zone == "Z":
        return local
    if int(off_h) > 23 or int(off_m) > 59:
        return None
    offset = dt.timedelta(hours=int(off_h), minutes=int(off_m))
    try:
        return local - offset if sign == "+" else local + offset
    except OverflowError:
        return None


# --- Ranges, bounds and comparison ----------------------------------------------------------


def utc_bounds(r: DateRange, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """The first and last second of a range of local dates, as naive UTC.

    Local `first 00:00:00` and `last 23:59:59` are converted with Plausible's DST rules: a start
    in a gap moves to the first instant after it, an ambiguous start takes the later instant;
    an end in a gap moves to the last second before it, an ambiguous end takes the earlier
    instant. So a repeated hour at a day boundary belongs to neither day, and a day that a zone
    skipped entirely ends one second before it starts. Bounds beyond year 1-9999 UTC are
    clamped.

    Args:
        r: The local dates.
        tz: The site's IANA time zone.

    Returns:
        Inclusive naive-UTC bounds.
    """
    zone = ZoneInfo(tz)
    start = _wall_to_utc(dt.datetime.combine(r.first, dt.time()), zone, later=True)
    end = _wall_to_utc(dt.datetime.combine(r.last, dt.time(23, 59, 59)), zone, later=False)
    return start, end


def today_in(tz: str, now_utc: dt.datetime) -> dt.date:
    """The local date in `tz` at `now_utc` (naive UTC, or aware)."""
    aware = now_utc if now_utc.tzinfo is not None else now_utc.replace(tzinfo=dt.UTC)
    return aware.astimezone(ZoneInfo(tz)).date()


def previous_period(r: DateRange, today: dt.date) -> DateRange:
    """Plausible's `previous_period` comparison range.

    The range is first cut at today (when it has started), so a month-to-date compares with
    the same number of days, not with a whole month.

    Args:
        r: The queried dates.
        today: Today's date in the site's time zone.

    Returns:
        The range of the same (cut) length that ends the day before `r.first`.
    """
    last = min(r.last, today) if r.first <= today else r.last
    length = (last - r.first).days + 1
    return DateRange(_add_days(r.first, -length), _add_days(r.first, -1))


def _last_n_days(today: dt.date, n: int) -> DateRange:
    # Today is excluded (Plausible 3.0 and later).
    return DateRange(_add_days(today, -n), _add_days(today, -1))


def _last_n_months(today: dt.date, n: int) -> DateRange:
    # Whole months; the current month is excluded.
    this_month = today.replace(day=1)
    return DateRange(_add_months(this_month, -n), _add_days(this_month, -1))


def _month_of(day: dt.date) -> DateRange:
    last_day = calendar.monthrange(day.year, day.month)[1]
    return DateRange(day.replace(day=1), day.replace(day=last_day))


def _add_days(day: dt.date, n: int) -> dt.date:
    try:
        return day + dt.timedelta(days=n)
    except OverflowError:
        return dt.date.min if n < 0 else dt.date.max


def _add_months(first_of_month: dt.date, n: int) -> dt.date:
    year, month = divmod(first_of_month.year * 12 + first_of_month.month - 1 + n, 12)
    # Callers only step back past the calendar's start, never forward past its end.
    return dt.date(year, month + 1, 1) if year >= dt.MINYEAR else dt.date.min


# --- Time zone arithmetic -------------------------------------------------------------------


def _to_local(utc: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Naive UTC to naive local wall time (clamped at the ends of the calendar)."""
    try:
        return utc.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None)
    except OverflowError:
        return dt.datetime.min if utc.year == dt.MINYEAR else dt.datetime.max


def _offset(utc: dt.datetime, zone: ZoneInfo) -> dt.timedelta | None:
    return utc.replace(tzinfo=dt.UTC).astimezone(zone).utcoffset()


def _wall_to_utc(wall: dt.datetime, zone: ZoneInfo, *, later: bool) -> dt.datetime:
    """Local wall time to naive UTC.

    `later` picks the later reading of an ambiguous time and the first instant after a gap;
    otherwise the earlier reading and the last second before the gap.
    """
    try:
        readings = sorted(
            {
                wall.replace(tzinfo=zone, fold=fold).astimezone(dt.UTC).replace(tzinfo=None)
                for fold in (0, 1)
            }
        )
        # A reading is real when it converts back to the same wall time.
        real = [utc for utc in readings if _to_local(utc, zone) == wall]
        if real:
            return real[-1] if later else real[0]
        # In a gap the two readings straddle the transition.
        transition = _first_offset_change(zone, readings[0], readings[-1])
        return transition if later else transition - _SECOND
    except OverflowError:
        return dt.datetime.min if wall.year == dt.MINYEAR else _LAST_SECOND


def _first_offset_change(zone: ZoneInfo, lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
    """The first whole second in (lo, hi] whose UTC offset differs from lo's.

    `hi` must already have a different offset; both are whole seconds.
    """
    base = _offset(lo, zone)
    while hi - lo > _SECOND:
        mid = (lo + (hi - lo) / 2).replace(microsecond=0)
        if _offset(mid, zone) == base:
            lo = mid
        else:
            hi = mid
    return hi


# --- Time buckets ---------------------------------------------------------------------------

# The longest range `fixed_offset` checks; longer ones are bucketed through the slot table.
_FIXED_OFFSET_MAX = dt.timedelta(days=400)


@functools.lru_cache(maxsize=1024)
def fixed_offset(start: dt.datetime, end: dt.datetime, tz: str) -> dt.timedelta | None:
    """The zone's UTC offset when it is one whole number of 15-minute steps all range long.

    Then a timestamp's local bucket is that of the timestamp plus the offset, as the slot
    table labels it, and a query can skip that table. None when the offset changes in the
    range (DST), is no multiple of 15 minutes, or the range (naive UTC) exceeds 400 days.
    """
    if end - start > _FIXED_OFFSET_MAX or start > end:
        return None
    zone = ZoneInfo(tz)
    try:
        offset = _offset(start, zone)
        if offset is None or offset % dt.timedelta(minutes=15) or _offset(end, zone) != offset:
            return None
        instant = start + _HOUR  # no zone changes its offset and back within an hour
        while instant < end:
            if _offset(instant, zone) != offset:
                return None
            instant += _HOUR
    except OverflowError:
        return None
    return offset


def bucket_labels(
    start: dt.datetime, end: dt.datetime, tz: str, granularity: Granularity
) -> list[str]:
    """Every bucket label of a naive-UTC inclusive range, in local time, oldest first.

    Hours a DST change repeats appear once; hours it skips do not appear. Weeks are labelled
    with their Monday, except a first week the range enters mid-week, labelled with the range's
    first local date.

    Args:
        start: First instant, naive UTC.
        end: Last instant, naive UTC.
        tz: The site's IANA time zone.
        granularity: Bucket size.

    Returns:
        Labels formatted as `bucket_label` formats them.
    """
    if start > end:
        return []
    zone = ZoneInfo(tz)
    if granularity == "hour":
        return _hour_labels(start.replace(microsecond=0), end, zone)
    first = _to_local(start, zone).date()
    last = _to_local(end, zone).date()
    if granularity == "day":
        return [_add_days(first, n).isoformat() for n in range((last - first).days + 1)]
    if granularity == "week":
        monday = _add_days(first, 7 - first.weekday())
        weeks = (last - monday).days // 7 + 1 if monday <= last else 0
        return [first.isoformat()] + [_add_days(monday, 7 * n).isoformat() for n in range(weeks)]
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    return [_month_label(_add_months(first.replace(day=1), n)) for n in range(months)]


def bucket_count(start: dt.datetime, end: dt.datetime, tz: str, granularity: Granularity) -> int:
    """How many buckets `bucket_labels` would return, computed without building them.

    An upper bound for hours (a day that repeats an hour at a DST change counts it once).
    """
    if start > end:
        return 0
    if granularity == "hour":
        return int((end - start).total_seconds() // 3600) + 2
    zone = ZoneInfo(tz)
    first = _to_local(start, zone).date()
    last = _to_local(end, zone).date()
    if granularity == "day":
        return (last - first).days + 1
    if granularity == "week":
        return (last - first).days // 7 + 2
    return (last.year - first.year) * 12 + last.month - first.month + 1


def check_bucket_count(
    start: dt.datetime, end: dt.datetime, tz: str, granularity: Granularity
) -> None:
    """Refuses a range that holds more than `MAX_TIME_BUCKETS` buckets of `granularity`.

    Checked before a query is planned: every bucket costs memory in the answer, and the
    range's 15-minute slots cost rows in the SQL that labels them.

    Raises:
        StatsQueryError: Too many buckets (400), with what to change.
    """
    count = bucket_count(start, end, tz, granularity)
    if count > MAX_TIME_BUCKETS:
        raise StatsQueryError(
            f"The date range holds {count:,} {granularity}s, more than the "
            f"{MAX_TIME_BUCKETS:,} a time series may have. Choose a shorter date range or a "
            "longer interval."
        )


def bucket_label(
    local: dt.datetime, granularity: Granularity, range_first_local_day: dt.date
) -> str:
    """The label of the bucket holding one local wall time.

    Args:
        local: The wall time in the site's zone (any tzinfo is ignored).
        granularity: Bucket size.
        range_first_local_day: The range's first local date, which labels a first week the
            range enters mid-week.

    Returns:
        `YYYY-MM-DD HH:00:00` for hours, `YYYY-MM-DD` for days and weeks, `YYYY-MM-01` for
        months.
    """
    if granularity == "hour":
        return _hour_label(local)
    day = local.date()
    if granularity == "day":
        return day.isoformat()
    if granularity == "week":
        monday = day - dt.timedelta(days=day.weekday())
        return max(monday, range_first_local_day).isoformat()
    return _month_label(day)


def _hour_labels(start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> list[str]:
    labels: list[str] = []
    instant = start
    while instant <= end:
        local = _to_local(instant, zone)
        label = _hour_label(local)
        # After clocks go back an hour's label comes round again; list it once.
        if not labels or label > labels[-1]:
            labels.append(label)
        # Step to the next local hour, or to the offset change if one comes first, so that
        # an hour that exists only in part (a 30-minute shift) is still seen.
        try:
            step = local.replace(minute=0, second=0, microsecond=0) + _HOUR - local
            following = instant + step
        except OverflowError:  # the calendar's last hour: none follows
            break
        if _offset(following, zone) != _offset(instant, zone):
            following = _first_offset_change(zone, instant, following)
        instant = following
    return labels


def _hour_label(local: dt.datetime) -> str:
    return f"{local.date().isoformat()} {local.hour:02d}:00:00"


def _month_label(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}-01"


def iso_local(dt_utc: dt.datetime, tz: str) -> str:
    """ISO 8601 in the site's zone, as v2 echoes `query.date_range`.

    `Z` for a UTC site, else the offset as `+HH:MM` (seconds of old local-mean-time offsets
    are dropped, as Elixir drops them). Sub-second digits are dropped.

    Args:
        dt_utc: The instant, naive UTC (or aware).
        tz: The site's IANA time zone.

    Returns:
        For example `2021-01-01T00:00:00Z` or `2021-01-01T00:00:00+01:00`.
    """
    aware = dt_utc if dt_utc.tzinfo is not None else dt_utc.replace(tzinfo=dt.UTC)
    local = aware.astimezone(ZoneInfo(tz))
    stamp = f"{local.date().isoformat()}T{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
    if tz in _UTC_NAMES:
        return stamp + "Z"
    offset = (local.utcoffset() or dt.timedelta()) // _SECOND
    hours, rest = divmod(abs(offset), 3600)
    return f"{stamp}{'-' if offset < 0 else '+'}{hours:02d}:{rest // 60:02d}"
