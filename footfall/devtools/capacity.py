"""Capacity planning: what a volume of traffic needs, from measured or documented unit costs.

Plain computations, no IO: `footfall.devtools.capacity_probe` measures the unit costs on a live data
directory and `footfall capacity` prints what this module projects from them.

The model, per figure (docs/operations.md, "Capacity planning"):

* **Disk** = events kept x bytes per event (the whole store file, sessions included) x
  `DISK_HEADROOM`: room for the write-ahead log between checkpoints, blocks freed by retention
  deletes before DuckDB reuses them, and the copy a backup writes while it runs.
* **Query latency** (uncached, the 30-day view) = fixed cost + cost per row x rows in the view:
  DuckDB scans every event (or session) of the range, so the time is linear in the rows
  scanned, fitted through two points, an empty range and the live store's last 30 days.
* **Memory** = the server's baseline RSS + bytes per row of the 30-day view (DuckDB's buffer
  cache of the blocks the dashboard reads, plus the hash tables and bitmaps of its queries).
* **CPU for ingest** = events per second / events one core ingests over HTTP (durably
  acknowledged), at the average rate and at the peak (average x peak factor); one more core
  for queries.
* **ClickHouse** is advised when one DuckDB process stops being comfortable: the projected
  top-pages query passes `CLICKHOUSE_TOP_PAGES_MS`, the disk passes `CLICKHOUSE_DISK_BYTES`, or
  the peak ingest rate passes what one writer process sustains.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from footfall.text.quantities import format_bytes

Source = Literal["measured", "default"]
MEASURED: Source = "measured"
DEFAULT: Source = "default"

# -- documented defaults (docs/benchmarks.md, 2-core machine, one site, 30 days) ----------------

#: Events in the 30-day view behind the documented query timings (10M generated lines).
DEFAULT_VIEW_ROWS = 9_909_997
#: Whole store file per event at 10M events, the sessions table included.
DEFAULT_BYTES_PER_EVENT = 36.5
#: Sessions per stored event in the demo traffic (3,852,624 / 9,909,997).
DEFAULT_SESSIONS_PER_EVENT = 0.389
#: Uncached p50 of each query shape on 10M events, in ms.
DEFAULT_QUERY_MS: dict[str, float] = {
    "aggregate": 66.6,
    "timeseries": 77.1,
    "top_pages": 277.6,
    "sources": 52.5,
}
#: `POST /api/event` on one core, durable 202s (one uvicorn worker pinned to one CPU).
DEFAULT_INGEST_EVENTS_PER_CORE = 10_880.0
#: The ingest pipeline alone (parse, enrich, sessionise) on the machine of that figure; a
#: measured pipeline speed scales the HTTP figure by the ratio of the two.
REFERENCE_PIPELINE_EVENTS_PER_SECOND = 43_000.0
#: RSS of an idle `footfall serve` on an empty data directory.
DEFAULT_BASELINE_RSS_BYTES = 350 * 2**20
#: RSS growth per row of the 30-day view: 1.26 GB after the 10M-event query benchmark,
#: less the baseline, over its 9.9M rows.
DEFAULT_MEMORY_BYTES_PER_ROW = (1.26e9 - DEFAULT_BASELINE_RSS_BYTES) / DEFAULT_VIEW_ROWS

# -- policy -----------------------------------------------------------------------------------

#: The view the dashboard opens with, and the period query latency is projected for.
VIEW_DAYS = 30
#: Disk headroom over the store's size: WAL, freed blocks awaiting reuse, import spill.
DISK_HEADROOM = 1.5
#: Advise ClickHouse when the uncached top-pages query of the 30-day view would take longer.
CLICKHOUSE_TOP_PAGES_MS = 1000.0
#: ... or when the projected disk passes this (a single DuckDB file to back up and rewrite).
CLICKHOUSE_DISK_BYTES = float(2**40)
#: Below this many events a store's bytes per event say little: DuckDB's partly filled blocks
#: and per-row-group metadata dominate (even with an empty store's size left out: 59.6 B per
#: event at 40k events, 39.7 at 100k, 36.6 at 10M).
MIN_MEASURED_EVENTS = 100_000
#: Query costs and memory are only measured on a 30-day view at least this large. DuckDB
#: splits scans by row groups of 122,880 rows, so a small view runs on fewer threads with more
#: fixed cost per row: projected to 9.7M rows, timings on 300k events overstated the real ones
#: up to 2.7 times, on 40k events up to 7 times; and allocator noise swamps memory growth.
MIN_MEASURED_VIEW_ROWS = 1_000_000

QUERY_SHAPES = ("aggregate", "timeseries", "top_pages", "sources")
QUERY_LABELS = {
    "aggregate": "aggregate (6 metrics)",
    "timeseries": "daily timeseries",
    "top_pages": "top pages",
    "sources": "sources",
}


@dataclass(frozen=True)
class Figure:
    """One unit cost, and whether it was measured on the live store or is a documented default."""

    value: float
    source: Source
    note: str = ""


@dataclass(frozen=True)
class QueryCost:
    """A query shape's uncached latency as a line: fixed ms plus ns per row scanned."""

    fixed_ms: float
    ns_per_row: float
    source: Source
    # What the fit came from: the measured latency and the rows it scanned.
    sample_ms: float
    sample_rows: int

    def at(self, rows: float) -> float:
        """Latency in ms for a view of `rows` rows."""
        return self.fixed_ms + self.ns_per_row * rows / 1e6

    @classmethod
    def fit(cls, *, empty_ms: float, sample_ms: float, rows: int, source: Source) -> QueryCost:
        """The line through (0 rows, `empty_ms`) and (`rows`, `sample_ms`).

        A sample faster than the empty range (noise on a small store) gives a zero slope.
        """
        slope = max(0.0, sample_ms - empty_ms) / rows * 1e6 if rows > 0 else 0.0
        return cls(
            fixed_ms=max(0.0, min(empty_ms, sample_ms)),
            ns_per_row=slope,
            source=source,
            sample_ms=sample_ms,
            sample_rows=rows,
        )


