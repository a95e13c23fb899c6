"""A whole import, from NDJSON file to stored rows (docs/adr/0011-bulk-import-in-the-core.md).

Stages (each announced to the progress callback as it starts): reading lines into Arrow,
validating them, enriching them once per distinct value with the live pipeline's functions,
sessionising under the 30-minute rule. The result is the event and session rows the event
store loads in one transaction; nothing here knows which store that is.
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

from footfall.ingest.bulk.distinct import Encoded, encode, encode_keys
from footfall.ingest.bulk.lines import NOT_AN_OBJECT
from footfall.ingest.bulk.pages import Pages, parse_pages
from footfall.ingest.bulk.reading import read_ndjson
from footfall.ingest.bulk.report import MAX_REPORTED_ERRORS, ImportReport
from footfall.ingest.bulk.rows import EventRows, SessionRows, Texts, event_table, session_table
from footfall.ingest.bulk.sessions import Sessions, sessionise
from footfall.ingest.bulk.validation import Checked, Props, check
from footfall.ingest.bulk.visitors import Identities, KnownVisitors, number_visitors, visitor_hashes
from footfall.ingest.bulk.visits import visit_columns
from footfall.ingest.domains import root_domain
from footfall.ingest.geo import GeoLocator
from footfall.ingest.sources import SourceClassifier, is_spam_referrer
from footfall.ingest.useragent import UserAgentInfo, UserAgentParser

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
    """An import's result: rows to store (`EVENT_SCHEMA`, `SESSION_SCHEMA`) and the report."""

    events: pa.Table
    sessions: pa.Table
    report: ImportReport


def build_import(
    path: Path, *, target: ImportTarget, enrichers: Enrichers, progress: Progress | None = None
) -> ImportRows:
    """Reads, validates, enriches and sessionises an NDJSON file.

    Args:
        path: The file; one JSON object per line.
        target: The site and the service's counters.
        enrichers: The live pipeline's enrichment functions.
        progress: Called with the name of each stage as it starts.

    Returns:
        The rows to store, in time order for events and id order for sessions.
    """
    step = progress or (lambda _stage: None)
    step("reading")
    # The enrichers load rules and lists on first use (about a third of a second of Python);
    # the reader runs in C++ without the interpreter lock, so they can load meanwhile.
    warming = threading.Thread(target=_warm_up, args=(enrichers,), name="import-warm-up")
    warming.start()
    read = read_ndjson(path)
    report = ImportReport(lines=read.lines, reader="whole-file" if read.fast else "line-by-line")
    step("validating")
    checked = check(read.table, now=target.now)
    unreadable = read.rejected
    del read  # the lines' texts are the largest thing an import holds: let them go early
    _report_rejections(report, unreadable, checked)
    step("enriching")
    warming.join()
    events = _enrich(checked, target, enrichers)
    report.dropped = len(checked.lines) - len(events.rows)
    del checked
    # Hand the texts' memory back now rather than after the store has loaded the rows.
    pa.default_memory_pool().release_unused()
    step("sessionising")
    sessions = sessionise(
        events.visitors.codes,
        events.seconds,
        events.lines,
        pageview=events.pageview,
        interactive=events.interactive,
    )
    events_table, sessions_table = _rows(events, sessions, target, enrichers)
    report.stored, report.sessions = events_table.num_rows, sessions_table.num_rows
    return ImportRows(events_table, sessions_table, report)


def _warm_up(enrichers: Enrichers) -> None:
    """Makes the enrichers load what they load lazily: crawler patterns, suffix list, IPv6."""
    enrichers.user_agents.parse("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Firefox/133.0")
    root_domain("example.com")
    enrichers.geo.country("2001:db8::1")


def _report_rejections(report: ImportReport, unreadable: list[int], checked: Checked) -> None:
    lines = np.concatenate((np.array(unreadable, dtype=np.int64), checked.rejected_lines))
    reasons = [NOT_AN_OBJECT] * len(unreadable) + checked.rejected_reasons
    order = np.argsort(lines, kind="stable")
    report.rejected = len(lines)
    report.errors = [(int(lines[i]), reasons[i]) for i in order[:MAX_REPORTED_ERRORS].tolist()]


@dataclass(frozen=True, slots=True)
class _Events:
    """The events that will be stored (bots, spam and engagement dropped), enriched."""

    rows: Ints  # their rows in the checked lines
    lines: Ints
    seconds: Ints
    interactive: npt.NDArray[np.bool_]
    pageview: npt.NDArray[np.bool_]
    names: Texts
    urls: Ints
    pages: Pages
    referrers: Encoded[str]
    ips: Encoded[str]
    agents: Encoded[str]
    agent_info: list[UserAgentInfo]
    props: Ints
    props_lists: Props
    hashes: npt.NDArray[np.uint64]
    # A code per visitor hash; `values` are the hashes (as signed 64-bit integers).
    visitors: Encoded[int]


def _enrich(checked: Checked, target: ImportTarget, enrichers: Enrichers) -> _Events:
    table = checked.table
    urls = encode(table["url"])
    pages = parse_pages(urls)
    agents = encode(table["user_agent"], null="")
    agent_info = agents.map(enrichers.user_agents.parse)
    referrers = encode(table["referrer"], null="")
    names = encode(table["name"])
    # Dropped as the live pipeline drops them: bots by User-Agent, referrer spam; engagement
    # events only extend a live visit, which an import has no use for.
    bot = np.array([info.is_bot for info in agent_info] or [False])
    spam = np.array(referrers.map(lambda r: is_spam_referrer(r or None)) or [False])
    engagement = np.array([name == "engagement" for name in names.values] or [False])
    rows = np.flatnonzero(~bot[agents.codes] & ~spam[referrers.codes] & ~engagement[names.codes])
    ips = _subset(encode(table["ip"], null=""), rows)
    agents, referrers = _subset(agents, rows), _subset(referrers, rows)
    identities = Identities(
        user_agents=agents,
        ips=ips,
        given=_subset(encode(table["visitor_id"]), rows),
        roots=pages.roots[urls.codes[rows]],
        root_names=pages.root_names,
    )
    hashes = visitor_hashes(identities, salt=target.salt, domain=target.domain)
    name_codes = names.codes[rows]
    return _Events(
        rows=rows,
        lines=checked.lines[rows],
        seconds=checked.seconds[rows],
        interactive=checked.interactive[rows],
        pageview=np.array([n == "pageview" for n in names.values] or [False])[name_codes],
        names=Texts(names.values, name_codes),
        urls=urls.codes[rows],
        pages=pages,
        referrers=referrers,
        ips=ips,
        agents=agents,
        agent_info=agent_info,
        props=checked.props.codes[rows],
        props_lists=checked.props,
        hashes=hashes,
        visitors=encode_keys(hashes.view(np.int64)),
    )


def _subset(encoded: Encoded[str], rows: Ints) -> Encoded[str]:
    return Encoded(encoded.codes[rows], encoded.values)


def _rows(
    events: _Events, sessions: Sessions, target: ImportTarget, enrichers: Enrichers
) -> tuple[pa.Table, pa.Table]:
    order = sessions.order
    first = order[sessions.firsts]  # each session's first event
    starts, lasts = events.seconds[first], events.seconds[order[sessions.lasts]]
    visitor = events.visitors.codes[first]
    hashes = events.hashes[first]
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
    pages = events.pages
    props = events.props_lists
    session_rows = SessionRows(
        site_id=target.site_id,
        first_id=first_id,
        visitor_ids=hashes[by_start],
        visitors=numbers[visitor[by_start]],
        starts=starts[by_start],
        lasts=lasts[by_start],
        pageviews=sessions.pageviews[by_start],
        events=sessions.events[by_start],
        bounces=sessions.bounces[by_start],
        entry_pages=_pageview_texts(pages.pathnames, events.urls, order, sessions.entries).take(
            by_start
        ),
        exit_pages=_pageview_texts(pages.pathnames, events.urls, order, sessions.exits).take(
            by_start
        ),
        hostnames=_pageview_texts(pages.hostnames, events.urls, order, sessions.entries).take(
            by_start
        ),
        exit_hostnames=_pageview_texts(pages.hostnames, events.urls, order, sessions.exits).take(
            by_start
        ),
        entry_props=_props(props.keys, props.values, events.props[first[by_start]]),
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
        hostnames=Texts(pages.hostnames, events.urls[event]),
        pathnames=Texts(pages.pathnames, events.urls[event]),
        visitor_ids=events.hashes[event],
        visitors=numbers[events.visitors.codes[event]],
        session_ids=session_ids[session_of[stored]],
        props=_props(props.keys, props.values, events.props[event]),
        interactive=events.interactive[event],
        visits=visits,
        visit_rows=session_of[stored],
    )
    return event_table(event_rows), session_table(session_rows)


def _first_seen(visitors: Ints, seconds: Ints) -> Ints:
    """When each visitor was first seen, from events sorted by visitor and time."""
    first_seen = np.zeros(int(visitors.max(initial=-1)) + 1, dtype=np.int64)
    changes = np.flatnonzero(np.diff(visitors, prepend=-1) != 0)
    first_seen[visitors[changes]] = seconds[changes]
    return first_seen


def _pageview_texts(values: list[str], urls: Ints, order: Ints, positions: Ints) -> Texts:
    """A text of each session's entry or exit pageview; "" where the session has none."""
    found = positions >= 0
    codes = np.where(found, urls[order[np.where(found, positions, 0)]], len(values))
    return Texts([*values, ""], codes)


def _props(keys: pa.Array, values: pa.Array, codes: Ints) -> tuple[pa.Array, pa.Array]:
    taken = pa.array(codes, pa.int64())
    return keys.take(taken), values.take(taken)
