"""ClickHouse's spelling of the stats engine's SQL (text only: this module imports no driver).

Sessions are stored as versioned rows (see `footfall.storage.clickhouse.sessions`): a changed
session keeps its cancelled state and a cancel row beside the new state until ClickHouse merges
them, so session counts and sums are written as ``sum(sign * x)``, exact before and after the
merge. Distinct visitors are counted exactly (``count(DISTINCT …)`` is ``uniqExact``). The
store runs every statement with ``aggregate_functions_null_for_empty``, so that an aggregate
over no rows is NULL, as in DuckDB.
"""

from __future__ import annotations

from footfall.stats.model import Granularity
from footfall.stats.sql.dialect import LABEL_FORMATS, Dialect

# ClickHouse's truncation of a timestamp to the start of its hour, day or month.
_TRUNCATE: dict[Granularity, str] = {
    "hour": "toStartOfHour",
    "day": "toDate",
    "month": "toStartOfMonth",
}


class ClickHouseDialect(Dialect):
    """SQL for ClickHouse (a server, or chdb in-process)."""

    name = "clickhouse"
    uses_visitor_bounds = False

    def session_count(self) -> str:
        """Net rows: a cancelled state and its cancel row add up to nothing."""
        return "coalesce(sum(sign), 0)"

    def session_sum(self, expr: str) -> str:
        """Each row's value weighted by its sign."""
        return f"sum(sign * {expr})"

    def session_avg(self, expr: str) -> str:
        """Signed sum over signed count."""
        return f"sum(sign * {expr}) / nullif(sum(sign), 0)"

    def current_sessions(self, where: str) -> str | None:
        """Only the newest version of each session among the rows meeting `where`."""
        return (
            "sign = 1 AND (session_id, version) IN (SELECT session_id, max(version) "
            f"FROM sessions WHERE {where} GROUP BY session_id)"
        )

    def lower(self, expr: str) -> str:
        """Unicode lower case (ClickHouse's ``lower`` only maps ASCII)."""
        return f"lowerUTF8({expr})"

    def local_time(self, column: str, tz: str) -> str:
        """A UTC timestamp shown in the zone `tz` (the instant is unchanged)."""
        return f"toTimeZone({column}, {tz})"

    def format_time(self, expr: str, granularity: Granularity) -> str:
        """A bucket start as its label."""
        return f"formatDateTime({expr}, '{LABEL_FORMATS[granularity]}')"

    def shift(self, column: str, minutes: int) -> str:
        """A timestamp column moved by a whole number of minutes."""
        return f"addMinutes({column}, {int(minutes)})"

    def truncate(self, local: str, granularity: Granularity, first_day: str) -> str:
        """The start of the bucket a local timestamp falls in (a date but for hours)."""
        if granularity == "week":
            return f"greatest(toMonday({local}), toDate({first_day}))"
        return f"{_TRUNCATE[granularity]}({local})"

    def timestamp(self, value: str) -> str:
        """A placeholder or expression as a UTC timestamp."""
        return f"toDateTime64({value}, 6, 'UTC')"

    def slot(self, column: str) -> str:
        """The start of the 15-minute slot of a timestamp."""
        return f"toStartOfFifteenMinutes({column})"

    def explode_slots(self, first: str, last: str) -> str:
        """One row per 15-minute slot from `first` (floored) to `last`."""
        start = self.slot(first)
        count = f"greatest(intDiv(dateDiff('minute', {start}, {last}), 15) + 1, 0)"
        return f"arrayJoin(arrayMap(i -> addMinutes({start}, 15 * i), range(toUInt32({count}))))"

    def explode_present(self, items: list[str]) -> str:
        """One row per item that is not NULL."""
        listed = ", ".join(items) if items else "NULL"
        return f"arrayJoin(arrayFilter(x -> isNotNull(x), [{listed}]))"

    def explode(self, column: str) -> str:
        """One row per element of an array column."""
        return f"arrayJoin({column})"

    def list_length(self, column: str) -> str:
        """The number of elements of an array column."""
        return f"length({column})"

    def regex(self, column: str, pattern: str) -> str:
        """A partial RE2 match; ClickHouse's ``.`` already matches line breaks."""
        return f"match({column}, {pattern})"

    def like(self, column: str, pattern: str, *, escapes: bool = True) -> str:
        """A whole-value LIKE match (backslash escapes are ClickHouse's default)."""
        return f"like({column}, {pattern})"

    def contains(self, column: str, needle: str, *, case_sensitive: bool) -> str:
        """True when the column contains `needle`."""
        if case_sensitive:
            return f"(position({column}, {needle}) > 0)"
        return f"(position(lowerUTF8({column}), lowerUTF8({needle})) > 0)"

    def prop_value(self, keys: str, values: str, key: str) -> str:
        """The value of custom property `key`, NULL when absent."""
        return f"if(has({keys}, {key}), {values}[indexOf({keys}, {key})], NULL)"

    def has_prop(self, keys: str, key: str) -> str:
        """True when the event has custom property `key`."""
        return f"has({keys}, {key})"

    def distinct_visitors(self, bounds: tuple[str, str] | None) -> str:
        """Exact distinct visitors (``uniqExact``; 0 rather than NULL for no rows)."""
        return "count(DISTINCT visitor)"

    def approx_distinct(self, column: str) -> str:
        """ClickHouse's adaptive-sample estimate."""
        return f"uniq({column})"

    def count_if(self, condition: str) -> str:
        """Rows of the group that meet `condition`."""
        return f"countIf({condition})"

    def aggregate_if(self, function: str, expr: str, condition: str) -> str:
        """An aggregate over the rows that meet `condition` (ClickHouse's -If combinator)."""
        if function == "count":
            if expr == "*":
                return f"countIf({condition})"
            if expr.startswith("DISTINCT "):
                return f"uniqExactIf({expr.removeprefix('DISTINCT ')}, {condition})"
        return f"{function}If({expr}, {condition})"

    def round_half_even(self, expr: str, digits: int) -> str:
        """ClickHouse's own float rounding, as Plausible's queries use it."""
        return f"round(toFloat64({expr}), {digits})"
