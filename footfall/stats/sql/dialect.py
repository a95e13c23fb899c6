"""The few things SQL engines spell differently, as one interface the query builders call.

A backend's dialect is chosen by `dialect_for` from the event store's `backend` name. Every
method returns SQL text built from its arguments, which are column names or expressions
written by footfall, or ``$n`` placeholders; none ever receives user text.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from footfall.stats.model import Granularity

# How a bucket's start is written as its label (strftime codes, the same in every backend).
LABEL_FORMATS: dict[Granularity, str] = {
    "hour": "%Y-%m-%d %H:00:00",
    "day": "%Y-%m-%d",
    "week": "%Y-%m-%d",
    "month": "%Y-%m-01",
}

# What a bounded distinct-visitor count answers for a group holding a visitor number outside
# the bounds it was given (a row written after they were read): the engine counts again.
OUTSIDE_BOUNDS = -1


class Dialect(ABC):
    """SQL spellings a backend must supply.

    Attributes:
        name: The backend's name.
        uses_visitor_bounds: Whether `distinct_visitors` gains from the range's visitor-number
            bounds (read by a cheap statement first); a backend that counts exactly without
            them says False and the engine skips that statement.
    """

    name: str
    uses_visitor_bounds: bool = True

    # -- sessions: a backend may keep several versions of a session's row ------------------

    def session_count(self) -> str:
        """How many sessions the group's rows hold (each session's current state once)."""
        return "count(*)"

    def session_sum(self, expr: str) -> str:
        """The sum of a per-session expression over the group's sessions."""
        return f"sum({expr})"

    def session_avg(self, expr: str) -> str:
        """The mean of a per-session expression over the group's sessions (NULL when none)."""
        return f"avg({expr})"

    def current_sessions(self, where: str) -> str | None:
        """A condition keeping only each session's current row, or None when rows never change.

        Needed where a query filters or groups by a session column that later events change
        (entry or exit page and hostname). `where` selects the session rows in question and
        may only test columns that never change or only grow (site, start, last event time).
        """
        return None

    def lower(self, expr: str) -> str:
        """Text in lower case (Unicode-aware)."""
        return f"lower({expr})"

    @abstractmethod
    def local_time(self, column: str, tz: str) -> str:
        """A naive-UTC timestamp column as naive local time in the zone `tz` (a placeholder)."""

    def bucket(self, local: str, granularity: Granularity, first_day: str) -> str:
        """The label text (``YYYY-MM-DD[ HH:00:00]``) of the bucket a local timestamp is in.

        Weeks start on Monday, but never before `first_day` (the range's first local day).
        """
        return self.format_time(self.truncate(local, granularity, first_day), granularity)

    @abstractmethod
    def format_time(self, expr: str, granularity: Granularity) -> str:
        """A bucket start (timestamp or date) as its label, in `LABEL_FORMATS`' format."""

    @abstractmethod
    def shift(self, column: str, minutes: int) -> str:
        """A timestamp column moved by a whole number of minutes (a fixed UTC offset)."""

    @abstractmethod
    def truncate(self, local: str, granularity: Granularity, first_day: str) -> str:
        """The start of the bucket a local timestamp is in, as a timestamp or a date.

        Weeks start on Monday, but never before `first_day` (the range's first local day, a
        timestamp). Grouping by it and labelling the groups afterwards is cheaper than
        grouping by the label text.
        """

    @abstractmethod
    def timestamp(self, value: str) -> str:
        """A placeholder or expression as a naive timestamp."""

    @abstractmethod
    def slot(self, column: str) -> str:
        """The start of the 15-minute slot a naive-UTC timestamp falls in."""

    @abstractmethod
    def explode_slots(self, first: str, last: str) -> str:
        """A select-list expression giving one row per 15-minute slot from `first` to `last`.

        `first` is floored to its slot; `last` is inclusive.
        """

    @abstractmethod
    def explode_present(self, items: list[str]) -> str:
        """A select-list expression giving one row per item of `items` that is not NULL."""

    @abstractmethod
    def explode(self, column: str) -> str:
        """A select-list expression giving one row per element of a list column."""

    @abstractmethod
    def list_length(self, column: str) -> str:
        """The number of elements of a list column."""

    @abstractmethod
    def regex(self, column: str, pattern: str) -> str:
        """True when the RE2 `pattern` matches anywhere in the column (partial match).

        As in ClickHouse's `match` (Plausible), ``.`` also matches line breaks.
        """

    @abstractmethod
    def like(self, column: str, pattern: str, *, escapes: bool = True) -> str:
        """True when the whole column matches a LIKE pattern (backslash escapes).

        `escapes` False promises the pattern holds no backslash, which lets a backend test
        it the cheaper way.
        """

    @abstractmethod
    def contains(self, column: str, needle: str, *, case_sensitive: bool) -> str:
        """True when the column contains `needle`."""

    @abstractmethod
    def prop_value(self, keys: str, values: str, key: str) -> str:
        """The value of custom property `key`, NULL when absent."""

    @abstractmethod
    def has_prop(self, keys: str, key: str) -> str:
        """True when the event has custom property `key`."""

    @abstractmethod
    def distinct_visitors(self, bounds: tuple[str, str] | None) -> str:
        """Exact distinct visitors; with the range's visitor-number bounds where that helps.

        With bounds, a group holding a visitor number outside them may answer
        `OUTSIDE_BOUNDS` instead of its count; the engine then asks again without bounds.
        """

    @abstractmethod
    def approx_distinct(self, column: str) -> str:
        """A fast estimate of the column's distinct values (only used to size plans)."""

    @abstractmethod
    def count_if(self, condition: str) -> str:
        """How many rows of the group meet `condition`."""

    @abstractmethod
    def aggregate_if(self, function: str, expr: str, condition: str) -> str:
        """An aggregate (``max``, ``sum``, ``avg``) over the rows that meet `condition`."""

    @abstractmethod
    def round_half_even(self, expr: str, digits: int) -> str:
        """Rounding as ClickHouse does it on floats (ties to even), as a float."""
