"""Values shown as Elixir's `inspect/1` shows them, so footfall's messages match Plausible's."""

from __future__ import annotations

from collections.abc import Iterable

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\b": "\\b",
    "\f": "\\f",
    "\x1b": "\\e",
    "\x07": "\\a",
    "\x7f": "\\d",
}
_INSPECT_LIMIT = 50


def inspect(value: object) -> str:
    """Renders a decoded JSON value as Elixir's `inspect/1` does, for Plausible's messages."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Elixir always shows a fraction and writes exponents as "e20", not "e+20".
        mantissa, _, exponent = repr(value).partition("e")
        mantissa = mantissa if "." in mantissa or not mantissa[-1].isdigit() else mantissa + ".0"
        return mantissa + (f"e{int(exponent)}" if exponent else "")
    if isinstance(value, str):
        return _inspect_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_limited(inspect(item) for item in value)) + "]"
    if isinstance(value, dict):
        # Small Elixir maps print their keys in term order: strings compare bytewise.
        keys = sorted(value, key=lambda key: str(key).encode("utf-8", "surrogatepass"))
        pairs = (f"{inspect(key)} => {inspect(value[key])}" for key in keys)
        return "%{" + ", ".join(_limited(pairs)) + "}"
    return repr(value)


def _limited(items: Iterable[str]) -> list[str]:
    # Elixir's inspect shows at most 50 items of a collection, then "...".
    out: list[str] = []
    for item in items:
        if len(out) == _INSPECT_LIMIT:
            out.append("...")
            break
        out.append(item)
    return out


def _inspect_string(value: str) -> str:
    if not all(_printable(char) for char in value):
        # Elixir shows a binary that is not printable text as its bytes.
        data = value.encode("utf-8", "surrogatepass")
        return "<<" + ", ".join(str(byte) for byte in data) + ">>"
    body = "".join(_ESCAPES.get(char, char) for char in value)
    return '"' + body.replace("#{", "\\#{") + '"'


def _printable(char: str) -> bool:
    code = ord(char)
    return (
        char in _ESCAPES
        or 0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )
