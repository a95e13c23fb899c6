"""Reading an NDJSON file into Arrow, in blocks, with every line's exact number.

The careful parser (`footfall.ingest.bulk.lines`) defines what a line means; the fast reader
(`pyarrow.json`, C++) reads a block only where it provably agrees with it:

- every line of the block starts with ``{``: no blank lines and no other JSON values (the
  fast reader skips the former and crashes on a leading ``null``), and it is valid UTF-8
  (which the fast reader does not check);
- it returns exactly one row per line, or it raised on something the careful parser must
  judge (invalid JSON or UTF-8, a repeated field, an ``interactive`` that is not a boolean).

The fast reader reads text fields as strings only, so lines holding a number, boolean, object
or array in one of them, or props that are not an object, are set aside and parsed one by
one, then put back in place; so are lines with ``NaN``, ``Inf`` or ``Infinity`` as a value,
which the fast reader accepts and strict JSON does not. Any other block is parsed line by
line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from footfall.ingest.bulk.lines import (
    RAW_SCHEMA,
    TEXT_FIELDS,
    Parsed,
    line_props,
    parse_block,
    parse_lines,
)

BLOCK_BYTES = 32 << 20
# Props are only detected here (an empty struct is valid where they are an object); the
# lines holding them are decoded one by one.
_FAST_SCHEMA = pa.schema(
    [
        *[(name, pa.string()) for name in TEXT_FIELDS],
        RAW_SCHEMA.field("interactive"),
        ("props", pa.struct([])),
    ]
)
_FAST_OPTIONS = pj.ParseOptions(explicit_schema=_FAST_SCHEMA, unexpected_field_behavior="ignore")
# A line the fast reader must not see: a text field holding another JSON type, props that are
# not an object, or NaN, Inf or Infinity as a value (rapidjson accepts them, JSON does not).
_ODD = (
    r'"(?:' + "|".join(TEXT_FIELDS) + r')"\s*:\s*[^"n\s]|"props"\s*:\s*[^{n\s]'
    r"|[:,\[]\s*-?(?:NaN|Inf)"
)
_UTF8_BOM = b"\xef\xbb\xbf"

Ints = npt.NDArray[np.int64]


@dataclass(slots=True)
class Block:
    """Some consecutive lines of the file, parsed.

    Attributes:
        parsed: The lines that are JSON objects, those that are not, the count of non-blank
            lines.
        fast: Whether the fast reader read it.
    """

    parsed: Parsed
    fast: bool


def read_blocks(path: Path, *, block_bytes: int = BLOCK_BYTES) -> Iterator[Block]:
    """Reads an NDJSON file block by block, in file order.

    Args:
        path: The file.
        block_bytes: About how much is read at a time (a longer line makes a longer block).
    """
    first_line = 1
    for data in _blocks(path, block_bytes):
        ends = _line_ends(data)
        parsed = _read_fast(data, ends, first_line)
        fast = parsed is not None
        if parsed is None:
            parsed = parse_block(data, first_line)
        yield Block(parsed, fast)
        first_line += len(ends)


@dataclass(slots=True)
class ReadResult:
    """All lines of a file that are JSON objects, and what became of the others."""

    table: pa.Table
    # Line numbers of the lines that are not JSON objects.
    rejected: list[int] = field(default_factory=list)
    # Lines that are not blank (blank lines are skipped but keep their numbers).
    lines: int = 0
    # Whether the fast reader read every block.
    fast: bool = True


def read_ndjson(path: Path, *, block_bytes: int = BLOCK_BYTES) -> ReadResult:
    """Reads a whole NDJSON file at once (`read_blocks`, collected).

    Args:
        path: The file.
        block_bytes: About how much is read at a time.

    Returns:
        The parsed lines in `footfall.ingest.bulk.lines.RAW_SCHEMA`, in file order.
    """
    result = ReadResult(table=RAW_SCHEMA.empty_table())
    tables: list[pa.Table] = []
    for block in read_blocks(path, block_bytes=block_bytes):
        tables.append(block.parsed.table)
        result.rejected.extend(block.parsed.rejected)
        result.lines += block.parsed.counted
        result.fast = result.fast and block.fast
    if tables:
        result.table = pa.concat_tables(tables)
    return result


def _blocks(path: Path, block_bytes: int) -> Iterator[bytearray]:
    """Whole lines of the file, about `block_bytes` at a time (without a leading BOM).

    Each block is a new buffer, read into directly: Arrow may keep referring to it.
    """
    carry = b""
    with path.open("rb") as handle:
        first = True
        while True:
            block = bytearray(max(block_bytes, 2 * len(carry)))
            block[: len(carry)] = carry
            size = len(carry) + handle.readinto(memoryview(block)[len(carry) :])
            if size == len(carry):
                break
            del block[size:]
            if first and block.startswith(_UTF8_BOM):
                del block[: len(_UTF8_BOM)]
            first = False
            cut = block.rfind(b"\n") + 1
            carry = bytes(block[cut:])
            if cut:
                del block[cut:]
                yield block
    if carry:
        yield bytearray(carry)


def _read_fast(data: bytearray, ends: Ints, first_line: int) -> Parsed | None:
    """The block read by the fast reader, or None when the careful parser must read it.

    Args:
        data: Whole lines.
        ends: The offset just past each line.
        first_line: The number of the first line.
    """
    count = len(ends)
    starts = np.concatenate(([0], ends[:-1]))
    if not count or not (np.frombuffer(data, np.uint8)[starts] == ord("{")).all():
        return None
    if not _is_utf8(data):
        return None
    # NaN and Inf anywhere (inside strings too, as in "Infinix") mean a closer look first.
    whole = b"NaN" not in data and b"Inf" not in data
    if whole:
        table = _json(data, count)
        if table is not None:
            numbers = np.arange(first_line, first_line + count, dtype=np.int64)
            complete = _complete(table, data, starts, ends, numbers)
            return None if complete is None else Parsed(complete, [], count)
    lines = pa.LargeStringArray.from_buffers(
        count, pa.py_buffer(np.concatenate(([0], ends))), pa.py_buffer(data)
    )
    odd = np.asarray(pc.match_substring_regex(lines, _ODD).to_numpy(zero_copy_only=False))
    if whole and not odd.any():
        return None  # it failed on something only the careful parser may judge
    # The other lines again, without the odd ones, which are parsed one by one.
    kept = np.flatnonzero(~odd)
    lengths = ends[kept] - starts[kept]
    rest = data if len(kept) == count else _lines_of(data, kept, starts, ends)
    table = _json(rest, len(kept)) if len(kept) else _FAST_SCHEMA.empty_table()
    if table is None:
        return None
    rest_ends = np.cumsum(lengths)
    fast = _complete(table, rest, rest_ends - lengths, rest_ends, first_line + kept)
    if fast is None:
        return None
    others = parse_lines(
        (first_line + i, bytes(data[starts[i] : ends[i]])) for i in np.flatnonzero(odd).tolist()
    )
    return Parsed(pa.concat_tables([fast, others.table]).sort_by("line"), others.rejected, count)


def _is_utf8(data: bytearray) -> bool:
    """Whether the block is valid UTF-8 (the fast reader does not check)."""
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _json(data: bytearray, count: int) -> pa.Table | None:
    """`pyarrow.json` on whole lines; None unless it made exactly one row of each."""
    try:
        table = pj.read_json(pa.BufferReader(pa.py_buffer(data)), parse_options=_FAST_OPTIONS)
    except (pa.ArrowException, ValueError):
        # Invalid JSON (the error message may quote bytes cut mid-character, which raises
        # UnicodeDecodeError), a field of another type, a repeated field.
        return None
    return table if table.num_rows == count else None


def _line_ends(data: bytearray) -> Ints:
    """The offset just past each line (its newline, or the end of the data)."""
    ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 0x0A) + 1
    if data and not data.endswith(b"\n"):
        ends = np.append(ends, len(data))
    return ends.astype(np.int64)


def _lines_of(data: bytearray, rows: Ints, starts: Ints, ends: Ints) -> bytearray:
    """Some of the block's lines, copied run by run of consecutive lines."""
    if not len(rows):
        return bytearray()
    breaks = np.flatnonzero(np.diff(rows) != 1)
    firsts = rows[np.concatenate(([0], breaks + 1))]
    lasts = rows[np.append(breaks, len(rows) - 1)]
    view = memoryview(data)
    spans = zip(starts[firsts].tolist(), ends[lasts].tolist(), strict=True)
    return bytearray().join(view[start:end] for start, end in spans)


