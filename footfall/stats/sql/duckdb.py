"""DuckDB's spelling of the stats engine's SQL (text only: this module imports no driver)."""

from __future__ import annotations

from footfall.stats.model import Granularity
from footfall.stats.sql.dialect import LABEL_FORMATS, OUTSIDE_BOUNDS, Dialect


class DuckDBDialect(Dialect):
    """SQL for DuckDB."""

    name = "duckdb"

    def local_time(self, column: str, tz: str) -> str:
        """A naive-UTC timestamp column as naive local time in the zone `tz`."""
        return f"timezone({tz}, timezone('UTC', {column}))"

    def format_time(self, expr: str, granularity: Granularity) -> str:
        """A bucket start as its label."""
        return f"strftime({expr}, '{LABEL_FORMATS[granularity]}')"

    def shift(self, column: str, minutes: int) -> str:
        """A timestamp column moved by a whole number of minutes."""
        return f"({column} + INTERVAL ({int(minutes)}) MINUTE)"

    def truncate(self, local: str, granularity: Granularity, first_day: str) -> str:
        """The start of the bucket a local timestamp falls in, as a timestamp."""
        if granularity == "week":
            return f"greatest(date_trunc('week', {local}), {first_day})"
        return f"date_trunc('{granularity}', {local})"

    def timestamp(self, value: str) -> str:
        """A placeholder or expression as a naive timestamp."""
        return f"CAST({value} AS TIMESTAMP)"

    def slot(self, column: str) -> str:
        """The start of the 15-minute slot of a timestamp."""
        return f"time_bucket(INTERVAL 15 MINUTE, {column})"

    def explode_slots(self, first: str, last: str) -> str:
        """One row per 15-minute slot from `first` (floored) to `last`."""
        return f"unnest(generate_series({self.slot(first)}, {last}, INTERVAL 15 MINUTE))"

    def explode_present(self, items: list[str]) -> str:
        """One row per item that is not NULL."""
        listed = ", ".join(items) if items else "NULL"
        return f"unnest(list_filter([{listed}], lambda x: x IS NOT NULL))"

    def explode(self, column: str) -> str:
        """One row per element of a list column."""
        return f"unnest({column})"

    def list_length(self, column: str) -> str:
        """The number of elements of a list column."""
        return f"len({column})"

    def regex(self, column: str, pattern: str) -> str:
        """A partial RE2 match where ``.`` also matches line breaks."""
        return f"regexp_matches({column}, {pattern}, 's')"

    def like(self, column: str, pattern: str, *, escapes: bool = True) -> str:
        """A whole-value LIKE match with backslash escapes.

        Without an ESCAPE clause DuckDB turns ``'/blog%'`` into a prefix test; with one it
        runs its general matcher, at about twice the cost (ADR 0022). A pattern without a
        backslash means the same either way.
        """
        if not escapes:
            return f"({column} LIKE {pattern})"
        return f"({column} LIKE {pattern} ESCAPE '\\')"

    def contains(self, column: str, needle: str, *, case_sensitive: bool) -> str:
        """True when the column contains `needle`."""
        if case_sensitive:
            return f"contains({column}, {needle})"
        return f"contains(lower({column}), lower({needle}))"

    def prop_value(self, keys: str, values: str, key: str) -> str:
        """The value of custom property `key`, NULL when absent."""
        return f"{values}[list_position({keys}, {key})]"

    def has_prop(self, keys: str, key: str) -> str:
        """True when the event has custom property `key`."""
        return f"list_contains({keys}, {key})"

    def distinct_visitors(self, bounds: tuple[str, str] | None) -> str:
        """Exact distinct visitors; with the range's visitor-number bounds, as a bitmap.

        Visitor numbers are dense (see ADR 0007), so a bitmap per group counts them exactly
        at a fraction of a hash set's cost. The bounds were read by an earlier statement: a
        row written since may fall outside them (a new visitor's higher number). Such a
        group answers `OUTSIDE_BOUNDS` and the engine counts again without bounds. Counting
        those rows apart in the same statement (``count(DISTINCT visitor) FILTER (...)``)
        would be exact too, but one DISTINCT aggregate makes DuckDB take its slow grouping
        path for the whole statement: three to four times the CPU (ADR 0022).
        """
        if bounds is None:
            return "count(DISTINCT visitor)"
        low, high = bounds
        inside = f"visitor BETWEEN {low} AND {high}"
        return (
            f"CASE WHEN count(*) FILTER (WHERE NOT ({inside})) > 0 THEN {OUTSIDE_BOUNDS} "
            f"ELSE coalesce(bit_count(bitstring_agg(visitor, {low}, {high})"
            f" FILTER (WHERE {inside})), 0) END"
        )

    def approx_distinct(self, column: str) -> str:
        """DuckDB's HyperLogLog estimate."""
        return f"approx_count_distinct({column})"

    def count_if(self, condition: str) -> str:
        """Rows of the group that meet `condition`."""
        return f"count(*) FILTER (WHERE {condition})"

    def aggregate_if(self, function: str, expr: str, condition: str) -> str:
        """An aggregate over the rows that meet `condition`."""
        return f"{function}({expr}) FILTER (WHERE {condition})"

    def round_half_even(self, expr: str, digits: int) -> str:
        """Rounding as ClickHouse's ``round`` does it on floats.

        ClickHouse scales by ``10^digits``, rounds ties to even and scales back; rounding the
        exact binary value instead (DuckDB's ``round_even(x, 2)``) differs on values such as
        1/40, which is a hair above 0.025 in binary but exactly 2.5 once scaled.
        """
        if digits == 0:
            return f"round_even(({expr})::DOUBLE, 0)::DOUBLE"
        scale = 10**digits
        return f"(round_even(({expr})::DOUBLE * {scale}, 0) / {scale})::DOUBLE"
