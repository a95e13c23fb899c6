"""``footfall export``: a site's history as Plausible's CSV zip, or as raw events to import.

Formats:

- ``csv``: Plausible's export layout (`footfall.lifecycle.plausible_csv`), daily aggregates
  that Plausible's CSV importer (and any spreadsheet) reads;
- ``ndjson``: one event per line in footfall's import format (``timestamp``, ``name``, ``url``,
  ``referrer``, ``visitor_id``, ``props``, ``interactive``), which ``footfall import`` takes
  back;
- ``parquet``: the same fields as columns (``timestamp`` as a UTC timestamp, ``props`` as JSON
  text), read back by ``footfall import`` as well.

Raw events carry no IP address and no User-Agent: footfall never stored them. The visitor is
the stored, salted visitor hash (an opaque number that cannot be traced back to a person), so
an import groups events into the same visitors and visits; the country, device, browser and
operating system, which were derived from the address and the User-Agent at the time, are not
in the export and an import of it has none. The source is kept: the visit's referrer and its
``utm_*`` tags and click-id parameter are written into each event's URL and referrer.
Engagement events are left out (an import has no use for them), and with them scroll depth and
time on page.

Every format streams: events are read in time order a batch at a time (the store sorts them a
window of hours at a time) and written as they come, and the CSV tables are computed a month
at a time, so memory stays flat whatever the history's length.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from footfall.errors import InvalidInputError
from footfall.lifecycle import plausible_csv
from footfall.meta.sites import Site
from footfall.stats.periods import DateRange, today_in, utc_bounds
from footfall.storage.base import EventStore

FORMATS = ("csv", "ndjson", "parquet")
# Events converted at a time: a few MiB of Arrow data and its Python lines.
BATCH_ROWS = 16_384
# Seconds each export statement may run (an export reads history, not a live view).
QUERY_TIMEOUT_SECONDS = 600.0
_UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
# Media footfall infers from a click id; written back as the click id, not as a tag.
_INFERRED_MEDIA = ("(gclid)", "(msclkid)")
PARQUET_SCHEMA = pa.schema(
    [
        ("timestamp", pa.timestamp("s", tz="UTC")),
        ("name", pa.string()),
        ("url", pa.string()),
        ("referrer", pa.string()),
        ("visitor_id", pa.string()),
        ("interactive", pa.bool_()),
        ("props", pa.string()),
    ]
)

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class ExportPlan:
    """What one export writes.

    Attributes:
        site: The site.
        first: The first local date.
        last: The last local date.
        format: ``csv``, ``ndjson`` or ``parquet``.
        filename: The name the file gets when downloaded.
    """

    site: Site
    first: dt.date
    last: dt.date
    format: str
    filename: str
    oldest: dt.datetime | None = None
    newest: dt.datetime | None = None

    @property
    def data_days(self) -> tuple[dt.date, dt.date] | None:
        """The local dates of the range that can hold events (None when none can)."""
        if self.oldest is None or self.newest is None:
            return None
        first = max(self.first, today_in(self.site.timezone, self.oldest))
        last = min(self.last, today_in(self.site.timezone, self.newest))
        return (first, last) if first <= last else None

    @property
    def media_type(self) -> str:
        """The file's MIME type."""
        return {
            "csv": "application/zip",
            "ndjson": "application/x-ndjson",
            "parquet": "application/vnd.apache.parquet",
        }[self.format]


def parse_date(text: str | None, name: str) -> dt.date | None:
    """An ISO date from a flag or a parameter (None when absent).

    Raises:
        InvalidInputError: Not a date like 2026-11-02.
    """
    if text is None or not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInputError(f"{name} {text!r} is not a date such as 2026-11-02") from exc


def plan_export(
    store: EventStore,
    site: Site,
    *,
    fmt: str,
    first: dt.date | None,
    last: dt.date | None,
    now: dt.datetime,
) -> ExportPlan:
    """Settles the dates (the site's first and last day with events, by default) and the name.

    The work is bounded by the events there are, not by the dates asked for: only the days
    between the site's oldest and newest event are read.

    Raises:
        InvalidInputError: Unknown format, or the last date before the first.
    """
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown export format {fmt!r}: choose {', '.join(FORMATS)}")
    today = today_in(site.timezone, now)
    row = store.query(
        "SELECT min(timestamp), max(timestamp) FROM events WHERE site_id = $1",
        [site.id],
        timeout=QUERY_TIMEOUT_SECONDS,
        tag="export:range",
    )[0]
    oldest, newest = (row[0], row[1]) if row[0] is not None else (None, None)
    if first is None:
        first = today_in(site.timezone, oldest) if oldest is not None else today
    if last is None:
        last = today_in(site.timezone, newest) if newest is not None else today
    if last < first:
        raise InvalidInputError(f"the last date {last} is before the first {first}")
    if fmt == "csv":
        name = plausible_csv.archive_name(site.domain, today)
    else:
        name = f"{site.domain.replace('.', '_')}_{first:%Y%m%d}_{last:%Y%m%d}.{fmt}"
    return ExportPlan(
        site=site,
        first=first,
        last=last,
        format=fmt,
        filename=name,
        oldest=oldest,
        newest=newest,
    )


