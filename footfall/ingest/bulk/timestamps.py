"""ISO-8601 date-times of import lines, parsed for a whole column at once.

Accepted: ``YYYY-MM-DD``, optionally followed by ``T`` (or ``t`` or a space) and ``hh:mm``,
``hh:mm:ss`` or ``hh:mm:ss.fraction``, then optionally ``Z`` or an offset ``±hh``,
``±hhmm`` or ``±hh:mm``; spaces around it are ignored. A date-time without an offset is UTC.
The fraction is dropped: events are stored in whole seconds, as live ones are.

The canonical form ``2026-11-01T10:00:00Z`` is parsed as a matrix of bytes; every other
form goes through one regular expression. Both apply the same checks (real calendar dates,
hours 0-23, minutes and seconds 0-59, not before year 1 in UTC).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

_PATTERN = (
    r"^\s*(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:[Tt ](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?"
    r"(?:[Zz]|(?P<sign>[+-])(?P<oh>\d{2})(?::?(?P<om>\d{2}))?)?)?\s*$"
)
_CANONICAL = b"0000-00-00T00:00:00Z"
_DIGITS = np.array([c == ord("0") for c in _CANONICAL])
_SEPARATORS = {4: b"-", 7: b"-", 10: b"Tt ", 13: b":", 16: b":", 19: b"Zz"}
_YEAR_ONE = -62135596800  # 0001-01-01T00:00:00Z
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])

Ints = npt.NDArray[np.int64]


def parse_timestamps(values: pa.Array | pa.ChunkedArray) -> tuple[Ints, npt.NDArray[np.bool_]]:
    """Parses a column of date-time texts.

    Args:
        values: Strings; nulls are not date-times.

    Returns:
        Seconds since 1970-01-01 UTC (0 where invalid), and which values are valid.
    """
    text = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    text = text.cast(pa.large_string())
    count = len(text)
    seconds = np.zeros(count, dtype=np.int64)
    valid = np.zeros(count, dtype=np.bool_)
    canonical = _parse_canonical(text, seconds, valid)
    rest = np.flatnonzero(~canonical & ~np.asarray(text.is_null().to_numpy(zero_copy_only=False)))
    if len(rest):
        found, ok = _parse_general(text.take(pa.array(rest)))
        seconds[rest] = found
        valid[rest] = ok
    return seconds, valid


def _parse_canonical(
    text: pa.LargeStringArray, seconds: Ints, valid: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Fills in the values in canonical form; returns which values were in it."""
    width = len(_CANONICAL)
    offsets = np.frombuffer(text.buffers()[1], np.int64)[text.offset : text.offset + len(text) + 1]
    data = text.buffers()[2]
    raw = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    rows = np.flatnonzero(np.diff(offsets) == width)
    if text.null_count:
        rows = rows[np.asarray(text.is_valid().to_numpy(zero_copy_only=False))[rows]]
    if not len(rows):
        return np.zeros(len(text), dtype=np.bool_)
    matrix = raw[offsets[rows, None] + np.arange(width)]
    digits = matrix[:, _DIGITS] - ord("0")
    shaped = (digits < 10).all(axis=1)
    for column, allowed in _SEPARATORS.items():
        shaped &= np.isin(matrix[:, column], np.frombuffer(allowed, np.uint8))
    rows, digits = rows[shaped], digits[shaped].astype(np.int64)
    number = digits[:, 0::2] * 10 + digits[:, 1::2]  # two digits per field; the year has two
    found, ok = _combine(
        year=number[:, 0] * 100 + number[:, 1],
        month=number[:, 2],
        day=number[:, 3],
        hour=number[:, 4],
        minute=number[:, 5],
        second=number[:, 6],
        offset=np.zeros(len(rows), dtype=np.int64),
        offset_ok=np.ones(len(rows), dtype=np.bool_),
    )
    seconds[rows] = found
    valid[rows] = ok
    canonical = np.zeros(len(text), dtype=np.bool_)
    canonical[rows] = True
    return canonical


def _parse_general(text: pa.Array) -> tuple[Ints, npt.NDArray[np.bool_]]:
    parts = pc.extract_regex(text, _PATTERN)
    matched = np.asarray(parts.is_valid().to_numpy(zero_copy_only=False))

    def number(name: str) -> Ints:
        # An optional group that did not take part is "": it counts as 0.
        digits = pc.if_else(pc.equal(parts.field(name), ""), "0", parts.field(name))
        values = pc.fill_null(pc.cast(digits, pa.int64()), 0)
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)

    no_offset = np.asarray(
        pc.fill_null(pc.equal(parts.field("oh"), ""), True).to_numpy(zero_copy_only=False)
    )
    hours, minutes = number("oh"), number("om")
    sign = np.where(np.asarray(pc.equal(parts.field("sign"), "-").fill_null(False)), -1, 1)
    found, ok = _combine(
        year=number("y"),
        month=number("mo"),
        day=number("d"),
        hour=number("h"),
        minute=number("mi"),
        second=number("s"),
        offset=sign * (hours * 3600 + minutes * 60),
        offset_ok=no_offset | ((hours < 24) & (minutes < 60)),
    )
    return found, ok & matched


def _combine(
    *,
    year: Ints,
    month: Ints,
    day: Ints,
    hour: Ints,
    minute: Ints,
    second: Ints,
    offset: Ints,
    offset_ok: npt.NDArray[np.bool_],
) -> tuple[Ints, npt.NDArray[np.bool_]]:
    """Seconds since the epoch from calendar fields, and which fields make a real time."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    longest = _DAYS_IN_MONTH[np.where(month_ok, month, 1)] + ((month == 2) & leap)
    ok = (
        (year >= 1)
        & month_ok
        & (day >= 1)
        & (day <= longest)
        & (hour < 24)
        & (minute < 60)
        & (second < 60)
        & offset_ok
    )
    days = _days_from_civil(year, np.where(month_ok, month, 1), day)
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset
    # An offset must not carry a time before year 1, which no reader could represent.
    return seconds, ok & (seconds >= _YEAR_ONE)


def _days_from_civil(year: Ints, month: Ints, day: Ints) -> Ints:
    """Days since 1970-01-01 of proleptic Gregorian dates (Howard Hinnant's algorithm)."""
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    result: Ints = era * 146097 + doe - 719468
    return result
