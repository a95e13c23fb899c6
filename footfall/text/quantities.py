"""A count with its noun (``1 visitor``, ``2 visitors``) and a byte size people read (``1 GiB``).

Plain functions with no import beyond the standard library, so that templates, charts, the API
documents and every command word their numbers the same way.
"""

from __future__ import annotations

_BINARY_UNITS = ("B", "KiB", "MiB", "GiB")


def noun(count: float, singular: str, plural: str | None = None) -> str:
    """The form of a noun that goes with `count`: `singular` for exactly one, else the plural.

    Args:
        count: How many there are (an int or a float; only 1 takes the singular).
        singular: The noun for one, such as ``visitor`` or ``current visitor``.
        plural: The noun for any other count; `singular` plus ``s`` when not given.

    Returns:
        The noun alone, such as ``visitors``.
    """
    if count == 1:
        return singular
    return plural if plural is not None else singular + "s"


def plural(count: float, singular: str, plural: str | None = None) -> str:
    """`count` with thousands separators, then its noun: ``1 visitor``, ``1,234 visitors``.

    Args:
        count: How many there are; a whole float is written without decimals.
        singular: The noun for one.
        plural: The noun for any other count; `singular` plus ``s`` when not given.
    """
    number = f"{count:,.0f}" if float(count).is_integer() else f"{count:,}"
    return f"{number} {noun(count, singular, plural)}"


def format_bytes(value: float) -> str:
    """A byte count in binary units: ``512 B``, ``1.5 KiB``, ``64 KiB``, ``1 GiB``, ``2 TiB``.

    One decimal, left out when it is zero, so that limits read as they were set.
    """
    for unit in _BINARY_UNITS:
        # Compared after rounding: 1,048,575 bytes is 1 MiB, not 1024 KiB.
        if abs(round(value, 0 if unit == "B" else 1)) < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{_one_decimal(value)} {unit}"
        value /= 1024
    return f"{_one_decimal(value)} TiB"


def _one_decimal(value: float) -> str:
    text = f"{value:.1f}"
    return text.removesuffix(".0")
