"""Measuring capacity planning's unit costs on a live data directory (``footfall capacity``).

Opens the event store read-only, so it changes nothing; DuckDB refuses that while a server
holds the store, and then the store's figures fall back to the documented defaults. The
ingest pipeline is timed in-process on synthetic events either way: it needs no store.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from footfall.devtools.capacity import (
    MEASURED,
    MIN_MEASURED_EVENTS,
    MIN_MEASURED_VIEW_ROWS,
    QUERY_SHAPES,
    VIEW_DAYS,
    Figure,
    Figures,
    QueryCost,
    ingest_per_core_from_pipeline,
)
from footfall.errors import StoreBusyError
from footfall.services import open_event_store
from footfall.settings import Settings, load_settings
from footfall.storage.base import EventStore

# The dashboard's questions, as the benchmarks ask them (bench/stats_queries.py).
_PROBE_TIMEOUT_S = 60.0
_SHAPE_PARAMS: dict[str, tuple[str, dict[str, str]]] = {
    "aggregate": (
        "aggregate",
        {"metrics": "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration"},
    ),
    "timeseries": ("timeseries", {"metrics": "visitors"}),
    "top_pages": ("breakdown", {"property": "event:page", "metrics": "visitors,pageviews"}),
    "sources": ("breakdown", {"property": "visit:source", "metrics": "visitors,bounce_rate"}),
}
PIPELINE_EVENTS = 20_000


@dataclass
class StoreInfo:
    """What was found in the data directory."""

    path: str
    queries_timed: bool = False
    events: int = 0
    sessions: int = 0
    store_bytes: int = 0
    empty_store_bytes: int = 0
    site: str = ""
    view_rows: int = 0
    view: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return asdict(self)


def store_bytes(path: Path) -> int:
    """The store file's size with its write-ahead log (0 when there is no store)."""
    wal = path.with_name(path.name + ".wal")
    return sum(p.stat().st_size for p in (path, wal) if p.exists())


def empty_store_bytes() -> int:
    """The size of a new, empty event store: fixed overhead that does not grow with events."""
    with tempfile.TemporaryDirectory(prefix="footfall-capacity-") as tmp:
        settings = load_settings({"data_dir": Path(tmp)}, environ={})
        store = open_event_store(settings)
        files = store.files()
        store.close()
        return sum(store_bytes(path) for path in files.values())


def _peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return int(peak if sys.platform == "darwin" else peak * 1024)


def measure(
    settings: Settings,
    *,
    runs: int = 5,
    pipeline_events: int = PIPELINE_EVENTS,
    min_events: int = MIN_MEASURED_EVENTS,
    min_view_rows: int = MIN_MEASURED_VIEW_ROWS,
) -> tuple[Figures, StoreInfo]:
    """Measures every unit cost it can on the data directory; the rest stay defaults.

    Args:
        settings: Names the data directory and the metadata database.
        runs: Timed runs per query shape (the median counts), after one warm-up run.
        pipeline_events: Synthetic events timed through the ingest pipeline (0 skips it).
        min_events: Fewest stored events to measure bytes per event on.
        min_view_rows: Fewest events in the 30-day view to time queries and memory on.

    Returns:
        The figures, each marked measured or default, and what was found in the store.
    """
    info = StoreInfo(path=str(settings.event_store_path))
    # The store first: its memory growth is read from the process's peak RSS, which the
    # pipeline's parsers would raise beforehand.
    figures = _measure_store_file(settings, info, runs=runs, limits=(min_events, min_view_rows))
    if pipeline_events > 0:
        rate = pipeline_events_per_second(pipeline_events)
        figures = figures.with_(
            ingest_events_per_core=Figure(
                ingest_per_core_from_pipeline(rate),
                MEASURED,
                f"pipeline {rate:,.0f} events/s here, scaled",
            )
        )
    return figures, info


def _measure_store_file(
    settings: Settings, info: StoreInfo, *, runs: int, limits: tuple[int, int]
) -> Figures:
    path = settings.event_store_path
    if not path.exists():
        info.notes.append(f"no event store at {path}: documented defaults for the store")
        return Figures()
    info.store_bytes = store_bytes(path)
    try:
        store = open_event_store(settings, read_only=True)
    except StoreBusyError:
        info.notes.append(
            "the event store is in use by a running server, which DuckDB does not let another "
            "process read: documented defaults for the store (stop the server to measure it)"
        )
        return Figures()
    try:
        return _measure_store(store, settings, Figures(), info, runs=runs, limits=limits)
    finally:
        store.close()


