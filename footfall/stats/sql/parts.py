"""SQL for one part of a query plan: the table's rows in range, filtered, grouped, aggregated.

Time buckets join each row's 15-minute slot to a small table of the range's slots labelled in
local time (cheaper than converting every row, and right across DST and half-hour zones).
Sessions counted per hour are "smeared" over every slot they were active in, as Plausible does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from footfall.stats.filters import BLANK_LABELS
from footfall.stats.model import (
    SESSION_ONLY_DIMENSIONS,
    TIME_DIMENSIONS,
    UTM_DIMENSIONS,
    Condition,
    Granularity,
    Query,
    iter_conditions,
)
from footfall.stats.periods import fixed_offset
from footfall.stats.plan import Part
from footfall.stats.sql.dialect import LABEL_FORMATS, Dialect
from footfall.stats.sql.metrics import metric_sql
from footfall.stats.sql.scope import (
    EVENT_TABLE_COLUMNS,
    SESSION_EVENT_ALIASES,
    SESSION_TABLE_COLUMNS,
    Params,
    Scope,
)

# v1 breakdowns leave out rows whose value is blank for these properties (Plausible).
_LEGACY_SKIP_BLANK = UTM_DIMENSIONS | {
    "visit:country",
    "visit:region",
    "visit:city",
    "visit:entry_page",
    "visit:exit_page",
}


class PartBuilder:
    """Writes the SQL of plan parts in one backend's dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    def part_sql(
        self, query: Query, part: Part, scope: Scope, bounds: tuple[str, str] | None
    ) -> tuple[str, list[Callable[[Any], Any]]]:
        """The statement computing `part`, with a decoder per dimension column.

        Args:
            query: The whole query.
            part: The table and metrics the planner assigned.
            scope: The query's shared parameters (the statement's values are bound there).
            bounds: Placeholders of the visitor-number bounds for exact bitmap counts.
        """
        d = self.dialect
        p = scope.params
        table = part.table
        source = "sessions" if table == "sessions" else "events"
        if table == "sessions":
            where = [scope.sessions_range()]
        else:
            where = [scope.events_range(engagement=table == "engagement")]
        where += scope.where(table, part.filters, part.dimensions)
        if query.legacy:
            for dim in part.dimensions:
                if dim in _LEGACY_SKIP_BLANK:
                    columns = SESSION_TABLE_COLUMNS if table == "sessions" else EVENT_TABLE_COLUMNS
                    column = columns.get(dim)
                    if column == "city":
                        where.append("city <> 0")
                    elif column == "country":
                        where.append("country NOT IN ('', 'ZZ')")
                    elif column is not None:
                        where.append(f"{column} <> ''")
                    elif table != "sessions":
                        # entry/exit page on the events table: joined from sessions below.
                        pass
        smear = table == "sessions" and any(
            TIME_DIMENSIONS.get(dim) == "hour" for dim in part.dimensions
        )
        select: list[str] = []
        decoders: list[Callable[[Any], Any]] = []
        goal_list: list[str] | None = None
        bucket_join: tuple[str, str] | None = None
        session_columns: dict[str, str] = {}
        goals = query.goals
        for dim in part.dimensions:
            if dim in TIME_DIMENSIONS:
                column = "slot" if smear else ("start" if table == "sessions" else "timestamp")
                granularity = TIME_DIMENSIONS[dim]
                offset = fixed_offset(query.start, query.end, query.timezone)
                if offset is None:
                    bucket_join = (column, self._buckets_sql(query, granularity, p))
                    select.append("bucket_label")
                    decoders.append(str)
                else:
                    bucket_start = self._bucket_start(query, granularity, column, offset, p)
                    select.append(bucket_start)
                    decoders.append(_bucket_label(granularity))
                    if column == "start":
                        # The slot table only holds the range's slots: a session that
                        # started before the range has no bucket in it.
                        where.append(f"start >= {d.slot(d.timestamp(p.add(query.start)))}")
            elif dim == "event:goal":
                goals = _selected_goals(query, scope)
                cases = [
                    f"CASE WHEN {scope.goal_match(goal)} THEN {index} END"
                    for index, goal in enumerate(goals)
                ]
                goal_list = cases
                select.append("goal_index")
                decoders.append(_goal_names([g.display_name for g in goals]))
            elif table != "sessions" and dim in SESSION_ONLY_DIMENSIONS:
                # Entry and exit pages live on sessions: each event takes its session's.
                session_columns[dim] = SESSION_TABLE_COLUMNS[dim]
                select.append(f"session_{SESSION_TABLE_COLUMNS[dim]}")
                decoders.append(_plain)
            else:
                select.append(scope.dimension(table, dim))
                label = BLANK_LABELS.get(dim)
                decoders.append(_plain if label is None else _labelled(label))
        bounce_entry = (
            scope.entry_page_condition(part.filters, part.dimensions)
            if table == "sessions" and "bounce_rate" in part.metrics
            else None
        )
        for metric in part.metrics:
            select.append(
                metric_sql(metric, table, d, bounds, smear=smear, bounce_entry=bounce_entry)
            )
        if table == "sessions" and _reads_changing_columns(part, bounce_entry):
            current = d.current_sessions(where[0])
            if current is not None:
                where.insert(1, current)
        base = f"SELECT * FROM {source} WHERE {' AND '.join(where)}"
        if session_columns:
            picked = ", ".join(f"{c} AS session_{c}" for c in session_columns.values())
            session_range = scope.sessions_range()
            current = d.current_sessions(session_range)
            session_where = f"{session_range} AND {current}" if current else session_range
            base = (
                f"SELECT e.*, {', '.join(f'session_{c}' for c in session_columns.values())} "
                f"FROM ({base}) e JOIN (SELECT session_id, {picked} FROM sessions "
                f"WHERE {session_where}) s USING (session_id)"
            )
        if smear:
            base = f"SELECT *, {d.explode_slots('start', 'timestamp')} AS slot FROM ({base})"
            first_slot = d.slot(d.timestamp(p.add(query.start)))
            base = (
                f"SELECT * FROM ({base}) WHERE slot >= {first_slot} AND slot <= {p.add(query.end)}"
            )
        if bucket_join is not None:
            # Converting every row to local time is slow; converting each 15-minute slot of
            # the range once and joining on it is not (and handles half-hour zones and DST).
            column, buckets = bucket_join
            base = (
                f"SELECT b.*, k.bucket_label FROM ({base}) b JOIN ({buckets}) k "
                f"ON {d.slot(f'b.{column}')} = k.bucket_slot"
            )
        if goal_list is not None:
            base = f"SELECT *, {d.explode_present(goal_list)} AS goal_index FROM ({base})"
        if table == "engagement" and "scroll_depth" in part.metrics:
            return self._scroll_sql(query, part, scope, base, select, decoders)
        group = ""
        if part.dimensions:
            group = " GROUP BY " + ", ".join(str(i + 1) for i in range(len(part.dimensions)))
        return f"SELECT {', '.join(select)} FROM ({base}){group}", decoders

    def _bucket_start(
        self,
        query: Query,
        granularity: Granularity,
        column: str,
        offset: dt.timedelta,
        p: Params,
    ) -> str:
        """The start of each row's local bucket when the zone's offset is fixed in range.

        The same buckets as the slot table's (`fixed_offset` says why), without joining it.
        """
        d = self.dialect
        minutes = int(offset.total_seconds()) // 60
        local = d.shift(column, minutes) if minutes else column
        first_day = (query.start + offset).replace(hour=0, minute=0, second=0, microsecond=0)
        return d.truncate(local, granularity, d.timestamp(p.add(first_day)))

    def _buckets_sql(self, query: Query, granularity: Granularity, p: Params) -> str:
        """Every 15-minute slot of the range with the label of its local-time bucket."""
        d = self.dialect
        tz = p.add(query.timezone)
        start = d.timestamp(p.add(query.start))
        first_local = d.local_time(start, tz)
        label = d.bucket(d.local_time("bucket_slot", tz), granularity, first_local)
        slots = d.explode_slots(start, d.timestamp(p.add(query.end)))
        return f"SELECT bucket_slot, {label} AS bucket_label FROM (SELECT {slots} AS bucket_slot)"

    def _scroll_sql(
        self,
        query: Query,
        part: Part,
        scope: Scope,
        base: str,
        select: list[str],
        decoders: list[Callable[[Any], Any]],
    ) -> tuple[str, list[Callable[[Any], Any]]]:
        width = len(part.dimensions)
        dims = select[:width]
        inner_dims = [f"{expr} AS d{i}" for i, expr in enumerate(dims)]
        outer: list[str] = [f"d{i}" for i in range(width)]
        d = self.dialect
        for metric in part.metrics:
            if metric == "scroll_depth":
                outer.append(d.round_half_even("avg(depth)", 0))
            else:
                outer.append(d.round_half_even("sum(seconds) / nullif(count(*), 0)", 0))
        depth = d.aggregate_if("max", "scroll_depth", "scroll_depth <= 100")
        inner = ", ".join(
            [
                *inner_dims,
                "session_id",
                f"{depth} AS depth",
                "sum(engagement_time) / 1000 AS seconds",
            ]
        )
        group_inner = ", ".join([*(f"d{i}" for i in range(width)), "session_id"])
        group = f" GROUP BY {', '.join(f'd{i}' for i in range(width))}" if width else ""
        sql = (
            f"SELECT {', '.join(outer)} FROM (SELECT {inner} FROM ({base}) "
            f"GROUP BY {group_inner}){group}"
        )
        return sql, decoders


