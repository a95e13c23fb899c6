"""A whole import, from NDJSON file to stored rows (docs/adr/0011-bulk-import-in-the-core.md).

Stages (each announced to the progress callback as it starts): reading lines into Arrow,
validating them, enriching them once per distinct value with the live pipeline's functions
(these three overlap, block by block), sessionising under the 30-minute rule. The result is
the event and session rows the event store loads in one transaction; nothing here knows which
store that is.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from footfall.ingest.bulk.ahead import read_ahead
from footfall.ingest.bulk.distinct import Encoded, Texts
from footfall.ingest.bulk.enriching import Enrichment, Events
from footfall.ingest.bulk.lines import NOT_AN_OBJECT
from footfall.ingest.bulk.parquet import read_import_blocks
from footfall.ingest.bulk.report import MAX_REPORTED_ERRORS, ImportReport
from footfall.ingest.bulk.rows import EventRows, SessionRows, event_batches, session_table
from footfall.ingest.bulk.sessions import Sessions, sessionise
from footfall.ingest.bulk.validation import PropsBook, check
from footfall.ingest.bulk.visitors import KnownVisitors, number_visitors
from footfall.ingest.bulk.visits import visit_columns
from footfall.ingest.domains import root_domain
from footfall.ingest.geo import GeoLocator
from footfall.ingest.sources import SourceClassifier
from footfall.ingest.useragent import UserAgentParser

Ints = npt.NDArray[np.int64]
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Enrichers:
    """The live pipeline's enrichment functions, run once per distinct value."""

    user_agents: UserAgentParser
    geo: GeoLocator
    sources: SourceClassifier


@dataclass(frozen=True, slots=True)
class ImportTarget:
    """The site an import is for, and what it needs from the running service.

    Attributes:
        site_id: The site's id.
        domain: The site's domain (part of the visitor hash).
        salt: The current salt: visitor ids are hashed under it.
        now: The current time (aware); lines more than a day later are refused.
        known_visitors: The event store's `known_visitors`.
        reserve_session_ids: Reserves a block of session ids, returns the first.
        reserve_visitor_numbers: Reserves a block of visitor numbers, returns the first.
    """

    site_id: int
    domain: str
    salt: bytes
    now: dt.datetime
    known_visitors: KnownVisitors
    reserve_session_ids: Callable[[int], int]
    reserve_visitor_numbers: Callable[[int], int]


@dataclass(frozen=True, slots=True)
class ImportRows:
    """An import's result: rows to store (`EVENT_SCHEMA`, `SESSION_SCHEMA`) and the report.

    Events come as a stream of batches, built while the store reads them: the rows of a large
    import never have to be in memory all at once.
    """

    events: pa.RecordBatchReader
    sessions: pa.Table
    report: ImportReport


def build_import(
    path: Path, *, target: ImportTarget, enrichers: Enrichers, progress: Progress | None = None
) -> ImportRows:
    """Reads, validates, enriches and sessionises an NDJSON (or Parquet) file.

    Blocks of lines are validated and enriched while the next block is read, so the stages
    overlap: each is announced when it starts on the first block.

    Args:
        path: The file; one JSON object per line, or a Parquet file of the same fields
            (`footfall.ingest.bulk.parquet`).
        target: The site and the service's counters.
        enrichers: The live pipeline's enrichment functions.
        progress: Called with the name of each stage as it starts.

    Returns:
        The rows to store, in time order for events and id order for sessions.
    """
    step = progress or (lambda _stage: None)
    later = ["enriching", "validating"]

    def next_stage() -> None:
        if later:
            step(later.pop())

    step("reading")
    # The enrichers load rules and lists on first use (about a third of a second of Python),
    # while the first block is read (C++, without the interpreter lock).
    warming = threading.Thread(target=_warm_up, args=(enrichers,), name="import-warm-up")
    warming.start()
    report = ImportReport(reader="whole-file")
    props = PropsBook()
    enrichment = Enrichment(
        user_agents=enrichers.user_agents, salt=target.salt, domain=target.domain
    )
    rejected: list[tuple[Ints, list[str]]] = []
    for block in read_ahead(read_import_blocks(path)):
        next_stage()
        parsed = block.parsed
        report.lines += parsed.counted
        if not block.fast:
            report.reader = "line-by-line"
        checked = check(parsed.table, now=target.now, props=props)
        unreadable = np.array(parsed.rejected, dtype=np.int64)
        rejected.append((unreadable, [NOT_AN_OBJECT] * len(unreadable)))
        rejected.append((checked.rejected_lines, checked.rejected_reasons))
        next_stage()
        warming.join()
        enrichment.add(checked)
    while later:
        next_stage()
    warming.join()
    _report_rejections(report, rejected)
    report.dropped = enrichment.dropped
    events = enrichment.events(props)
    del enrichment
    step("sessionising")
    sessions = sessionise(
        events.visitors.codes,
        events.seconds,
        events.lines,
        pageview=events.pageview,
        interactive=events.interactive,
    )
    event_rows, sessions_table = _rows(events, sessions, target, enrichers)
    report.stored, report.sessions = len(event_rows.seconds), sessions_table.num_rows
    return ImportRows(event_batches(event_rows), sessions_table, report)


