"""A site's history as Plausible's CSV export: ten ``imported_*`` tables of daily aggregates.

The file names and columns are those of Plausible's own export (``Plausible.Exports`` in
Plausible 3), which its CSV importer reads back:

- the archive is ``<domain with dots as underscores>_<YYYYMMDD>.zip`` (the day it was made);
- each table is ``imported_<table>_<first day>_<last day>.csv``, with a header row;
- one row per local day (in the site's time zone) and dimension value; sessions count on the
  day of their last event (``sessions_v2.timestamp``), as Plausible's export counts them;
- ``visit_duration`` and ``bounces`` are totals over the row's visits (averages and rates
  are derived from them on import), ``visitors`` are distinct within the row.

Differences: engagement events are not exported as custom events (footfall never counts them
as such), and regions and cities stay empty while footfall records countries only.

The SQL uses the backend's `Dialect` for what engines spell differently; every statement runs
through `EventStore.query` over a span of consecutive days holding at most `SPAN_EVENTS`
events (counted first, per day), so the engine's working memory (the distinct visitors and
visits of each row) and the rows held here stay flat whatever the history's length.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from footfall.stats.periods import DateRange, utc_bounds
from footfall.stats.sql import dialect_for
from footfall.stats.sql.dialect import Dialect
from footfall.storage.base import EventStore

# Plausible's special goals whose ``url`` or ``path`` property its export keeps.
GOALS_WITH_URL = ("Outbound Link: Click", "Cloaked Link: Click", "File Download")
GOALS_WITH_PATH = ("404", "WP Form Completions", "Form: Submission")

# Events one statement aggregates at most (a busier day is a span of its own).
SPAN_EVENTS = 250_000

# The session totals most tables end with, in Plausible's column order for those tables.
_TOTALS = ("visitors", "visits", "visit_duration", "bounces", "pageviews")

TABLES: dict[str, tuple[str, ...]] = {
    "imported_visitors": ("date", "visitors", "pageviews", "bounces", "visits", "visit_duration"),
    "imported_sources": (
        "date",
        "source",
        "referrer",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_content",
        "utm_term",
        "pageviews",
        "visitors",
        "visits",
        "visit_duration",
        "bounces",
    ),
    "imported_pages": (
        "date",
        "hostname",
        "page",
        "visits",
        "visitors",
        "pageviews",
        "total_scroll_depth",
        "total_scroll_depth_visits",
        "total_time_on_page",
        "total_time_on_page_visits",
    ),
    "imported_entry_pages": (
        "date",
        "entry_page",
        "visitors",
        "entrances",
        "visit_duration",
        "bounces",
        "pageviews",
    ),
    "imported_exit_pages": (
        "date",
        "exit_page",
        "visitors",
        "visit_duration",
        "exits",
        "bounces",
        "pageviews",
    ),
    "imported_custom_events": ("date", "name", "link_url", "path", "visitors", "events"),
    "imported_locations": ("date", "country", "region", "city", *_TOTALS),
    "imported_devices": ("date", "device", *_TOTALS),
    "imported_browsers": ("date", "browser", "browser_version", *_TOTALS),
    "imported_operating_systems": (
        "date",
        "operating_system",
        "operating_system_version",
        *_TOTALS,
    ),
}


def archive_name(domain: str, made_on: dt.date) -> str:
    """``plausible_io_20241231.zip`` for plausible.io on 2024-12-31, as Plausible names it."""
    return f"{domain.replace('.', '_')}_{made_on:%Y%m%d}.zip"


def file_name(table: str, first: dt.date, last: dt.date) -> str:
    """``imported_pages_20230101_20240312.csv``."""
    return f"{table}_{first:%Y%m%d}_{last:%Y%m%d}.csv"


class _Sql:
    """The statements, spelled for one backend. Placeholders: $1 site, $2 start, $3 end, $4 zone."""

    def __init__(self, dialect: Dialect) -> None:
        self.d = dialect
        self.day = dialect.bucket(dialect.local_time("timestamp", "$4"), "day", "$2")
        self.visitors = dialect.distinct_visitors(None)
        self.bounces = dialect.count_if("is_bounce")

    def sessions(self, dimensions: Sequence[str], totals: Sequence[str]) -> str:
        names = {
            "visitors": self.visitors,
            "visits": "count(*)",
            "entrances": "count(*)",
            "exits": "count(*)",
            "visit_duration": "sum(duration)",
            "bounces": self.bounces,
            "pageviews": "sum(pageviews)",
        }
        dims = "".join(f", {column}" for column in dimensions)
        groups = ", ".join(str(i) for i in range(1, len(dimensions) + 2))
        return (
            f"SELECT {self.day}{dims}, {', '.join(names[t] for t in totals)} FROM sessions "
            f"WHERE site_id = $1 AND timestamp BETWEEN $2 AND $3{{where}} "
            f"GROUP BY {groups} ORDER BY {groups}"
        )

    def events_by_day(self) -> str:
        return (
            f"SELECT {self.day}, count(*) FROM events WHERE site_id = $1 AND timestamp BETWEEN "
            "$2 AND $3 GROUP BY 1 ORDER BY 1"
        )

    def pageviews_by_day(self) -> str:
        return (
            f"SELECT {self.day}, count(*) FROM events WHERE site_id = $1 AND timestamp BETWEEN "
            "$2 AND $3 AND name = 'pageview' GROUP BY 1 ORDER BY 1"
        )

    def pages(self) -> str:
        scope = "site_id = $1 AND timestamp BETWEEN $2 AND $3"
        return f"""
            SELECT p.day, p.hostname, p.page, p.visits, p.visitors, p.pageviews,
                   coalesce(s.total, 0), coalesce(s.visits, 0),
                   coalesce(t.total, 0), coalesce(t.visits, 0)
            FROM (SELECT {self.day} AS day, pathname AS page, min(hostname) AS hostname,
                         count(DISTINCT session_id) AS visits, {self.visitors} AS visitors,
                         count(*) AS pageviews
                  FROM events WHERE {scope} AND name = 'pageview' GROUP BY 1, 2) p
            LEFT JOIN (SELECT day, page, sum(depth) AS total, count(*) AS visits
                       FROM (SELECT {self.day} AS day, pathname AS page, session_id,
                                    max(scroll_depth) AS depth
                             FROM events WHERE {scope} AND name = 'engagement'
                               AND scroll_depth <= 100
                             GROUP BY 1, 2, 3) per_session
                       GROUP BY 1, 2) s ON s.day = p.day AND s.page = p.page
            LEFT JOIN (SELECT {self.day} AS day, pathname AS page,
                              round(sum(engagement_time) / 1000) AS total,
                              count(DISTINCT session_id) AS visits
                       FROM events WHERE {scope} AND name = 'engagement' GROUP BY 1, 2) t
              ON t.day = p.day AND t.page = p.page
            ORDER BY 1, 3
        """

    def custom_events(self) -> str:
        def special(names: tuple[str, ...], key: str) -> str:
            listed = ", ".join("'" + name.replace("'", "''") + "'" for name in names)
            value = self.d.prop_value("props_keys", "props_values", f"'{key}'")
            return f"CASE WHEN name IN ({listed}) THEN coalesce({value}, '') ELSE '' END"

        return (
            f"SELECT {self.day}, name, {special(GOALS_WITH_URL, 'url')}, "
            f"{special(GOALS_WITH_PATH, 'path')}, {self.visitors}, count(*) FROM events "
            "WHERE site_id = $1 AND timestamp BETWEEN $2 AND $3 "
            "AND name NOT IN ('pageview', 'engagement') GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        )


def _session_tables(sql: _Sql) -> dict[str, str]:
    all_totals = _TOTALS
    return {
        "imported_sources": sql.sessions(
            (
                "referrer_source",
                "referrer",
                "utm_source",
                "utm_medium",
                "utm_campaign",
                "utm_content",
                "utm_term",
            ),
            ("pageviews", "visitors", "visits", "visit_duration", "bounces"),
        ).format(where=""),
        "imported_entry_pages": sql.sessions(
            ("entry_page",), ("visitors", "entrances", "visit_duration", "bounces", "pageviews")
        ).format(where=" AND entry_page <> ''"),
        "imported_exit_pages": sql.sessions(
            ("exit_page",), ("visitors", "visit_duration", "exits", "bounces", "pageviews")
        ).format(where=" AND exit_page <> ''"),
        "imported_locations": sql.sessions(("country", "region", "city"), all_totals).format(
            where=" AND country NOT IN ('', 'ZZ')"
        ),
        "imported_devices": sql.sessions(("device",), all_totals).format(where=""),
        "imported_browsers": sql.sessions(("browser", "browser_version"), all_totals).format(
            where=""
        ),
        "imported_operating_systems": sql.sessions(("os", "os_version"), all_totals).format(
            where=""
        ),
    }


def spans(days: Sequence[tuple[dt.date, int]], limit: int = SPAN_EVENTS) -> list[DateRange]:
    """Consecutive days grouped into ranges of at most `limit` events (a busier day alone).

    Args:
        days: Each day with events and how many, in date order.
        limit: Events per range.
    """
    found: list[DateRange] = []
    first: dt.date | None = None
    last: dt.date | None = None
    count = 0
    for day, events in days:
        if first is not None and last is not None and count + events > limit:
            found.append(DateRange(first, last))
            first, count = None, 0
        if first is None:
            first = day
        last = day
        count += events
    if first is not None and last is not None:
        found.append(DateRange(first, last))
    return found


class TableRows:
    """Runs one table's statements month by month and yields its rows."""

    def __init__(self, store: EventStore, site_id: int, timezone: str, *, timeout: float) -> None:
        self._store = store
        self._site_id = site_id
        self._timezone = timezone
        self._timeout = timeout
        self.sql = _Sql(dialect_for(store.backend))
        self.statements = {
            **_session_tables(self.sql),
            "imported_pages": self.sql.pages(),
            "imported_custom_events": self.sql.custom_events(),
        }
        self._spans: dict[tuple[dt.date, dt.date], list[DateRange]] = {}

    def spans(self, first: dt.date, last: dt.date) -> list[DateRange]:
        """The days from `first` to `last` in ranges of at most `SPAN_EVENTS` events."""
        key = (first, last)
        if key not in self._spans:
            counts = self._run(self.sql.events_by_day(), DateRange(first, last), "spans")
            self._spans[key] = spans(
                [(dt.date.fromisoformat(str(day)), int(n)) for day, n in counts]
            )
        return self._spans[key]

    def _run(self, sql: str, span: DateRange, table: str) -> list[tuple[Any, ...]]:
        start, end = utc_bounds(span, self._timezone)
        return self._store.query(
            sql,
            [self._site_id, start, end, self._timezone],
            timeout=self._timeout,
            tag=f"export:{table}",
        )

    def rows(self, table: str, first: dt.date, last: dt.date) -> Iterator[tuple[Any, ...]]:
        """Every row of `table` for the local dates `first` to `last`, in date order."""
        for span in self.spans(first, last):
            if table == "imported_visitors":
                yield from self._visitors(span)
            else:
                yield from self._run(self.statements[table], span, table)

    def _visitors(self, span: DateRange) -> Iterator[tuple[Any, ...]]:
        sessions = self._run(
            self.sql.sessions((), ("visitors", "bounces", "visits", "visit_duration")).format(
                where=""
            ),
            span,
            "imported_visitors",
        )
        pageviews = dict(self._run(self.sql.pageviews_by_day(), span, "imported_visitors"))
        by_day = {row[0]: row[1:] for row in sessions}
        for day in sorted(set(by_day) | set(pageviews)):
            visitors, bounces, visits, duration = by_day.get(day, (0, 0, 0, 0))
            yield (day, visitors, pageviews.get(day, 0), bounces, visits, duration)


def write_zip(
    rows: TableRows,
    out: IO[bytes],
    *,
    first: dt.date,
    last: dt.date,
    data_days: tuple[dt.date, dt.date] | None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Writes the ten tables as CSV files into a zip streamed to `out` (no seeking needed).

    The files are named for `first` to `last`; only `data_days` (the part of that range that
    holds events, None for none) is read.

    Returns:
        The number of rows written per file name.
    """
    written: dict[str, int] = {}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table, header in TABLES.items():
            if progress is not None:
                progress(table)
            name = file_name(table, first, last)
            count = 0
            with (
                archive.open(name, "w", force_zip64=True) as raw,
                io.TextIOWrapper(raw, encoding="utf-8", newline="") as text,
            ):
                writer = csv.writer(text, lineterminator="\n")
                writer.writerow(header)
                for row in rows.rows(table, *data_days) if data_days else ():
                    writer.writerow(_cells(row))
                    count += 1
            written[name] = count
    return written


def _cells(row: tuple[Any, ...]) -> list[Any]:
    return [_cell(value) for value in row]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    return value