def default_query_costs() -> dict[str, QueryCost]:
    """The documented 10M-event timings as lines through the origin."""
    return {
        shape: QueryCost.fit(empty_ms=0.0, sample_ms=ms, rows=DEFAULT_VIEW_ROWS, source=DEFAULT)
        for shape, ms in DEFAULT_QUERY_MS.items()
    }


@dataclass(frozen=True)
class Figures:
    """Every unit cost the projection needs."""

    bytes_per_event: Figure = Figure(DEFAULT_BYTES_PER_EVENT, DEFAULT)
    sessions_per_event: Figure = Figure(DEFAULT_SESSIONS_PER_EVENT, DEFAULT)
    ingest_events_per_core: Figure = Figure(DEFAULT_INGEST_EVENTS_PER_CORE, DEFAULT)
    baseline_rss_bytes: Figure = Figure(DEFAULT_BASELINE_RSS_BYTES, DEFAULT)
    memory_bytes_per_row: Figure = Figure(DEFAULT_MEMORY_BYTES_PER_ROW, DEFAULT)
    queries: dict[str, QueryCost] = field(default_factory=default_query_costs)

    def with_(self, **changes: Any) -> Figures:
        """A copy with some figures replaced."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data: each figure's value, source and note; each query's line."""
        return asdict(self)


def ingest_per_core_from_pipeline(pipeline_events_per_second: float) -> float:
    """Events per second one core ingests over HTTP, scaled by this machine's pipeline speed.

    The HTTP figure was measured on the reference machine; a machine whose pipeline runs at
    a different speed is assumed to run the rest of the request (HTTP parsing, the journal,
    applying to DuckDB) at the same relative speed.
    """
    ratio = pipeline_events_per_second / REFERENCE_PIPELINE_EVENTS_PER_SECOND
    return DEFAULT_INGEST_EVENTS_PER_CORE * ratio