def _count(store: EventStore, sql: str, params: list[Any] | None = None) -> int:
    rows = store.query(sql, params or [], timeout=_PROBE_TIMEOUT_S, tag="capacity probe")
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def _measure_store(
    store: EventStore,
    settings: Settings,
    figures: Figures,
    info: StoreInfo,
    *,
    runs: int,
    limits: tuple[int, int],
) -> Figures:
    min_events, min_view_rows = limits
    info.events = _count(store, "SELECT count(*) FROM events")
    info.sessions = _count(store, "SELECT count(*) FROM sessions")
    if info.events == 0:
        info.notes.append("the event store is empty: documented defaults for the store")
        return figures
    if info.events < min_events:
        info.notes.append(
            f"{info.events:,} events are too few to measure bytes per event on (at least "
            f"{min_events:,}): documented default"
        )
    else:
        info.empty_store_bytes = empty_store_bytes()
        # An empty store's fixed blocks are not a cost per event.
        per_event = max(0, info.store_bytes - info.empty_store_bytes) / info.events
        figures = figures.with_(
            bytes_per_event=Figure(per_event, MEASURED),
            sessions_per_event=Figure(info.sessions / info.events, MEASURED),
        )
    site_id = _count(
        store, "SELECT site_id FROM events GROUP BY site_id ORDER BY count(*) DESC LIMIT 1"
    )
    info.site = _site_name(settings, site_id)
    before = _peak_rss_bytes()
    costs = _measure_queries(store, site_id, info, runs=runs, min_rows=min_view_rows)
    grown = _peak_rss_bytes() - before
    if not costs:
        info.notes.append(
            f"the last {VIEW_DAYS} days of {info.site} hold {info.view_rows:,} events, too few "
            f"to time queries and memory on (at least {min_view_rows:,}): documented defaults"
        )
        return figures
    info.queries_timed = True
    return figures.with_(
        queries={**figures.queries, **costs},
        memory_bytes_per_row=Figure(
            grown / info.view_rows, MEASURED, "peak RSS growth while querying"
        ),
    )


def _site_name(settings: Settings, site_id: int) -> str:
    """The site's domain from the metadata store, or ``site #id`` when it cannot be read."""
    import sqlalchemy as sa

    from footfall.meta import db
    from footfall.meta.sites import list_sites

    if not settings.database_url and not (settings.data_dir / "meta.sqlite3").exists():
        return f"site #{site_id}"  # opening it would create it
    engine = db.create_engine(settings.metadata_url)
    try:
        for site in list_sites(engine):
            if site.id == site_id:
                return site.domain
    except sa.exc.SQLAlchemyError:
        pass
    finally:
        engine.dispose()
    return f"site #{site_id}"