def write_export(
    store: EventStore, plan: ExportPlan, out: IO[bytes], *, progress: Progress | None = None
) -> int:
    """Writes the export to `out`, which need not be seekable.

    Args:
        store: The event store.
        plan: What to write (`plan_export`).
        out: Where to write.
        progress: Called with the number of events written after each batch (raw formats).

    Returns:
        Events written (raw formats) or CSV rows written (csv).
    """
    if plan.format == "csv":
        rows = plausible_csv.TableRows(
            store, plan.site.id, plan.site.timezone, timeout=QUERY_TIMEOUT_SECONDS
        )
        written = plausible_csv.write_zip(
            rows, out, first=plan.first, last=plan.last, data_days=plan.data_days
        )
        return sum(written.values())
    count = 0
    writer = pq.ParquetWriter(out, PARQUET_SCHEMA) if plan.format == "parquet" else None
    try:
        for table in import_batches(store, plan):
            if writer is not None:
                writer.write_table(table)
            else:
                out.write(ndjson_lines(table))
            count += table.num_rows
            if progress is not None:
                progress(table.num_rows)
    finally:
        if writer is not None:
            writer.close()
    return count


def import_batches(store: EventStore, plan: ExportPlan) -> Iterator[pa.Table]:
    """The plan's events in the import format (`PARQUET_SCHEMA`), a batch at a time."""
    days = plan.data_days
    if days is None:
        return
    start, end = utc_bounds(DateRange(*days), plan.site.timezone)
    end += dt.timedelta(seconds=1)  # the bounds are inclusive to the second
    for batch in store.read_events(plan.site.id, start, end, batch_rows=BATCH_ROWS):
        table = as_import_rows(batch)
        if table.num_rows:
            yield table


def as_import_rows(batch: pa.RecordBatch) -> pa.Table:
    """Stored events as import rows: engagement events dropped, the visit's source in the URL."""
    table = pa.Table.from_batches([batch])
    table = table.filter(pc.not_equal(table["name"], "engagement"))
    if not table.num_rows:
        return PARQUET_SCHEMA.empty_table()
    urls = pc.binary_join_element_wise(
        "https://", table["hostname"], table["pathname"], _queries(table), ""
    )
    referrer = table["referrer"]
    referrers = pc.if_else(
        pc.equal(referrer, ""),
        pa.nulls(table.num_rows, pa.string()),
        pc.if_else(
            pc.starts_with(referrer, "android-app://"),
            referrer,
            pc.binary_join_element_wise("https://", referrer, ""),
        ),
    )
    stamps = pc.cast(table["timestamp"], pa.timestamp("s"), safe=False)
    return pa.Table.from_arrays(
        [
            pc.assume_timezone(stamps, "UTC"),
            table["name"],
            urls,
            referrers,
            pc.cast(table["visitor_id"], pa.string()),
            table["interactive"],
            _props(table),
        ],
        schema=PARQUET_SCHEMA,
    )


def _queries(table: pa.Table) -> pa.ChunkedArray:
    """The query string (``?utm_source=…``) each event's visit was tagged with, or ""."""
    columns = [table[name] for name in (*_UTM, "click_id_param")]
    keys = pc.binary_join_element_wise(*columns, "\x1f").combine_chunks().dictionary_encode()
    texts = []
    for key in keys.dictionary.to_pylist():
        values = dict(zip((*_UTM, "click_id_param"), key.split("\x1f"), strict=True))
        pairs = [(name, values[name]) for name in _UTM if values[name]]
        pairs = [(k, v) for k, v in pairs if not (k == "utm_medium" and v in _INFERRED_MEDIA)]
        if values["click_id_param"]:
            pairs.append((values["click_id_param"], ""))
        texts.append("?" + _urlencode(pairs) if pairs else "")
    return pa.chunked_array([pa.array(texts, pa.string()).take(keys.indices)])


def _urlencode(pairs: list[tuple[str, str]]) -> str:
    from urllib.parse import quote

    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def _props(table: pa.Table) -> pa.ChunkedArray:
    """Each event's custom properties as JSON object text (null when it has none)."""
    keys = table["props_keys"].to_pylist()
    values = table["props_values"].to_pylist()
    texts = [
        orjson.dumps(dict(zip(k, v, strict=True))).decode() if k else None
        for k, v in zip(keys, values, strict=True)
    ]
    return pa.chunked_array([pa.array(texts, pa.string())])


def ndjson_lines(table: pa.Table) -> bytes:
    """Import lines for the rows of `table` (`PARQUET_SCHEMA`); absent fields are left out."""
    stamps = pc.strftime(table["timestamp"], "%Y-%m-%dT%H:%M:%SZ").to_pylist()
    names = table["name"].to_pylist()
    urls = table["url"].to_pylist()
    referrers = table["referrer"].to_pylist()
    visitors = table["visitor_id"].to_pylist()
    interactive = table["interactive"].to_pylist()
    props = table["props"].to_pylist()
    lines = []
    for i, stamp in enumerate(stamps):
        line: dict[str, object] = {"timestamp": stamp, "name": names[i], "url": urls[i]}
        if referrers[i] is not None:
            line["referrer"] = referrers[i]
        line["visitor_id"] = visitors[i]
        if props[i] is not None:
            line["props"] = orjson.Fragment(props[i])
        if not interactive[i]:
            line["interactive"] = False
        lines.append(orjson.dumps(line))
    lines.append(b"")
    return b"\n".join(lines)