# Session columns that later events of the visit change, as dimensions or filters read them.
_CHANGING = frozenset(
    {
        "visit:entry_page",
        "visit:exit_page",
        "visit:entry_page_hostname",
        "visit:exit_page_hostname",
        *SESSION_EVENT_ALIASES,
    }
)


def _reads_changing_columns(part: Part, bounce_entry: str | None) -> bool:
    """True when a sessions part tests or groups by a column that changes during a visit.

    Such a part must read each session's current row only; otherwise a backend that keeps
    superseded versions until it merges them could count a visit under its old exit page.
    Event conditions on the sessions table become subqueries on events, which never change,
    unless the dimension aliases them to an entry column (covered by the dimension).
    """
    if bounce_entry is not None:
        return True
    if any(d in _CHANGING for d in part.dimensions):
        return True
    return any(
        c.dimension in _CHANGING and not c.dimension.startswith("event:")
        for c in iter_conditions(part.filters)
    )


def _selected_goals(query: Query, scope: Scope) -> tuple[Any, ...]:
    """Configured goals for a goal breakdown: those a top-level goal filter selects, or all."""
    chosen = [f for f in query.filters if isinstance(f, Condition) and f.dimension == "event:goal"]
    if not chosen:
        return query.goals
    selected = {g for f in chosen for g in scope.goals_for(f)}
    return tuple(g for g in query.goals if g in selected)


def _bucket_label(granularity: Granularity) -> Callable[[Any], str]:
    """Labels a bucket's start (a timestamp, or a date from a backend truncating to dates)."""
    label = LABEL_FORMATS[granularity]
    return lambda start: str(start.strftime(label))


def _plain(value: Any) -> Any:
    return value


def _labelled(label: str) -> Callable[[Any], Any]:
    """Shows a blank value as `label` (e.g. ``Direct / None``)."""
    return lambda value: label if value == "" else value


def _goal_names(names: list[str]) -> Callable[[Any], Any]:
    """Decodes a goal index into the goal's display name."""
    return lambda index: names[int(index)]