def _warm_up(enrichers: Enrichers) -> None:
    """Makes the enrichers load what they load lazily: crawler patterns, suffix list, IPv6."""
    enrichers.user_agents.parse("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Firefox/133.0")
    root_domain("example.com")
    enrichers.geo.country("2001:db8::1")


def _report_rejections(report: ImportReport, rejected: list[tuple[Ints, list[str]]]) -> None:
    lines = np.concatenate([numbers for numbers, _ in rejected] or [np.zeros(0, np.int64)])
    reasons = [reason for _, texts in rejected for reason in texts]
    order = np.argsort(lines, kind="stable")
    report.rejected = len(lines)
    report.errors = [(int(lines[i]), reasons[i]) for i in order[:MAX_REPORTED_ERRORS].tolist()]


def _subset(encoded: Encoded[str], rows: Ints) -> Encoded[str]:
    return Encoded(encoded.codes[rows], encoded.values)


def _rows(
    events: Events, sessions: Sessions, target: ImportTarget, enrichers: Enrichers
) -> tuple[EventRows, pa.Table]:
    """The stored rows: session ids and visitor numbers given out, visit attributes found."""
    order = sessions.order
    first = order[sessions.firsts]  # each session's first event
    hashes, starts = events.hashes[first], events.seconds[first]
    # Session ids follow start time: they compress well next to time-ordered events.
    by_start = np.lexsort((hashes, starts))
    first_id = target.reserve_session_ids(len(by_start)) if len(by_start) else 0
    session_ids = np.empty(len(by_start), dtype=np.uint64)
    session_ids[by_start] = first_id + np.arange(len(by_start), dtype=np.uint64)
    numbers = number_visitors(
        np.array(events.visitors.values, dtype=np.int64).view(np.uint64),
        _first_seen(events.visitors.codes[order], events.seconds[order]),
        site_id=target.site_id,
        known_visitors=target.known_visitors,
        reserve=target.reserve_visitor_numbers,
    )
    visits = visit_columns(
        referrers=_subset(events.referrers, first),
        urls=events.urls[first],
        pages=events.pages,
        ips=_subset(events.ips, first),
        agents=_subset(events.agents, first),
        agent_info=events.agent_info,
        sources=enrichers.sources,
        geo=enrichers.geo,
    )
    pathnames, hostnames = events.pages.pathnames, events.pages.hostnames
    entries, exits = (
        _events_at(order, sessions.entries[by_start]),
        _events_at(order, sessions.exits[by_start]),
    )
    keys, values = events.props_lists
    session_rows = SessionRows(
        site_id=target.site_id,
        first_id=first_id,
        visitor_ids=hashes[by_start],
        visitors=numbers[events.visitors.codes[first[by_start]]],
        starts=starts[by_start],
        lasts=events.seconds[order[sessions.lasts[by_start]]],
        pageviews=sessions.pageviews[by_start],
        events=sessions.events[by_start],
        bounces=sessions.bounces[by_start],
        entry_pages=_pageview_texts(pathnames, events.urls, entries),
        exit_pages=_pageview_texts(pathnames, events.urls, exits),
        hostnames=_pageview_texts(hostnames, events.urls, entries),
        exit_hostnames=_pageview_texts(hostnames, events.urls, exits),
        entry_props=_props(keys, values, events.props[first[by_start]]),
        visits=visits,
        visit_rows=by_start,
    )
    # Events in time order (then session, then line): the order queries filter on.
    session_of = sessions.session
    stored = np.lexsort((events.lines[order], session_ids[session_of], events.seconds[order]))
    event = order[stored]
    event_rows = EventRows(
        site_id=target.site_id,
        seconds=events.seconds[event],
        names=events.names.take(event),
        hostnames=Texts(hostnames, events.urls[event]),
        pathnames=Texts(pathnames, events.urls[event]),
        visitor_ids=events.hashes[event],
        visitors=numbers[events.visitors.codes[event]],
        session_ids=session_ids[session_of[stored]],
        props=(keys, values),
        props_codes=events.props[event],
        interactive=events.interactive[event],
        visits=visits,
        visit_rows=session_of[stored],
    )
    return event_rows, session_table(session_rows)


def _events_at(order: Ints, positions: Ints) -> Ints:
    """The events at `positions` of `order` (-1, no event, stays -1)."""
    result: Ints = np.where(positions >= 0, order[np.maximum(positions, 0)], -1)
    return result


def _first_seen(visitors: Ints, seconds: Ints) -> Ints:
    """When each visitor was first seen, from events sorted by visitor and time."""
    first_seen = np.zeros(int(visitors.max(initial=-1)) + 1, dtype=np.int64)
    changes = np.flatnonzero(np.diff(visitors, prepend=-1) != 0)
    first_seen[visitors[changes]] = seconds[changes]
    return first_seen


def _pageview_texts(values: list[str], urls: Ints, events: Ints) -> Texts:
    """The pathname or hostname of each session's entry or exit pageview ("" for none, -1)."""
    codes = np.where(events >= 0, urls[np.maximum(events, 0)], len(values))
    return Texts([*values, ""], codes)


def _props(keys: pa.Array, values: pa.Array, codes: Ints) -> tuple[pa.Array, pa.Array]:
    taken = pa.array(codes, pa.int64())
    return keys.take(taken), values.take(taken)
