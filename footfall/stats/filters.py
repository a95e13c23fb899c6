"""Filter parsing shared by the API versions: Plausible's legacy v1 string form and wildcards."""

from __future__ import annotations

import re

from footfall.stats.model import UTM_DIMENSIONS, Condition, Filter, as_op

# Blank stored values and the labels the API shows (and accepts in filters) for them.
DIRECT = "Direct / None"
NOT_SET = "(not set)"
NONE = "(none)"
BLANK_LABELS: dict[str, str] = {
    "visit:source": DIRECT,
    "visit:referrer": DIRECT,
    "visit:channel": "Direct",
    "visit:utm_medium": NOT_SET,
    "visit:utm_source": NOT_SET,
    "visit:utm_campaign": NOT_SET,
    "visit:utm_content": NOT_SET,
    "visit:utm_term": NOT_SET,
    "visit:device": NOT_SET,
    "visit:screen": NOT_SET,
    "visit:browser": NOT_SET,
    "visit:browser_version": NOT_SET,
    "visit:os": NOT_SET,
    "visit:os_version": NOT_SET,
}
# Filtering for these labels matches the empty string (Plausible's where builder).
_DIRECT_FIELDS = UTM_DIMENSIONS | {"visit:source", "visit:referrer"}

_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def stored_value(dimension: str, value: str | int) -> str | int:
    """The stored value a filter value stands for (blank labels mean the empty string)."""
    if value == NOT_SET or (value == DIRECT and dimension in _DIRECT_FIELDS):
        return ""
    return value


def wildcard_regex(pattern: str) -> str:
    """Plausible's wildcard-to-regex conversion, quirks included.

    Regex metacharacters are escaped, an escaped ``|`` turns back into alternation, ``**`` and
    ``*`` become ``.*``, and the whole is wrapped in ``^…$`` — so with pipes the anchors bind
    only the first and last alternative, exactly as Plausible evaluates it.
    """
    # A user's "\|" becomes an escaped backslash followed by alternation, as in Plausible.
    escaped = re.escape(pattern).replace("\\|", "|")
    escaped = escaped.replace("\\*\\*", ".*").replace("\\*", ".*")
    return f"^{escaped}$"


def like_pattern(pattern: str) -> str:
    """A wildcard without ``|`` as an SQL LIKE pattern: the same whole-value match, faster.

    ``*`` and ``**`` both match anything (slashes included), as in Plausible; LIKE's own
    ``%`` and ``_`` and the escape character are escaped.
    """
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return re.sub(r"\*+", "%", escaped)


def _split_list(value: str) -> list[str]:
    return [part.replace("\\|", "|") for part in _UNESCAPED_PIPE.split(value)]


def parse_legacy_filters(text: str) -> list[Filter]:
    """Parses v1's ``key==value;key!=a|b`` form.

    Malformed clauses are dropped silently, as Plausible does; unknown properties are kept so
    the caller can report them in the documented order.
    """
    out: list[Filter] = []
    for raw in text.split(";"):
        clause = raw.strip()
        if not clause:
            continue
        negated = "!=" in clause
        parts = [p.strip() for p in re.split(r"==|!=", clause) if p.strip()]
        if len(parts) != 2:
            continue
        key, value = parts
        if key == "event:goal":
            # Goal filters are always inclusive: a negation is ignored, as in Plausible.
            out.append(Condition("is", key, tuple(_split_list(value))))
            continue
        if "*" in value:
            op = "matches_wildcard_not" if negated else "matches_wildcard"
            out.append(Condition(as_op(op), key, (value,)))
            continue
        if _UNESCAPED_PIPE.search(value):
            # Plausible treats a negated list as inclusive too.
            out.append(Condition("is", key, tuple(_split_list(value))))
            continue
        item = value.replace("\\|", "|")
        out.append(Condition("is_not" if negated else "is", key, (item,)))
    return [f for f in out if not _bad_country(f)]


def _bad_country(node: Filter) -> bool:
    return (
        isinstance(node, Condition)
        and node.dimension == "visit:country"
        and any(len(str(v).encode()) != 2 for v in node.values)
    )
