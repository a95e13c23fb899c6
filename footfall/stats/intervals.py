"""The bucket sizes Plausible's dashboard graph offers for each period, and the one v2 picks.

The public Stats API v1 accepts only `day` and `month` intervals; Plausible's own dashboard also
offers hours and weeks where they fit the period (``lib/plausible/stats/interval.ex``,
``valid_by_period``). footfall offers the same, without `minute`: its time buckets are built
from 15-minute slots.
"""

from __future__ import annotations

import datetime as dt

from footfall.stats.model import Granularity
from footfall.stats.periods import DateRange, v1_interval

_CHOICES: dict[str, tuple[Granularity, ...]] = {
    "day": ("hour",),
    "7d": ("hour", "day"),
    "30d": ("day", "week"),
    "month": ("day", "week"),
    "6mo": ("day", "week", "month"),
    "12mo": ("day", "week", "month"),
    "custom": ("day", "week", "month"),
}


def _whole_months(date_range: DateRange) -> int:
    start, end = date_range.first, date_range.last
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - 1 if end.day < start.day else months


def dashboard_intervals(period: str | None, date_range: DateRange) -> tuple[Granularity, ...]:
    """The bucket sizes the dashboard's graph offers for a period, smallest first.

    A custom range of more than twelve whole months loses daily buckets, as in Plausible.

    Args:
        period: The v1 `period` (absent means `30d`).
        date_range: The dates the period resolved to.

    Raises:
        StatsQueryError: An unknown period, with the Stats API's message.
    """
    v1_interval(period, None)  # validates the period
    choices = _CHOICES[period or "30d"]
    if period == "custom" and _whole_months(date_range) > 12:
        choices = ("week", "month")
    return choices


def dashboard_interval(
    period: str | None, interval: str | None, date_range: DateRange
) -> Granularity:
    """The graph's bucket size: `interval` when the period offers it, else the default.

    The default is the Stats API's (hour for `day`, month for `6mo` and `12mo`, day otherwise),
    or the coarsest bucket offered when the period does not offer that one.
    """
    choices = dashboard_intervals(period, date_range)
    for choice in choices:
        if choice == interval:
            return choice
    default = v1_interval(period, None)
    return default if default in choices else choices[-1]


def auto_granularity(start: dt.datetime, end: dt.datetime) -> Granularity:
    """The bucket size Plausible picks for the v2 `time` dimension.

    Spans are measured in whole elapsed units, as Plausible does: up to 48 whole hours is
    hourly (so 48 h 59 min still is), up to 40 whole days daily, up to 52 whole weeks weekly.
    """
    seconds = (end - start) // dt.timedelta(seconds=1)
    if seconds // 3600 <= 48:
        return "hour"
    if seconds // 86400 <= 40:
        return "day"
    if seconds // (7 * 86400) <= 52:
        return "week"
    return "month"
