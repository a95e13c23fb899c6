"""How numbers read on the pages: compact counts, durations, percentages, changes, plurals."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from footfall.text.quantities import noun, plural
from footfall.web.pages.charts import compact_number, format_number

_MINUS = "\u2212"


def compact(value: Any) -> str:
    """``987``, ``9,876``, ``12.3k``, ``4.6M``: short enough for a panel column."""
    if value is None:
        return "-"
    number = float(value)
    if not math.isfinite(number):
        return "-"
    return format_number(number) if abs(number) < 10_000 else compact_number(number)


def duration(seconds: Any) -> str:
    """``45s``, ``3m 05s``, ``1h 02m``."""
    if seconds is None:
        return "-"
    total = round(float(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def percent(value: Any) -> str:
    """``52%``; one decimal below 10 %."""
    if value is None:
        return "-"
    number = float(value)
    return f"{number:.1f}%" if 0 < abs(number) < 10 and number != int(number) else f"{number:.0f}%"


def metric_value(metric: str, value: Any) -> str:
    """A top-stat value in the unit of its metric."""
    if metric in ("visit_duration", "time_on_page"):
        return duration(value)
    if metric in ("bounce_rate", "conversion_rate", "exit_rate"):
        return percent(value)
    if metric == "views_per_visit":
        return "-" if value is None else f"{float(value):.2f}"
    return compact(value)


def change(value: Any) -> str:
    """``+12%``, ``-5%`` (with a true minus sign), ``0%``; empty when nothing to compare."""
    if value is None or not isinstance(value, int | float):
        return ""
    if value > 0:
        return f"+{value:g}%"
    if value < 0:
        return f"{_MINUS}{abs(value):g}%"
    return "0%"


def bucket(label: str) -> str:
    """A time bucket as people read it: ``14:00``, ``Mon 3 Nov``, ``Nov 2026``.

    Bucket labels come from the Stats API: ``2026-11-03 14:00:00`` for hours, ``2026-11-03``
    for days, weeks and months (months start on the 1st, shown as the month).
    """
    try:
        if " " in label:
            return dt.datetime.fromisoformat(label).strftime("%H:%M")
        day = dt.date.fromisoformat(label)
    except ValueError:
        return label
    return f"{day:%a} {day.day} {day:%b}"


def month(label: str) -> str:
    """A month bucket (``2026-11-01``) as ``Nov 2026``."""
    try:
        return f"{dt.date.fromisoformat(label):%b %Y}"
    except ValueError:
        return label


# The word after a value in the graph's tooltips ("" for rates, durations and ratios).
_UNITS = {
    "visitors": "visitors",
    "visits": "visits",
    "pageviews": "pageviews",
    "events": "conversions",
}


def chart_formats(metric: str) -> tuple[Callable[[float], str], Callable[[float], str], str]:
    """How the graph writes values of `metric`: (tooltip value, axis tick, unit word)."""
    if metric in ("visitors", "visits", "pageviews", "events"):
        return format_number, compact_number, _UNITS[metric]

    def value(number: float) -> str:
        return metric_value(metric, number)

    return value, value, ""


FILTERS = {
    "compact": compact,
    "duration": duration,
    "percent": percent,
    "metric_value": metric_value,
    "change": change,
    # ``{{ n|plural("visitor") }}`` -> ``1 visitor``; ``{{ n|noun("visitor") }}`` -> ``visitor``
    "plural": plural,
    "noun": noun,
}
