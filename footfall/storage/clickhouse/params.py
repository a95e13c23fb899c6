"""The stats engine's ``$1 … $n`` placeholders as ClickHouse's typed server-side parameters.

``$3`` becomes ``{p3:Type}`` with the type taken from the Python value, and the value travels
apart from the statement (ClickHouse substitutes it as a literal of that type while parsing),
so no value is ever spliced into SQL text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

_PLACEHOLDER = re.compile(r"\$(\d+)")
_INT64_MAX = 2**63 - 1


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "UInt64" if value > _INT64_MAX else "Int64"
    if isinstance(value, float):
        return "Float64"
    if isinstance(value, str):
        return "String"
    if isinstance(value, dt.datetime):
        return "DateTime64(6, 'UTC')"
    if isinstance(value, dt.date):
        return "Date"
    if value is None:
        return "Nullable(String)"
    if isinstance(value, list | tuple):
        inner = _type_of(value[0]) if value else "String"
        return f"Array({inner})"
    raise TypeError(f"no ClickHouse type for a parameter of type {type(value).__name__}")


def _value_of(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        # Stored timestamps are UTC; an aware value is compared as the same instant.
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, tuple):
        return list(value)
    return value


def bind(sql: str, params: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """The statement with typed parameter slots, and the values by slot name.

    Raises:
        ValueError: The statement uses a placeholder beyond `params`.
    """
    values: dict[str, Any] = {}

    def slot(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if not 1 <= index <= len(params):
            raise ValueError(f"placeholder ${index} has no value")
        value = params[index - 1]
        values[f"p{index}"] = _value_of(value)
        return f"{{p{index}:{_type_of(value)}}}"

    return _PLACEHOLDER.sub(slot, sql), values
