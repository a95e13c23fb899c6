"""The fields of an import line, and the careful parser that reads one line at a time.

Every reader produces the same columns (`RAW_SCHEMA`): the line number, the text fields, the
`interactive` flag and the props as JSON text. The careful parser is the reference for what a
line means; the fast reader only handles files on which it provably agrees with it
(`footfall.ingest.bulk.reading`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa

# Fields read as text. A number, boolean, object or array in one of them is taken as its JSON
# text (a name of 404 is "404"); null is absent.
TEXT_FIELDS: tuple[str, ...] = (
    "timestamp",
    "name",
    "url",
    "referrer",
    "user_agent",
    "ip",
    "visitor_id",
)
RAW_SCHEMA = pa.schema(
    [
        ("line", pa.int64()),
        *[(name, pa.string()) for name in TEXT_FIELDS],
        # Only a JSON boolean counts, as for live events; anything else leaves it unset (true).
        ("interactive", pa.bool_()),
        # The props value as JSON text, reduced to what `parse_props` reads (None when absent).
        ("props", pa.string()),
    ]
)
NOT_AN_OBJECT = "not a JSON object"


def split_lines(data: bytes | bytearray) -> list[bytes]:
    """The lines of a block that ends at a line boundary (a last line may lack its newline)."""
    lines = bytes(data).split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    return lines


def is_blank(line: bytes) -> bool:
    """A line of spaces only (after a Windows line end is removed) is skipped and not counted."""
    return not line.rstrip(b"\r").strip(b" ")


def decode_line(line: bytes) -> Any:
    """The JSON value of one line, or None when it is not valid JSON.

    A line that is not valid UTF-8 is read with U+FFFD in place of the bad bytes, so that one
    stray byte in a referrer does not lose the event.
    """
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return orjson.loads(line.decode("utf-8", errors="replace"))
        except orjson.JSONDecodeError:
            return None
    return None


def _exact_numbers(line: bytes, value: dict[str, Any]) -> dict[str, Any]:
    """The line decoded again keeping integers beyond 64 bits exact (orjson makes them floats).

    A visitor id like 23941682246825742958592 must stay those digits, not 2.39e+22.
    """
    try:
        exact = json.loads(line)
    except (ValueError, RecursionError):
        return value
    return exact if isinstance(exact, dict) else value


def json_text(value: Any) -> str | None:
    """The text a field holds: strings as they are, other JSON values as compact JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    try:
        # Integers as Python writes them: JSON allows any length, the encoder only 64 bits.
        return str(value) if isinstance(value, int) else orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, ValueError):
        # Nested deeper than the encoder goes, or too many digits to write: no field can use
        # such a value.
        return None


def props_text(value: Any) -> str | None:
    """Props as JSON text, reduced to what `footfall.ingest.request.parse_props` reads.

    It reads a JSON object's entries with scalar values, or a string holding such an object;
    nested objects and arrays are skipped there, so they are dropped here (which also bounds
    the text and its nesting).
    """
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if not isinstance(v, dict | list)}
    elif not isinstance(value, str):
        return None  # absent, null, or a value that holds no props
    return orjson.dumps(value).decode()


@dataclass(slots=True)
class Parsed:
    """Lines parsed one at a time."""

    table: pa.Table
    # Numbers of the lines that are not JSON objects.
    rejected: list[int]
    # Lines that were not blank.
    counted: int


def parse_lines(numbered: Iterable[tuple[int, bytes]]) -> Parsed:
    """Parses lines one at a time.

    Args:
        numbered: (line number, line) pairs.

    Returns:
        The JSON objects among them in `RAW_SCHEMA`, and the numbers of the other lines.
    """
    columns: dict[str, list[Any]] = {name: [] for name in RAW_SCHEMA.names}
    rejected: list[int] = []
    counted = 0
    for number, line in numbered:
        if is_blank(line):
            continue
        counted += 1
        value = decode_line(line)
        if not isinstance(value, dict):
            rejected.append(number)
            continue
        if any(isinstance(value.get(name), float) for name in TEXT_FIELDS):
            value = _exact_numbers(line, value)
        columns["line"].append(number)
        for name in TEXT_FIELDS:
            columns[name].append(json_text(value.get(name)))
        interactive = value.get("interactive")
        columns["interactive"].append(interactive if isinstance(interactive, bool) else None)
        columns["props"].append(props_text(value.get("props")))
    return Parsed(pa.table(columns, schema=RAW_SCHEMA), rejected, counted)


def parse_block(data: bytes | bytearray, first_line: int) -> Parsed:
    """Parses a block of whole lines one at a time; `first_line` is its first line's number."""
    return parse_lines(enumerate(split_lines(data), start=first_line))


def line_props(lines: Iterable[bytes]) -> list[str | None] | None:
    """The props text of each of these lines, or None if one of them is not a JSON object."""
    found = []
    for line in lines:
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(value, dict):
            return None
        found.append(props_text(value.get("props")))
    return found
