"""What every part of one query shares: bound parameters, the site's range, filters, goals.

The planner (`footfall.stats.plan`) decides which table answers which metric; `Scope` turns
the query's range and filters into SQL conditions on one table. Every user-supplied value
becomes a numbered parameter; only names defined in code (columns, functions) are written into
the text, spelled by the backend's `Dialect`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from footfall.stats.filters import like_pattern, stored_value, wildcard_regex
from footfall.stats.model import (
    PROPS_PREFIX,
    And,
    Condition,
    Filter,
    Goal,
    HasDone,
    Not,
    Or,
    as_op,
)
from footfall.stats.sql.dialect import Dialect

Table = Literal["events", "sessions", "engagement"]
_PLACEHOLDER = re.compile(r"\$(\d+)")

_VISIT_COLUMNS: dict[str, str] = {
    "visit:source": "referrer_source",
    "visit:referrer": "referrer",
    "visit:channel": "channel",
    "visit:utm_medium": "utm_medium",
    "visit:utm_source": "utm_source",
    "visit:utm_campaign": "utm_campaign",
    "visit:utm_content": "utm_content",
    "visit:utm_term": "utm_term",
    "visit:device": "device",
    "visit:screen": "device",
    "visit:browser": "browser",
    "visit:browser_version": "browser_version",
    "visit:os": "os",
    "visit:os_version": "os_version",
    "visit:country": "country",
    "visit:region": "region",
    "visit:city": "city",
}
EVENT_TABLE_COLUMNS: dict[str, str] = {
    **_VISIT_COLUMNS,
    "event:page": "pathname",
    "event:name": "name",
    "event:hostname": "hostname",
}
SESSION_TABLE_COLUMNS: dict[str, str] = {
    **_VISIT_COLUMNS,
    "visit:entry_page": "entry_page",
    "visit:exit_page": "exit_page",
    "visit:entry_page_hostname": "hostname",
    "visit:exit_page_hostname": "exit_hostname",
}
# On the sessions table a page or hostname dimension is the session's entry page or hostname,
# and so are filters on it while it is a dimension; otherwise an event filter selects the
# sessions having a matching event (Plausible's query optimizer, `build_split_query`).
SESSION_EVENT_ALIASES: dict[str, str] = {"event:page": "entry_page", "event:hostname": "hostname"}


@dataclass
class Params:
    """Collects bound parameters; `add` returns the numbered placeholder for one value.

    Numbered placeholders let SQL fragments be assembled in any order.
    """

    values: list[Any] = field(default_factory=list)

    def add(self, value: Any) -> str:
        """Binds `value` and returns its placeholder."""
        self.values.append(value)
        return f"${len(self.values)}"

    def bind(self, sql: str) -> tuple[str, list[Any]]:
        """The statement renumbered to the placeholders it uses, with their values.

        Fragments may bind values that the final statement leaves out (DuckDB refuses
        parameters a statement does not use). Only placeholders made by `add` can appear: no
        user text is ever written into the SQL.
        """
        used: dict[int, int] = {}

        def renumber(match: re.Match[str]) -> str:
            index = int(match.group(1))
            if index not in used:
                used[index] = len(used) + 1
            return f"${used[index]}"

        text = _PLACEHOLDER.sub(renumber, sql)
        values = [None] * len(used)
        for old, new in used.items():
            values[new - 1] = self.values[old - 1]
        return text, values


@dataclass
class Scope:
    """What every part of one query shares: site, time range, dialect, goals, parameters."""

    site_id: int
    start: Any
    end: Any
    timezone: str
    goals: tuple[Goal, ...]
    dialect: Dialect
    params: Params

    def events_range(self, *, engagement: bool = False) -> str:
        """Events of the site in range (engagement events only when asked for)."""
        p = self.params
        name = "name = 'engagement'" if engagement else "name <> 'engagement'"
        return (
            f"site_id = {p.add(self.site_id)} AND timestamp BETWEEN {p.add(self.start)} "
            f"AND {p.add(self.end)} AND {name}"
        )

    def sessions_range(self) -> str:
        """Sessions of the site active in range (Plausible counts a visit if it overlaps)."""
        p = self.params
        return (
            f"site_id = {p.add(self.site_id)} AND timestamp >= {p.add(self.start)} "
            f"AND start <= {p.add(self.end)}"
        )

    # -- filters ---------------------------------------------------------------------------

    def where(
        self, table: Table, filters: tuple[Filter, ...], dimensions: tuple[str, ...] = ()
    ) -> list[str]:
        """SQL conditions for `filters` on `table` (AND-ed by the caller).

        On the sessions table, the top-level event conditions together select the sessions
        having one event in range that matches them all — Plausible joins the sessions to the
        events matching the query's filters (`sql/query_builder.ex`, `join_events_if_needed`).
        Page and hostname conditions grouped by (`dimensions`) read the entry columns instead.
        """
        if table != "sessions":
            return [self._node(table, f, frozenset()) for f in filters]
        aliased = frozenset(d for d in dimensions if d in SESSION_EVENT_ALIASES)
        out: list[str] = []
        matching: list[str] = []
        for node in filters:
            if (
                isinstance(node, Condition)
                and node.dimension.startswith("event:")
                and node.dimension not in aliased
            ):
                matching.append(self._condition("events", node, aliased))
            else:
                out.append(self._node(table, node, aliased))
        if matching:
            inner = " AND ".join([self.events_range(), *matching])
            out.append(f"session_id IN (SELECT session_id FROM events WHERE {inner})")
        return out

    def entry_page_condition(
        self, filters: tuple[Filter, ...], dimensions: tuple[str, ...]
    ) -> str | None:
        """The sessions `bounce_rate` counts under a page filter: those entering on the page.

        Plausible tests the first top-level `event:page` filter against the entry page for
        bounce rate only (`sql/expression.ex`, `session_metric(:bounce_rate, _)`); with a page
        dimension that filter already reads the entry page.
        """
        if "event:page" in dimensions:
            return None
        for node in filters:
            if isinstance(node, Condition) and node.dimension == "event:page":
                return self._compare(SESSION_EVENT_ALIASES["event:page"], node)
        return None

    def _node(self, table: Table, node: Filter, aliased: frozenset[str]) -> str:
        if isinstance(node, Condition):
            return self._condition(table, node, aliased)
        if isinstance(node, And):
            return "(" + " AND ".join(self._node(table, c, aliased) for c in node.children) + ")"
        if isinstance(node, Or):
            return "(" + " OR ".join(self._node(table, c, aliased) for c in node.children) + ")"
        if isinstance(node, Not):
            return f"(NOT {self._node(table, node.child, aliased)})"
        return self._has_done(node)

    def _has_done(self, node: HasDone) -> str:
        inner = " AND ".join([self.events_range(), self._node("events", node.child, frozenset())])
        negation = "NOT " if node.negated else ""
        return f"(session_id {negation}IN (SELECT session_id FROM events WHERE {inner}))"

    def _condition(self, table: Table, cond: Condition, aliased: frozenset[str]) -> str:
        dim = cond.dimension
        if table == "sessions":
            if dim in aliased:
                return self._compare(SESSION_EVENT_ALIASES[dim], cond)
            if dim.startswith("event:"):
                inner = " AND ".join(
                    [self.events_range(), self._condition("events", cond, aliased)]
                )
                return f"session_id IN (SELECT session_id FROM events WHERE {inner})"
            return self._compare(SESSION_TABLE_COLUMNS[dim], cond)
        if dim in SESSION_TABLE_COLUMNS and dim not in EVENT_TABLE_COLUMNS:
            # Entry and exit pages and hostnames change while a visit goes on: test the
            # session's current row only.
            session_range = self.sessions_range()
            current = self.dialect.current_sessions(session_range)
            inner = " AND ".join(
                [
                    session_range,
                    *([current] if current else []),
                    self._condition("sessions", cond, aliased),
                ]
            )
            return f"session_id IN (SELECT session_id FROM sessions WHERE {inner})"
        if dim == "event:goal":
            return self._goal_condition(cond)
        if dim.startswith(PROPS_PREFIX):
            return self._prop_condition(cond)
        return self._compare(EVENT_TABLE_COLUMNS[dim], cond)

    def _compare(self, column: str, cond: Condition) -> str:
        values = [stored_value(cond.dimension, v) for v in cond.values]
        if column == "city":
            # GeoName ids are numbers; text that is not one matches no city (`isdigit` alone
            # also takes digits such as "²", which int() refuses).
            if cond.op in ("is", "is_not"):
                values = [int(v) if str(v).isascii() and str(v).isdigit() else -1 for v in values]
                return self._match("CAST(city AS BIGINT)", cond, values)
            return self._match("CAST(city AS VARCHAR)", cond, values)
        return self._match(column, cond, values)

    def _match(self, column: str, cond: Condition, values: list[Any]) -> str:
        p, d = self.params, self.dialect
        op = cond.op
        negate = op.endswith("_not")
        if op in ("is", "is_not"):
            if cond.case_sensitive:
                expr = f"{column} IN ({', '.join(p.add(v) for v in values)})"
            else:
                items = ", ".join(d.lower(p.add(str(v))) for v in values)
                expr = f"{d.lower(column)} IN ({items})"
        elif op in ("contains", "contains_not"):
            expr = " OR ".join(
                d.contains(column, p.add(str(v)), case_sensitive=cond.case_sensitive)
                for v in values
            )
        elif op in ("matches", "matches_not"):
            expr = " OR ".join(d.regex(column, p.add(str(v))) for v in values)
        else:  # wildcards
            expr = " OR ".join(self._wildcard(column, str(v)) for v in values)
        return f"(NOT ({expr}))" if negate else f"({expr})"

    def _wildcard(self, column: str, pattern: str) -> str:
        if "|" in pattern:
            # Alternation has Plausible's odd anchoring: only a regex reproduces it.
            return self.dialect.regex(column, self.params.add(wildcard_regex(pattern)))
        like = like_pattern(pattern)
        return self.dialect.like(column, self.params.add(like), escapes="\\" in like)

    def _prop_condition(self, cond: Condition) -> str:
        d, p = self.dialect, self.params
        key = cond.dimension[len(PROPS_PREFIX) :]
        values = [str(v) for v in cond.values]
        wants_none = "(none)" in values
        real = [v for v in values if v != "(none)"]
        name = p.add(key)
        has = d.has_prop("props_keys", name)
        value = d.prop_value("props_keys", "props_values", name)
        positive = replace(cond, op=as_op(cond.op.removesuffix("_not")))
        matched = f"({has} AND {self._match(value, positive, real)})" if real else "FALSE"
        if cond.op == "is_not":
            # Having the key with another value; lacking it counts unless (none) is excluded.
            missing = "FALSE" if wants_none else f"(NOT {has})"
            return f"(({has} AND NOT {matched}) OR {missing})"
        if cond.op.endswith("_not"):
            # contains_not, matches_not and the wildcard negation need the key: an event
            # without it neither contains nor lacks the text (Plausible's tests,
            # `external_stats_controller/aggregate_test.exs`, "contains_not custom event
            # property").
            return f"({has} AND NOT {matched})"
        if wants_none:
            return f"({matched} OR NOT {has})"
        return matched

    def goal_match(self, goal: Goal) -> str:
        """True for the events that complete `goal`."""
        p, d = self.params, self.dialect
        if goal.event_name is not None:
            parts = [f"name = {p.add(goal.event_name)}"]
            for key, value in goal.custom_props:
                parts.append(
                    f"{d.prop_value('props_keys', 'props_values', p.add(key))} = {p.add(value)}"
                )
            return "(" + " AND ".join(parts) + ")"
        path = goal.page_path or ""
        if "*" in path:
            return f"(name = 'pageview' AND {d.regex('pathname', p.add(wildcard_regex(path)))})"
        return f"(name = 'pageview' AND pathname = {p.add(path)})"

    def goals_for(self, cond: Condition) -> list[Goal]:
        """The configured goals a goal condition selects."""
        wanted = [str(v) for v in cond.values]
        if cond.op.startswith("contains"):
            if cond.case_sensitive:
                return [g for g in self.goals if any(w in g.display_name for w in wanted)]
            low = [w.lower() for w in wanted]
            return [g for g in self.goals if any(w in g.display_name.lower() for w in low)]
        if cond.case_sensitive:
            return [g for g in self.goals if g.display_name in wanted]
        low = [w.lower() for w in wanted]
        return [g for g in self.goals if g.display_name.lower() in low]

    def _goal_condition(self, cond: Condition) -> str:
        goals = self.goals_for(cond)
        expr = "(" + " OR ".join(self.goal_match(g) for g in goals) + ")" if goals else "FALSE"
        return f"(NOT {expr})" if cond.op.endswith("_not") else expr

    # -- dimensions ------------------------------------------------------------------------

    def dimension(self, table: Table, dim: str) -> str:
        """The SELECT expression of a non-time, non-goal dimension (blank values stay blank).

        Grouping by the bare column is cheaper than by a labelling expression; the engine
        labels blank values after grouping (`blank_label`).
        """
        if dim.startswith(PROPS_PREFIX):
            key = self.params.add(dim[len(PROPS_PREFIX) :])
            value = self.dialect.prop_value("props_keys", "props_values", key)
            return f"coalesce({value}, '(none)')"
        columns = SESSION_TABLE_COLUMNS if table == "sessions" else EVENT_TABLE_COLUMNS
        column = (
            SESSION_EVENT_ALIASES[dim]
            if table == "sessions" and dim in SESSION_EVENT_ALIASES
            else columns[dim]
        )
        return column
