"""ISO-8601 date-times of import lines, parsed column-wise, against a reference in Python."""

from __future__ import annotations

import datetime as dt
import re

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.ingest.bulk.timestamps import parse_timestamps

_REFERENCE = re.compile(
    r"[ \t\n\r\f\v]*(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:[Zz]|([+-])(\d{2})(?::?(\d{2}))?)?)?"
    r"[ \t\n\r\f\v]*",
    re.ASCII,
)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _reference(text: str | None) -> int | None:
    """Seconds since the epoch, or None: the accepted grammar, one value at a time."""
    found = _REFERENCE.fullmatch(text or "x")
    if found is None:
        return None
    y, mo, d, h, mi, s, sign, oh, om = found.groups()
    if int(oh or 0) > 23 or int(om or 0) > 59:
        return None
    offset = dt.timedelta(hours=int(oh or 0), minutes=int(om or 0)) * (-1 if sign == "-" else 1)
    try:
        when = dt.datetime(
            int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), tzinfo=dt.UTC
        )
        return int(((when - offset) - EPOCH).total_seconds())
    except (ValueError, OverflowError):  # not a calendar date, or before year 1
        return None


def _parse(values: list[str | None]) -> list[int | None]:
    seconds, valid = parse_timestamps(pa.array(values, pa.string()))
    return [int(s) if ok else None for s, ok in zip(seconds, valid, strict=True)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01T12:00:00Z", "2026-11-01 12:00:00"),
        ("2026-11-01t12:00:00z", "2026-11-01 12:00:00"),
        ("2026-11-01T12:00:00+02:00", "2026-11-01 10:00:00"),
        ("2026-11-01T12:00:00-0530", "2026-11-01 17:30:00"),
        ("2026-11-01T12:00:00+02", "2026-11-01 10:00:00"),
        ("2026-11-01 12:00:00", "2026-11-01 12:00:00"),  # no offset: UTC
        ("2026-11-01T12:00Z", "2026-11-01 12:00:00"),
        ("2026-11-01", "2026-11-01 00:00:00"),
        ("2026-11-01T12:00:00.999999999Z", "2026-11-01 12:00:00"),  # the fraction is dropped
        (" 2026-11-01T12:00:00Z ", "2026-11-01 12:00:00"),
        ("2024-02-29T00:00:00Z", "2024-02-29 00:00:00"),
        ("0001-01-01T00:00:00Z", "0001-01-01 00:00:00"),
        ("2026-02-29T00:00:00Z", None),
        ("2026-11-01T24:00:00Z", None),
        ("2026-11-01T23:59:60Z", None),
        ("2026-11-01T12Z", None),
        ("2026-1-1T00:00:00Z", None),
        ("20261101T120000Z", None),
        ("2026-11-01T12:00:00 +02:00", None),
        ("2026-11-01T12:00:00+24:00", None),
        ("0001-01-01T00:00:00+01:00", None),  # before year 1 in UTC
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_examples(text: str | None, expected: str | None) -> None:
    want = (
        None
        if expected is None
        else int(dt.datetime.fromisoformat(expected + "+00:00").timestamp())
    )
    assert _parse([text]) == [want]


_FORMATS = [
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%MZ",
    "%Y-%m-%d",
]


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.tuples(
                st.datetimes(
                    min_value=dt.datetime(1, 1, 2),
                    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-7))]),
                ),
                st.sampled_from(_FORMATS),
            ).map(lambda pair: pair[0].strftime(pair[1]).rjust(4, "0")),
            st.text(alphabet="0123456789-:TZz +.\t", max_size=30),
            st.text(max_size=25),
            st.none(),
        ),
        max_size=40,
    )
)
def test_columns_agree_with_the_reference(values: list[str | None]) -> None:
    # Both code paths (the canonical form as a byte matrix, the rest by pattern) in one column.
    assert _parse(values) == [_reference(v) for v in values]
