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
    # One array: each chunk has fixed costs, and the column is small (about 20 bytes a row).
    # 64-bit offsets: a column of many millions of rows may pass 2 GiB.
    text = values.cast(pa.large_string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    if not len(text):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.bool_)
    return _parse_column(text)


def _parse_column(text: pa.LargeStringArray) -> tuple[Ints, npt.NDArray[np.bool_]]:
    count = len(text)
    seconds = np.zeros(count, dtype=np.int64)
    valid = np.zeros(count, dtype=np.bool_)
    offsets = np.frombuffer(text.buffers()[1], np.int64)[text.offset : text.offset + count + 1]
    canonical = np.diff(offsets) == len(_CANONICAL)
    if text.null_count:
        canonical &= np.asarray(text.is_valid().to_numpy(zero_copy_only=False), np.bool_)
    rows = np.flatnonzero(canonical)
    if len(rows):
        # Values of the canonical width, side by side: a matrix of bytes, one row per value.
        same_width = text if len(rows) == count else text.filter(pa.array(canonical))
        found, ok, shaped = _parse_canonical(same_width)
        seconds[rows], valid[rows] = found, ok
        canonical[rows] = shaped
    rest = np.flatnonzero(~canonical & np.asarray(text.is_valid().to_numpy(zero_copy_only=False)))
    if len(rest):
        seconds[rest], valid[rest] = _parse_general(text.take(pa.array(rest)))
    return seconds, valid


def _parse_canonical(
    text: pa.LargeStringArray,
) -> tuple[Ints, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Values that are all as wide as the canonical form.

    Returns:
        Their seconds, whether each is a valid date-time, and whether each had the canonical
        shape at all (the others must go through the general pattern).
    """
    width = len(_CANONICAL)
    start = int(np.frombuffer(text.buffers()[1], np.int64)[text.offset])
    data = np.frombuffer(text.buffers()[2], np.uint8)
    matrix = data[start : start + width * len(text)].reshape(-1, width)
    # Bytes below "0" wrap around to large values: one comparison tells digits apart.
    digits = matrix[:, _DIGITS] - np.uint8(ord("0"))
    shaped: npt.NDArray[np.bool_] = np.all(digits < 10, axis=1)
    for column, allowed in _SEPARATORS.items():
        shaped &= np.isin(matrix[:, column], np.frombuffer(allowed, np.uint8))
    # Two digits per field (the year has two such pairs).
    number = digits[:, 0::2].astype(np.int64) * 10 + digits[:, 1::2]
    found, ok = _combine(
        year=number[:, 0] * 100 + number[:, 1],
        month=number[:, 2],
        day=number[:, 3],
        hour=number[:, 4],
        minute=number[:, 5],
        second=number[:, 6],
        offset=np.zeros(len(text), dtype=np.int64),
        offset_ok=np.ones(len(text), dtype=np.bool_),
    )
    return found, ok & shaped, shaped


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
