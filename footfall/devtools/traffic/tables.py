"""Weighted draws at the cost of one ``getrandbits``, and JSON text escaped once."""

from __future__ import annotations

import json
from collections.abc import Sequence


def lookup_table(weights: Sequence[float], bits: int) -> list[int]:
    """Builds a table of ``2**bits`` indices where index i appears ~weights[i] share of times.

    Every index with a positive weight gets at least one slot, so the table can be sampled with
    ``table[getrandbits(bits)]``: far cheaper than `random.choices` in the generator's loop.

    Raises:
        ValueError: If no weight is positive.
    """
    size = 1 << bits
    total = float(sum(weights))
    positive = [i for i, w in enumerate(weights) if w > 0]
    if not positive:
        raise ValueError("all weights are zero")
    counts = {i: max(1, int(weights[i] / total * size)) for i in positive}
    # Fix the rounding error by adjusting the most popular entries.
    diff = size - sum(counts.values())
    order = sorted(positive, key=lambda i: -weights[i])
    k = 0
    while diff != 0:
        i = order[k % len(order)]
        if diff > 0:
            counts[i] += 1
            diff -= 1
        elif counts[i] > 1:
            counts[i] -= 1
            diff += 1
        k += 1
    table: list[int] = []
    for i in positive:
        table.extend([i] * counts[i])
    return table


def json_text(value: str) -> str:
    """Returns `value` JSON-escaped, without the surrounding quotes."""
    return json.dumps(value, ensure_ascii=False)[1:-1]