@dataclass(frozen=True)
class Projection:
    """What `events_per_day` kept for `retention_days` needs."""

    events_per_day: int
    retention_days: int
    peak_factor: float
    events_kept: int
    sessions_kept: int
    events_per_second: float
    peak_events_per_second: float
    store_bytes: float
    disk_bytes: float
    view_rows: int
    query_ms: dict[str, float]
    memory_bytes: float
    ingest_cores: float
    peak_ingest_cores: float
    cores: int
    single_writer_events_per_second: float
    clickhouse: bool
    reasons: list[str]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return asdict(self)


def project(
    figures: Figures, *, events_per_day: int, retention_days: int, peak_factor: float = 3.0
) -> Projection:
    """Projects disk, memory, CPU and query latency for a volume of traffic.

    Args:
        figures: The unit costs (measured or default).
        events_per_day: Average events per day, all sites together.
        retention_days: How many days of events are kept.
        peak_factor: The busiest minute's rate over the day's average rate.

    Returns:
        The projection, with the ClickHouse advice and its reasons.

    Raises:
        ValueError: A negative volume, retention < 1 or a peak factor < 1.
    """
    if events_per_day < 0:
        raise ValueError("events per day must be >= 0")
    if retention_days < 1:
        raise ValueError("retention must be at least one day")
    if peak_factor < 1:
        raise ValueError("the peak factor must be >= 1")
    events_kept = events_per_day * retention_days
    view_rows = events_per_day * min(VIEW_DAYS, retention_days)
    store_bytes = events_kept * figures.bytes_per_event.value
    disk_bytes = store_bytes * DISK_HEADROOM
    rate = events_per_day / 86_400
    peak = rate * peak_factor
    per_core = figures.ingest_events_per_core.value
    ingest_cores = rate / per_core
    peak_cores = peak / per_core
    query_ms = {shape: cost.at(view_rows) for shape, cost in figures.queries.items()}
    memory = figures.baseline_rss_bytes.value + figures.memory_bytes_per_row.value * view_rows
    # One writer: `footfall serve` is one process with one event loop, so its HTTP ingest
    # stops at about one core's worth, whatever the machine has.
    single_writer = per_core
    reasons: list[str] = []
    top = query_ms.get("top_pages", 0.0)
    if top > CLICKHOUSE_TOP_PAGES_MS:
        reasons.append(
            f"the uncached top-pages query of the {VIEW_DAYS}-day view would take "
            f"~{top / 1000:.1f} s (over {CLICKHOUSE_TOP_PAGES_MS / 1000:.0f} s)"
        )
    if disk_bytes > CLICKHOUSE_DISK_BYTES:
        reasons.append(
            f"the event store would need ~{format_bytes(disk_bytes)} of disk "
            f"(over {format_bytes(CLICKHOUSE_DISK_BYTES)} in one DuckDB file)"
        )
    if peak > single_writer:
        reasons.append(
            f"the peak of ~{peak:,.0f} events/s is more than one footfall process ingests "
            f"(~{single_writer:,.0f} events/s)"
        )
    return Projection(
        events_per_day=events_per_day,
        retention_days=retention_days,
        peak_factor=peak_factor,
        events_kept=events_kept,
        sessions_kept=round(events_kept * figures.sessions_per_event.value),
        events_per_second=rate,
        peak_events_per_second=peak,
        store_bytes=store_bytes,
        disk_bytes=disk_bytes,
        view_rows=view_rows,
        query_ms=query_ms,
        memory_bytes=memory,
        ingest_cores=ingest_cores,
        peak_ingest_cores=peak_cores,
        # Ingest at its peak, plus one for queries (DuckDB runs each on every core it has).
        cores=max(2, math.ceil(peak_cores) + 1),
        single_writer_events_per_second=single_writer,
        clickhouse=bool(reasons),
        reasons=reasons,
    )