def _median_ms(func: Callable[[], object], runs: int) -> float:
    func()  # warm-up: the first run reads the blocks from disk, as a running server has
    samples = []
    for _ in range(max(1, runs)):
        started = time.perf_counter()
        func()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _measure_queries(
    store: EventStore, site_id: int, info: StoreInfo, *, runs: int, min_rows: int
) -> dict[str, QueryCost]:
    """Times each shape on the site's last 30 days and on an empty range before them."""
    from footfall.stats.cache import NullCache
    from footfall.stats.engine import StatsEngine
    from footfall.stats.model import Query
    from footfall.stats.v1 import V1Request

    first, newest = store.query(
        "SELECT min(timestamp), max(timestamp) FROM events WHERE site_id = $1",
        [site_id],
        timeout=_PROBE_TIMEOUT_S,
        tag="capacity probe",
    )[0]
    now = dt.datetime.now(dt.UTC)
    engine = StatsEngine(store, cache=NullCache(), now=lambda: now)

    def queries(shape: str, day: dt.date) -> list[Query]:
        endpoint, params = _SHAPE_PARAMS[shape]
        request = V1Request(
            {"period": "30d", "date": day.isoformat(), **params},
            site_id=site_id,
            timezone="UTC",
            goals=(),
            now=now,
        )
        if endpoint == "aggregate":
            return [request.aggregate()[0]]
        if endpoint == "timeseries":
            return [request.timeseries()]
        return [request.breakdown()[0]]

    def run(shape: str, day: dt.date) -> Callable[[], object]:
        built = queries(shape, day)
        return lambda: [engine.run(q) for q in built]

    view = queries("aggregate", newest.date())[0]
    info.view = f"{view.start:%Y-%m-%d} to {view.end:%Y-%m-%d}"
    info.view_rows = _count(
        store,
        "SELECT count(*) FROM events WHERE site_id = $1 AND timestamp BETWEEN $2 AND $3",
        [site_id, view.start, view.end],
    )
    if info.view_rows < min_rows:
        return {}
    # A range that ends well before the first event: no rows, only the fixed cost.
    empty_day = first.date() - dt.timedelta(days=60)
    costs = {}
    for shape in QUERY_SHAPES:
        empty_ms = _median_ms(run(shape, empty_day), runs)
        sample_ms = _median_ms(run(shape, newest.date()), runs)
        costs[shape] = QueryCost.fit(
            empty_ms=empty_ms, sample_ms=sample_ms, rows=info.view_rows, source=MEASURED
        )
    return costs


def pipeline_events_per_second(count: int = PIPELINE_EVENTS) -> float:
    """Times `count` synthetic events through the live ingest pipeline, in this process.

    Parsing the body, validation, enrichment (User-Agent, country, source), the visitor hash
    and the session rule: what `POST /api/event` does on the event loop besides HTTP and the
    journal. Nothing is stored.
    """
    from footfall.clock import FixedClock
    from footfall.devtools.traffic import tracker_requests
    from footfall.ingest.geo import GeoLocator
    from footfall.ingest.pipeline import ClientContext, Pipeline
    from footfall.ingest.request import decode_body, parse_event
    from footfall.ingest.salts import SaltRing
    from footfall.ingest.sources import SourceClassifier
    from footfall.ingest.useragent import UserAgentParser
    from footfall.sessions.cache import SessionCache
    from footfall.sessions.numbering import VisitorNumbers
    from footfall.sessions.store import LocalSessions

    now = dt.datetime.now(dt.UTC)
    clock = FixedClock(now)
    salts = SaltRing(current=b"\x01" * 16, previous=None, current_created=now)
    counter = iter(range(1, 1 << 62))
    numbers = iter(range(1, 1 << 62))
    pipeline = Pipeline(
        site_id_for=lambda _domain: 1,
        salts=lambda: salts,
        user_agents=UserAgentParser(),
        geo=GeoLocator(),
        sources=SourceClassifier(),
        sessions=LocalSessions(
            SessionCache(100_000),
            new_session_id=lambda: next(counter),
            visitor_numbers=VisitorNumbers(lambda: next(numbers)),
        ),
        clock=clock,
    )
    # Synthetic traffic, not secrets: the same requests every time.
    traffic = tracker_requests("capacity.invalid", random.Random(1))  # noqa: S311  # nosec B311
    requests = [
        (r.body, ClientContext(user_agent=r.user_agent, ip=r.ip))
        for r in itertools.islice(traffic, count)
    ]
    # Warm the parsers' caches on a tenth, as a server that has been up a while has them; then
    # the fastest of three slices, the one least disturbed by whatever else the machine runs.
    warm = len(requests) // 10
    for body_bytes, client in requests[:warm]:
        _process(pipeline, body_bytes, client, decode_body, parse_event)
    best = 0.0
    step = max(1, (len(requests) - warm) // 3)
    for start in range(warm, len(requests) - step + 1, step):
        started = time.perf_counter()
        for body_bytes, client in requests[start : start + step]:
            _process(pipeline, body_bytes, client, decode_body, parse_event)
        elapsed = time.perf_counter() - started
        if elapsed > 0:
            best = max(best, step / elapsed)
    return best


def _process(
    pipeline: Any,
    body: bytes,
    client: Any,
    decode: Callable[[bytes], dict[str, Any]],
    parse: Callable[[dict[str, Any]], Any],
) -> None:
    parsed = parse(decode(body))
    if not isinstance(parsed, dict):
        pipeline.process(parsed, client)
