"""Runs a `Query`: plan → SQL per part → merge on dimensions → derived metrics → order → page.

The engine is the only reader of the event store for statistics; the API versions, the
dashboard and exports all come through `StatsEngine.run`.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import orjson

from footfall.errors import QueryRejectedError, QueryTimeoutError
from footfall.stats.cache import NullCache, QueryCache, cache_key, ttl_for
from footfall.stats.model import (
    TIME_DIMENSIONS,
    Query,
    QueryResult,
    StatsQueryError,
    iter_conditions,
)
from footfall.stats.periods import bucket_count, bucket_labels, check_bucket_count
from footfall.stats.plan import (
    DERIVED_METRICS,
    Part,
    base_metrics,
    extend_hostname_filters,
    is_goal_or_prop,
    plan,
)
from footfall.stats.rows import decode_result, encode_result, order_rows
from footfall.stats.shape import query_shape
from footfall.stats.sql import dialect_for
from footfall.stats.sql.dialect import OUTSIDE_BOUNDS, Dialect
from footfall.stats.sql.parts import PartBuilder
from footfall.stats.sql.scope import (
    EVENT_TABLE_COLUMNS,
    SESSION_EVENT_ALIASES,
    SESSION_TABLE_COLUMNS,
    Params,
    Scope,
)
from footfall.stats.warming import (
    DEFAULT_WINDOW_SECONDS,
    LiveQueries,
    SingleFlight,
    WarmingStats,
)


class QuerySource(Protocol):
    """What the engine needs of an event store (`footfall.storage.base.EventStore` has it)."""

    backend: str

    def query(
        self, sql: str, params: Sequence[Any], *, timeout: float, tag: str
    ) -> list[tuple[Any, ...]]:
        """Runs one read statement under a time limit (see `EventStore.query`)."""
        ...

    def data_version(self) -> int:
        """Changes whenever stored data may change other than by appending now."""
        ...


# A bitmap costs (range of visitor numbers)/8 bytes per group; above this, hash instead.
_BITMAP_BUDGET_BYTES = 256 << 20
# How long a column's distinct-value estimate is trusted.
_CARDINALITY_SECONDS = 600.0
# A bitmap's cost grows with (groups x range of visitor numbers), a hashed count(DISTINCT)'s
# with the rows: on DuckDB one bit of bitmap per group costs about 1/400 of what hashing one
# row does (docs/adr/0023-counting-by-the-cheaper-way.md). Above this many bits per row
# in range, count with the hash.
BITMAP_BITS_PER_ROW = 400
# The range statistics remembered (bounds and rows of a table over a range).
_RANGE_STATS_KEPT = 512
# Values shown for a metric of a group that has no rows in the part that computes it.
_EMPTY: dict[str, Any] = {
    "visitors": 0,
    "visits": 0,
    "pageviews": 0,
    "events": 0,
    "bounce_rate": 0,
    "visit_duration": 0,
    "views_per_visit": 0.0,
    "time_on_page": None,
    "scroll_depth": None,
}


# When the question being computed on this thread must be answered by (monotonic seconds).
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "footfall_query_deadline", default=None
)

# When the request asking for statistics arrived (monotonic seconds), set by the web layer and
# carried into the worker thread with the context: the time limit counts from there, so a
# question that waited its whole limit for a free thread is not started for a client that has
# given up (under overload the queue would otherwise only grow, and delay a clean stop).
ASKED_AT: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "footfall_asked_at", default=None
)

# Plausible's "current visitors": anyone seen in the last five minutes.
REALTIME_WINDOW = dt.timedelta(minutes=5)


class StatsEngine:
    """Answers queries from the event store, through the query cache.

    Args:
        store: The event store the SQL runs on; its `backend` picks the SQL dialect.
        cache: Where results are kept.
        now: The current time (aware), to tell live ranges from past ones.
        timeout_seconds: A query running longer is interrupted.
        live_ttl: Cache lifetime of results whose range touches now.
        past_ttl: Cache lifetime of results for ranges entirely in the past.
        on_query: Called after each query that ran on the store (not answered from the
            cache) with its shape (`footfall.stats.shape`) and its duration in seconds.
        generation: The store's write generation; changes whenever events or sessions were
            written, so a live result computed at the current generation is still exact.
        data_version: The data version cache keys carry, when not the store's own (several
            workers sharing one cache agree on one: `footfall.cluster.version`).
    """

    def __init__(
        self,
        store: QuerySource,
        *,
        cache: QueryCache | None = None,
        now: Callable[[], dt.datetime],
        timeout_seconds: float = 10.0,
        live_ttl: float = 5.0,
        past_ttl: float = 86400.0,
        on_query: Callable[[str, float], None] | None = None,
        generation: Callable[[], int] = lambda: 0,
        data_version: Callable[[], int] | None = None,
    ) -> None:
        self._store = store
        self._on_query = on_query
        self._generation = generation
        self.live = LiveQueries()
        self.warming = WarmingStats()
        self._flight: SingleFlight[QueryResult] = SingleFlight()
        self.cache: QueryCache = cache if cache is not None else NullCache()
        self._data_version = data_version or store.data_version
        self._now = now
        self._timeout = timeout_seconds
        self._live_ttl = live_ttl
        self._past_ttl = past_ttl
        self.dialect: Dialect = dialect_for(store.backend)
        self._parts = PartBuilder(self.dialect)
        self._cardinalities: dict[tuple[int, str, str], tuple[int, float]] = {}
        self._range_stats: dict[tuple[Any, ...], tuple[int, int, int] | None] = {}

    def run(self, query: Query) -> QueryResult:
        """The answer to `query`, from the cache when it holds a fresh one.

        Raises:
            StatsQueryError: The query asks for more time buckets than a series may have.
            QueryTimeoutError: The query ran past the time limit and was interrupted.
        """
        for dim in query.dimensions:
            if dim in TIME_DIMENSIONS:
                check_bucket_count(query.start, query.end, query.timezone, TIME_DIMENSIONS[dim])
        text = repr(query)
        key = cache_key(query.site_id, text, self._data_version())
        if self._ttl(query) == self._live_ttl:
            self.live.requested(text, query)
        cached = self.cache.get(key)
        if cached is not None:
            return decode_result(cached)
        return self._flight.do(key, lambda: self._compute(query, text, key))

    def _ttl(self, query: Query) -> float:
        now = self._now().astimezone(dt.UTC).replace(tzinfo=None)
        return ttl_for(query.end, now, live_ttl=self._live_ttl, past_ttl=self._past_ttl)

    def _compute(self, query: Query, text: str, key: str) -> QueryResult:
        """Runs `query` and caches its result."""
        generation = self._generation()  # read first: a write during the query makes it stale
        started = time.perf_counter()
        # One time limit for the whole question, however many statements it takes, counted
        # from the request's arrival when a request asked.
        now = time.monotonic()
        asked = ASKED_AT.get()
        if asked is not None and now - asked >= self._timeout:
            raise QueryTimeoutError(
                f"the server was too busy: the question waited {now - asked:.0f} s for its "
                f"turn, past the {self._timeout:g} s limit"
            )
        token = _DEADLINE.set((now if asked is None else asked) + self._timeout)
        try:
            result = self._execute(query)
        finally:
            _DEADLINE.reset(token)
        self._observe(query_shape(query), started)
        self.cache.set(key, encode_result(result), self._ttl(query))
        self.live.computed(text, generation)
        return result

    def warm(
        self,
        *,
        budget_seconds: float,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
    ) -> tuple[int, int]:
        """Refreshes the cached results of the live queries asked recently, before they expire.

        Queries asked at least twice within `window_seconds` whose cached result is older than
        half the live TTL are handled, most asked first, until `budget_seconds` are spent. A
        result computed at the current write generation is still exact: it is cached again
        as it is. Any other is recomputed.

        Returns:
            How many results were extended and how many were recomputed.
        """
        deadline = time.monotonic() + budget_seconds
        extended = recomputed = 0
        due = self.live.due(window_seconds=window_seconds, refresh_after=self._live_ttl / 2)
        for text, entry in due:
            if time.monotonic() >= deadline:
                break
            query = entry.query
            if self._ttl(query) != self._live_ttl:
                continue  # its range ended meanwhile: cached for long at the next request
            key = cache_key(query.site_id, text, self._data_version())
            if entry.generation == self._generation():
                cached = self.cache.get(key)
                if cached is not None:
                    self.cache.set(key, cached, self._live_ttl)
                    self.live.computed(text, entry.generation)
                    extended += 1
                    continue
            self._flight.do(key, functools.partial(self._compute, query, text, key))
            recomputed += 1
        self.warming.rounds += 1
        self.warming.extended += extended
        self.warming.recomputed += recomputed
        return extended, recomputed

    @property
    def shared_computations(self) -> int:
        """Cache misses that waited for a computation another caller had started."""
        return self._flight.shared

    def property_names(
        self, site_id: int, start: dt.datetime, end: dt.datetime, limit: int = 100
    ) -> list[str]:
        """Custom property names used from `start` to `end` (naive UTC), most used first.

        For the dashboard's property picker; cached like query results.
        """
        now = self._now().astimezone(dt.UTC).replace(tzinfo=None)
        ttl = ttl_for(end, now, live_ttl=self._live_ttl, past_ttl=self._past_ttl)
        # A live range's names change with every write: the write generation keeps a name
        # stored since the last answer from being hidden for a whole TTL.
        generation = self._generation() if ttl == self._live_ttl else 0
        key = cache_key(
            site_id,
            f"property_names:{start}:{end}:{limit}:{generation}",
            self._data_version(),
        )
        cached = self.cache.get(key)
        if cached is not None:
            names: list[str] = orjson.loads(cached)
            return names
        d = self.dialect
        sql = (
            f"SELECT k FROM (SELECT {d.explode('props_keys')} AS k FROM events "
            "WHERE site_id = $1 AND timestamp >= $2 AND timestamp <= $3 "
            f"AND name <> 'engagement' AND {d.list_length('props_keys')} > 0) "
            "GROUP BY k ORDER BY count(*) DESC, k LIMIT $4"
        )
        started = time.perf_counter()
        rows = self.fetch(sql, [site_id, start, end, limit], tag="property names")
        names = [str(row[0]) for row in rows]
        self._observe("property names", started)
        self.cache.set(key, orjson.dumps(names), ttl)
        return names

    def realtime_visitors(self, site_id: int, now: dt.datetime) -> int:
        """Distinct visitors with an event (not engagement) in the window before `now` (aware).

        The window is `REALTIME_WINDOW`, Plausible's definition of current visitors.
        """
        since = now.astimezone(dt.UTC).replace(tzinfo=None) - REALTIME_WINDOW
        sql = (
            "SELECT count(DISTINCT visitor) FROM events WHERE site_id = $1 "
            "AND timestamp >= $2 AND name <> 'engagement'"
        )
        started = time.perf_counter()
        rows = self.fetch(sql, [site_id, since], tag="realtime visitors")
        self._observe("realtime visitors", started)
        return int(rows[0][0]) if rows else 0

    def first_day(self, site_id: int, timezone: str) -> dt.date | None:
        """The local date of the site's first stored event (None when it has none)."""
        rows = self.fetch(
            "SELECT min(timestamp) FROM events WHERE site_id = $1", [site_id], tag="first day"
        )
        if not rows or rows[0][0] is None:
            return None
        first: dt.datetime = rows[0][0]
        return first.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(timezone)).date()

    # -- execution -------------------------------------------------------------------------

    def _observe(self, shape: str, started: float) -> None:
        if self._on_query is not None:
            self._on_query(shape, time.perf_counter() - started)

    def fetch(self, sql: str, params: list[Any], *, tag: str = "") -> list[tuple[Any, ...]]:
        """Runs one statement on the store under the query time limit.

        Raises:
            QueryTimeoutError: It ran past the limit and was interrupted.
        """
        timeout = self._timeout
        deadline = _DEADLINE.get()
        if deadline is not None:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                raise QueryTimeoutError(
                    f"the query took longer than {self._timeout:g} s and was stopped"
                )
        try:
            return self._store.query(sql, params, timeout=timeout, tag=tag)
        except QueryTimeoutError as exc:
            # Name the configured limit, not what remained of it for this statement.
            raise QueryTimeoutError(
                f"the query took longer than {self._timeout:g} s and was stopped"
            ) from exc

    def _check_patterns(self, query: Query) -> None:
        """Refuses a regular expression the database cannot compile, before running anything."""
        for cond in iter_conditions(query.filters):
            if not cond.op.startswith("matches") or cond.op.startswith("matches_wildcard"):
                continue
            for pattern in cond.values:
                try:
                    check = self.dialect.regex("''", "$1")
                    self.fetch(f"SELECT {check}", [str(pattern)], tag="pattern check")
                except QueryRejectedError as exc:
                    reason = str(exc)
                    raise StatsQueryError(
                        f"Invalid regular expression `{pattern}` in a `{cond.op}` filter on "
                        f"`{cond.dimension}`: {reason}"
                    ) from exc

    def _execute(self, query: Query) -> QueryResult:
        self._check_patterns(query)
        query = extend_hostname_filters(query)
        merged = self._run_parts(query, plan(query, base_metrics(query)))
        if any(m in DERIVED_METRICS for m in query.metrics):
            self._add_rates(query, merged)
        rows = list(merged.items())
        time_dim = next((d for d in query.dimensions if d in TIME_DIMENSIONS), None)
        meta: dict[str, Any] = {}
        if time_dim is not None:
            labels = bucket_labels(
                query.start, query.end, query.timezone, TIME_DIMENSIONS[time_dim]
            )
            if query.fill_time_buckets and query.dimensions == (time_dim,):
                known = dict(rows)
                rows = [((label,), known.get((label,), _empty_bucket())) for label in labels]
            else:
                meta["time_labels"] = labels
        ordered = order_rows(query, rows)
        total = len(ordered)
        end = None if query.limit is None else query.offset + query.limit
        page = ordered[query.offset : end]
        out = [(dims, tuple(values.get(m) for m in query.metrics)) for dims, values in page]
        return QueryResult(rows=out, total_rows=total, meta=meta)

    def _run_parts(self, query: Query, parts: list[Part]) -> dict[tuple[Any, ...], dict[str, Any]]:
        merged: dict[tuple[Any, ...], dict[str, Any]] = {}
        for part in parts:
            for dims, values in self._run_part(query, part):
                merged.setdefault(dims, {}).update(values)
        if not query.dimensions and not merged:
            merged[()] = {}
        for values in merged.values():
            for metric in (m for part in parts for m in part.metrics):
                values.setdefault(metric, _EMPTY.get(metric))
        return merged

    def _scope(self, query: Query) -> Scope:
        return Scope(
            site_id=query.site_id,
            start=query.start,
            end=query.end,
            timezone=query.timezone,
            goals=query.goals,
            dialect=self.dialect,
            params=Params(),
        )

    def _cardinality(self, query: Query, table: str, dim: str) -> int:
        """About how many groups `dim` makes, to size visitor bitmaps (cached for a while)."""
        if dim in TIME_DIMENSIONS:
            return bucket_count(query.start, query.end, query.timezone, TIME_DIMENSIONS[dim])
        if dim == "event:goal":
            return max(1, len(query.goals))
        columns = SESSION_TABLE_COLUMNS if table == "sessions" else EVENT_TABLE_COLUMNS
        column = columns.get(dim) or (
            SESSION_EVENT_ALIASES.get(dim) if table == "sessions" else None
        )
        if column is None:  # custom properties: no cheap estimate, assume many
            return 10_000
        key = (query.site_id, table, column)
        now = time.monotonic()
        known = self._cardinalities.get(key)
        if known is not None and now - known[1] < _CARDINALITY_SECONDS:
            return known[0]
        rows = self.fetch(
            f"SELECT {self.dialect.approx_distinct(column)} FROM {table} WHERE site_id = $1",
            [query.site_id],
            tag="cardinality",
        )
        # The sketch can be a few per cent low; the margin keeps the budget honest.
        value = int(int(rows[0][0] or 0) * 1.1) + 1 if rows else 1
        self._cardinalities[key] = (value, now)
        return value

    def _range_statistics(self, query: Query, table: str) -> tuple[int, int, int] | None:
        """The lowest and highest visitor number of `table` in range, and its rows there.

        The eight requests of a dashboard share a range, so the answer is kept until the
        next write (None: no row in range).
        """
        key = (table, query.site_id, query.start, query.end, self._generation())
        if key in self._range_stats:
            return self._range_stats[key]
        probe = self._scope(query)
        # Bounds only need to enclose every number in range; leaving out the name condition
        # lets DuckDB answer from its min/max statistics instead of scanning.
        where = (
            probe.sessions_range()
            if table == "sessions"
            else f"site_id = {probe.params.add(query.site_id)} AND timestamp BETWEEN "
            f"{probe.params.add(query.start)} AND {probe.params.add(query.end)}"
        )
        rows = self.fetch(
            *probe.params.bind(
                f"SELECT min(visitor), max(visitor), count(*) FROM {table} WHERE {where}"
            )
        )
        found = None
        if rows and rows[0][0] is not None:
            found = (int(rows[0][0]), int(rows[0][1]), int(rows[0][2]))
        if len(self._range_stats) >= _RANGE_STATS_KEPT:
            self._range_stats.clear()
        self._range_stats[key] = found
        return found

    def _visitor_bounds(self, query: Query, part: Part, scope: Scope) -> tuple[str, str] | None:
        """Bounds for a bitmap visitor count, or None to count with count(DISTINCT)."""
        if "visitors" not in part.metrics or not self.dialect.uses_visitor_bounds:
            return None
        table = "sessions" if part.table == "sessions" else "events"
        found = self._range_statistics(query, table)
        if found is None:
            return None
        low, high, rows = found
        groups = 1
        for dim in part.dimensions:
            groups *= self._cardinality(query, table, dim)
        bits = (high - low + 1) * groups
        if bits // 8 > _BITMAP_BUDGET_BYTES or bits > BITMAP_BITS_PER_ROW * rows:
            return None
        return scope.params.add(low), scope.params.add(high)

    def _run_part(
        self, query: Query, part: Part
    ) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
        scope = self._scope(query)
        bounds = self._visitor_bounds(query, part, scope)
        sql, decoders = self._parts.part_sql(query, part, scope, bounds)
        rows = self.fetch(*scope.params.bind(sql), tag=query_shape(query))
        width = len(part.dimensions)
        if bounds is not None and _outside_bounds(rows, width + part.metrics.index("visitors")):
            # A visitor stored after the bounds were read: count again, without them.
            scope = self._scope(query)
            sql, decoders = self._parts.part_sql(query, part, scope, None)
            rows = self.fetch(*scope.params.bind(sql), tag=query_shape(query))
        for row in rows:
            dims = tuple(decode(v) for decode, v in zip(decoders, row[:width], strict=True))
            values = dict(zip(part.metrics, row[width:], strict=True))
            yield dims, {m: _finish(m, v) for m, v in values.items()}

    def _add_rates(self, query: Query, merged: dict[tuple[Any, ...], dict[str, Any]]) -> None:
        """conversion_rate, group_conversion_rate and percentage, from extra totals."""
        plain = tuple(f for f in query.filters if not is_goal_or_prop(f))
        # A group's denominator ignores goal and custom-property groupings: visitors do not
        # belong to a goal unless they converted.
        kept = [
            i
            for i, d in enumerate(query.dimensions)
            if d != "event:goal" and not d.startswith("event:props:")
        ]
        group_dims = tuple(query.dimensions[i] for i in kept)
        legacy_grouped = bool(
            query.legacy and query.dimensions and len(kept) == len(query.dimensions)
        )
        totals: dict[str, tuple[bool, dict[tuple[Any, ...], Any]]] = {}
        if "percentage" in query.metrics:
            totals["percentage"] = (False, self._visitor_totals(query, query.filters, ()))
        if "conversion_rate" in query.metrics:
            dims = group_dims if legacy_grouped else ()
            totals["conversion_rate"] = (legacy_grouped, self._visitor_totals(query, plain, dims))
        if "group_conversion_rate" in query.metrics:
            totals["group_conversion_rate"] = (
                True,
                self._visitor_totals(query, plain, group_dims),
            )
        for dims, values in merged.items():
            visitors = values.get("visitors") or 0
            for metric, (grouped, by_group) in totals.items():
                key = tuple(dims[i] for i in kept) if grouped else ()
                total = by_group.get(key, 0)
                if metric == "percentage":
                    # One decimal (`sql/special_metrics.ex`), unlike the conversion rates.
                    values[metric] = round(100 * visitors / total, 1) if total else None
                else:
                    values[metric] = round(100 * visitors / total, 2) if total else 0.0

    def _visitor_totals(
        self, query: Query, filters: tuple[Any, ...], dims: tuple[str, ...]
    ) -> dict[tuple[Any, ...], Any]:
        sub = Query(
            site_id=query.site_id,
            timezone=query.timezone,
            start=query.start,
            end=query.end,
            metrics=("visitors",),
            filters=filters,
            dimensions=dims,
            goals=query.goals,
        )
        merged = self._run_parts(sub, plan(sub, ("visitors",)))
        return {key: values.get("visitors", 0) for key, values in merged.items()}


def _outside_bounds(rows: list[tuple[Any, ...]], column: int) -> bool:
    """True when a group's bounded visitor count found numbers outside its bounds."""
    return any(row[column] == OUTSIDE_BOUNDS for row in rows)


def _finish(metric: str, value: Any) -> Any:
    """Python types of the API: ints for counts and rounded percentages, floats for ratios."""
    if value is None:
        return _EMPTY.get(metric)
    if metric in ("views_per_visit",):
        return float(value)
    return int(value)


def _empty_bucket() -> dict[str, Any]:
    values = dict(_EMPTY)
    values["visit_duration"] = None
    values["conversion_rate"] = 0.0
    values["group_conversion_rate"] = 0.0
    values["percentage"] = None
    return values
