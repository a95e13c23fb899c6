"""Columns as codes into their distinct values: Python runs once per distinct value.

Import data repeats itself: a month of traffic has millions of events but only thousands of
distinct URLs and User-Agents. Each column is dictionary-encoded; the live pipeline's own
functions run on the distinct values; their results are spread back over the rows by code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

T = TypeVar("T")
R = TypeVar("R")
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Encoded(Generic[T]):
    """A column as a code per row into its distinct values (first appearance order)."""

    codes: Ints
    values: list[T]

    def map(self, function: Callable[[T], R]) -> list[R]:
        """`function` applied once per distinct value."""
        return [function(value) for value in self.values]


def encode(column: pa.Array | pa.ChunkedArray, *, null: Any = None) -> Encoded[Any]:
    """Dictionary-encodes a column.

    Args:
        column: Any column.
        null: The value nulls stand for; when None, nulls get the code -1.
    """
    chunks = pa.chunked_array([column]) if isinstance(column, pa.Array) else column
    if null is None:
        encoded = chunks.dictionary_encode()
    else:
        # Nulls get a code of their own, which stands for `null` (no copy of the column).
        encoded = chunks.dictionary_encode(null_encoding="encode")
    parts = [chunk.indices for chunk in encoded.chunks]
    if not parts:
        return Encoded(np.zeros(0, dtype=np.int64), [])
    # Arrow gives every chunk the one dictionary it built over all of them.
    dictionary = encoded.chunks[-1].dictionary
    if not all(chunk.dictionary.equals(dictionary) for chunk in encoded.chunks):
        encoded = pa.table({"column": encoded}).unify_dictionaries()["column"]
        parts = [chunk.indices for chunk in encoded.chunks]
        dictionary = encoded.chunks[-1].dictionary
    values = dictionary.to_pylist()
    if null is not None:
        values = [null if value is None else value for value in values]
    codes = np.concatenate(
        [np.asarray(part.fill_null(-1).to_numpy(zero_copy_only=False)) for part in parts]
    )
    return Encoded(codes.astype(np.int64), values)


def encode_keys(key: Ints) -> Encoded[int]:
    """Dictionary-encodes integer keys (combinations of other codes)."""
    encoded = pa.array(key, pa.int64()).dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return Encoded(codes, encoded.dictionary.to_numpy(zero_copy_only=False).tolist())


def combine(*parts: tuple[Ints, int]) -> tuple[Ints, int]:
    """One integer key per row from several codes, each given with its number of values.

    Codes must be 0 or more. The key is exact: when the product of the sizes would overflow,
    the combination so far is made dense before going on.

    Returns:
        The keys, and an upper bound of them (every key is below it).
    """
    key = np.zeros(len(parts[0][0]), dtype=np.int64)
    size = 1
    for codes, count in parts:
        count = max(count, 1)
        if size * count >= 1 << 62:
            dense = encode_keys(key)
            key, size = dense.codes, len(dense.values)
        key = key * count + codes
        size *= count
    return key, size


def first_rows(codes: Ints) -> Ints:
    """The first row of each code of `encode` (codes number values in order of appearance)."""
    if not len(codes):
        return np.zeros(0, dtype=np.int64)
    seen_before = np.concatenate(([-1], np.maximum.accumulate(codes)[:-1]))
    return np.flatnonzero(codes > seen_before)


def spread(values: Sequence[Any], codes: Ints, kind: pa.DataType) -> pa.Array:
    """`values[code]` for every code, as an Arrow array of `kind`."""
    return pa.array(values, kind).take(pa.array(codes, pa.int64()))