def format_ms(value: float) -> str:
    """Milliseconds, with the precision that matters at their size."""
    if value >= 10_000:
        return f"{value / 1000:,.0f} s"
    if value >= 1000:
        return f"{value / 1000:.1f} s"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def figure_rows(figures: Figures) -> list[tuple[str, str, str]]:
    """(figure, value, source) rows for the table of unit costs."""
    plain: list[tuple[str, str, Figure]] = [
        (
            "bytes per event on disk",
            f"{figures.bytes_per_event.value:.1f} B",
            figures.bytes_per_event,
        ),
        (
            "sessions per event",
            f"{figures.sessions_per_event.value:.2f}",
            figures.sessions_per_event,
        ),
        (
            "ingest per core (HTTP)",
            f"{figures.ingest_events_per_core.value:,.0f} events/s",
            figures.ingest_events_per_core,
        ),
        (
            "baseline RSS",
            format_bytes(figures.baseline_rss_bytes.value),
            figures.baseline_rss_bytes,
        ),
        (
            "memory per row of the view",
            f"{figures.memory_bytes_per_row.value:.0f} B",
            figures.memory_bytes_per_row,
        ),
    ]
    rows = [(name, value, _source(figure)) for name, value, figure in plain]
    for shape, cost in figures.queries.items():
        rows.append(
            (
                f"query: {QUERY_LABELS.get(shape, shape)}",
                f"{format_ms(cost.sample_ms)} on {cost.sample_rows:,} rows "
                f"({cost.fixed_ms:.1f} ms + {cost.ns_per_row:.1f} ns/row)",
                cost.source,
            )
        )
    return rows


def _source(figure: Figure) -> str:
    return f"{figure.source} ({figure.note})" if figure.note else figure.source


def projection_rows(p: Projection) -> list[tuple[str, str]]:
    """(item, value) rows for the table of projections."""
    rows = [
        ("events kept", f"{p.events_kept:,} ({p.sessions_kept:,} visits)"),
        (
            "ingest rate",
            f"{p.events_per_second:,.1f} events/s average, "
            f"{p.peak_events_per_second:,.1f} at peak (x{p.peak_factor:g})",
        ),
        (
            "disk",
            f"{format_bytes(p.disk_bytes)} (store {format_bytes(p.store_bytes)} "
            f"x{DISK_HEADROOM:g} headroom)",
        ),
        ("memory (RSS)", format_bytes(p.memory_bytes)),
        (
            "CPU cores",
            f"{p.cores} ({_cores(p.ingest_cores)} for ingest on average, "
            f"{_cores(p.peak_ingest_cores)} at peak, plus one for queries)",
        ),
        (f"rows in the {VIEW_DAYS}-day view", f"{p.view_rows:,}"),
    ]
    for shape, ms in p.query_ms.items():
        rows.append((f"uncached {QUERY_LABELS.get(shape, shape)}", format_ms(ms)))
    return rows


def _cores(value: float) -> str:
    return "<0.01" if 0 < value < 0.01 else f"{value:.2f}"


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A fixed-width text table with a rule under the header."""
    widths = [max(len(r[i]) for r in [tuple(header), *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def advice(p: Projection) -> str:
    """One paragraph: stay on DuckDB, or move to ClickHouse and why."""
    if not p.clickhouse:
        return (
            "Recommendation: the embedded DuckDB store fits this volume "
            f"(top pages under {CLICKHOUSE_TOP_PAGES_MS / 1000:.0f} s, disk under "
            f"{format_bytes(CLICKHOUSE_DISK_BYTES)}, peak ingest within one process)."
        )
    return (
        "Recommendation: move to the ClickHouse backend: "
        + "; ".join(p.reasons)
        + ". Set FOOTFALL_EVENTS_URL and copy the history with `footfall migrate-events --to "
        "URL` (docs/clickhouse.md)."
    )
