"""Columns as codes into their distinct values: Python runs once per distinct value.

Import data repeats itself: a month of traffic has millions of events but only thousands of
distinct URLs and User-Agents. Each column is dictionary-encoded; the live pipeline's own
functions run on the distinct values; their results are spread back over the rows by code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

T = TypeVar("T")
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Encoded(Generic[T]):
    """A column as a code per row into its distinct values (first appearance order)."""

    codes: Ints
    values: list[T]


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


@dataclass(frozen=True, slots=True)
class Texts:
    """A text column as codes into its distinct values."""

    values: Sequence[str]
    codes: Ints

    def take(self, rows: Ints) -> Texts:
        """The texts of some rows."""
        return Texts(self.values, self.codes[rows])


class Vocabulary(Generic[T]):
    """The distinct values of a column over all blocks of an import, coded in order of appearance.

    Blocks are coded as they come: only a block's distinct values are looked up here, and new
    ones get the next codes, so work that runs once per distinct value can run on `values`
    from the first new code on.
    """

    def __init__(self, *, null: T | None = None) -> None:
        """Starts empty.

        Args:
            null: The value nulls stand for; when None, nulls get the code -1.
        """
        self.values: list[T] = []
        self._codes: dict[T, int] = {}
        self._null = null

    def codes(self, column: pa.Array | pa.ChunkedArray) -> Ints:
        """The code of each value of `column`, new values added."""
        local = encode(column, null=self._null)
        found = [self._codes.setdefault(value, len(self._codes)) for value in local.values]
        for value, code in zip(local.values, found, strict=True):
            if code == len(self.values):
                self.values.append(value)
        remap = np.array([*found, -1], dtype=np.int64)  # local code -1 stays -1
        result: Ints = remap[local.codes]
        return result