def _complete(
    table: pa.Table, data: bytearray, starts: Ints, ends: Ints, numbers: Ints
) -> pa.Table | None:
    """The fast reader's rows in `RAW_SCHEMA`: line numbers added, props decoded.

    None if a line holding props does not decode after all: the careful parser must judge.

    Args:
        table: The fast reader's rows of `data`, one per line.
        data: The lines it read.
        starts: Where each line starts in `data`.
        ends: Where each line ends in `data`.
        numbers: Their line numbers.
    """
    count = table.num_rows
    holding = np.flatnonzero(
        np.asarray(table["props"].is_valid().to_numpy(zero_copy_only=False), np.bool_)
    )
    if len(holding):
        spans = zip(starts[holding].tolist(), ends[holding].tolist(), strict=True)
        found = line_props(bytes(data[start:end]) for start, end in spans)
        if found is None:
            return None
        positions = np.full(count, -1, dtype=np.int64)
        positions[holding] = np.arange(len(holding))
        props = pa.array(found, pa.string()).take(pa.array(positions, mask=positions < 0))
    else:
        props = pa.nulls(count, pa.string())
    columns = [pa.array(numbers, pa.int64()), *table.columns[: len(TEXT_FIELDS) + 1], props]
    return pa.Table.from_arrays(columns, schema=RAW_SCHEMA)
