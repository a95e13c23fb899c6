"""Checks on import lines, with the messages `footfall import` has always reported.

A line is rejected for the first of its problems in this order: timestamp, name, url, props.
Props are cleaned by the live pipeline's own `parse_props`, once per distinct props text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from footfall.ingest.bulk.distinct import Vocabulary
from footfall.ingest.bulk.timestamps import parse_timestamps
from footfall.ingest.request import MAX_NAME_CHARS, MAX_URL_BYTES, PROPS_ERROR, parse_props

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

# The reasons, by code (0 = valid).
MESSAGES: tuple[str, ...] = (
    "",
    "timestamp is required",
    "timestamp is not an ISO-8601 date-time",
    # Historical events only: a future one would count as a current visitor.
    "timestamp is more than a day in the future",
    "name is required",
    f"name should be at most {MAX_NAME_CHARS} characters",
    "url is required",
    "url must be a valid url",
    "url scheme is not allowed",
    f"props: {PROPS_ERROR}",
)
_LIST = pa.list_(pa.string())


class PropsBook:
    """Props cleaned by the live pipeline's `parse_props`, once per distinct props text.

    Code 0 stands for no props; each new text gets the next code as blocks come.
    """

    def __init__(self) -> None:
        self._texts: Vocabulary[str] = Vocabulary()
        self._keys: list[list[str]] = [[]]
        self._values: list[list[str]] = [[]]
        self._too_long: list[bool] = [False]

    def codes(self, texts: pa.Array | pa.ChunkedArray) -> Ints:
        """The code of each line's props (props as JSON text, null when absent)."""
        codes = self._texts.codes(texts) + 1
        for text in self._texts.values[len(self._keys) - 1 :]:
            props, too_long = parse_props(orjson.loads(text))
            self._keys.append([k for k, _ in props])
            self._values.append([v for _, v in props])
            self._too_long.append(too_long)
        return codes

    def too_long(self, codes: Ints) -> Bools:
        """Whether a key or value of each of these props is over the limit."""
        result: Bools = np.array(self._too_long, dtype=np.bool_)[codes]
        return result

    def lists(self) -> tuple[pa.Array, pa.Array]:
        """Keys and values of every props entry, by code."""
        return pa.array(self._keys, _LIST), pa.array(self._values, _LIST)


@dataclass(frozen=True, slots=True)
class Checked:
    """The lines that passed, and the numbers and reasons of those that did not."""

    # The passing lines as read (`RAW_SCHEMA`), and their parsed values.
    table: pa.Table
    lines: Ints
    seconds: Ints
    interactive: Bools
    # Codes into the import's `PropsBook`.
    props: Ints
    rejected_lines: Ints
    rejected_reasons: list[str]


def check(table: pa.Table, *, now: dt.datetime, props: PropsBook) -> Checked:
    """Validates parsed lines.

    Args:
        table: Lines in `footfall.ingest.bulk.lines.RAW_SCHEMA`.
        now: The current time (aware); timestamps more than a day later are refused.
        props: The import's props, which cleans the props of these lines.
    """
    lines = _numpy(table["line"]).astype(np.int64)
    seconds, parsed = parse_timestamps(table["timestamp"])
    name, url = table["name"], table["url"]
    props_codes = props.codes(table["props"])
    # np.select takes the first condition that holds: the order of the messages.
    reason = np.select(
        [
            _flags(pc.is_null(table["timestamp"])),
            ~parsed,
            seconds > int(now.timestamp()) + 86400,
            _flags(pc.or_kleene(pc.is_null(name), pc.equal(name, ""))),
            _flags(pc.greater(pc.utf8_length(name), MAX_NAME_CHARS)),
            _flags(pc.is_null(url)),
            _flags(pc.greater(pc.binary_length(url), MAX_URL_BYTES)),
            _flags(pc.equal(pc.utf8_lower(pc.utf8_slice_codeunits(url, 0, 5)), "data:")),
            props.too_long(props_codes),
        ],
        np.arange(1, len(MESSAGES)),
        0,
    )
    good = reason == 0
    interactive = _flags(table["interactive"].fill_null(True))
    if not good.all():
        table = table.filter(pa.array(good))
    rows = np.flatnonzero(good)
    return Checked(
        table=table,
        lines=lines[rows],
        seconds=seconds[rows],
        interactive=interactive[rows],
        props=props_codes[rows],
        rejected_lines=lines[~good],
        rejected_reasons=[MESSAGES[code] for code in reason[~good].tolist()],
    )


def _numpy(column: pa.Array | pa.ChunkedArray) -> npt.NDArray[Any]:
    return np.asarray(column.to_numpy(zero_copy_only=False))


def _flags(condition: pa.Array | pa.ChunkedArray) -> Bools:
    """A condition over lines; null (a missing field) does not hold."""
    return np.asarray(pc.fill_null(condition, False).to_numpy(zero_copy_only=False), np.bool_)
