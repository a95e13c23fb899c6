"""Bulk import of NDJSON history, done in the engine (docs/adr/0006-import-in-the-engine.md).

Lines are read by pyarrow, parsed and validated by DuckDB's JSON functions in TEMP tables on a
cursor of the store's own database, enriched once per *distinct* URL, referrer, User-Agent, IP
and visitor identity with the same Python functions the live pipeline uses (IPv4 countries are
joined to the network ranges in SQL), sessionised with window functions under the same
30-minute rule, given visitor numbers from the live path's counter (docs/adr/0007), and moved
into the store's tables in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from footfall.errors import StoreError
from footfall.ingest.domains import root_domain
from footfall.ingest.geo import GeoLocator, ipv4_ranges
from footfall.ingest.request import MAX_NAME_CHARS, MAX_URL_BYTES, PROPS_ERROR, parse_props
from footfall.ingest.salts import SaltRing
from footfall.ingest.sources import SOURCE_PARAMS, SourceClassifier, is_spam_referrer
from footfall.ingest.urls import parse_page_url
from footfall.ingest.useragent import UserAgentParser
from footfall.ingest.visitor import VISITOR_ID_MARKER
from footfall.storage.duckdb.store import DuckDBEventStore
from footfall.storage.schema import EVENT_COLUMNS, NO_SCROLL_DEPTH, SESSION_COLUMNS, VISIT_COLUMNS

log = logging.getLogger(__name__)

MAX_REPORTED_ERRORS = 1000
_FIELD_TYPES = {
    "timestamp": "VARCHAR",
    "name": "VARCHAR",
    "url": "VARCHAR",
    "referrer": "VARCHAR",
    "user_agent": "VARCHAR",
    "ip": "VARCHAR",
    "visitor_id": "VARCHAR",
    "props": "JSON",
    "interactive": "BOOLEAN",
}
_FIELD_NAMES = tuple(_FIELD_TYPES)
# The same fields as json_transform's structure, as read_json's columns, and as a STRUCT type.
_FIELDS = orjson.dumps(_FIELD_TYPES).decode()
_STRUCT_SQL = "STRUCT(" + ", ".join(f"{k} {v}" for k, v in _FIELD_TYPES.items()) + ")"
_COLUMNS_SQL = "{" + ", ".join(f"'{k}': '{v}'" for k, v in _FIELD_TYPES.items()) + "}"
_VISIT_SOURCE_COLUMNS = VISIT_COLUMNS[:9]  # referrer .. click_id_param
_IPV4_TABLE: pa.Table | None = None


@dataclass(slots=True)
class ImportReport:
    """What an import did. `errors` lists the first rejected lines with their reasons."""

    lines: int = 0
    stored: int = 0
    sessions: int = 0
    dropped: int = 0
    rejected: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    # Which reader parsed the file: "whole-file" (clean files) or "line-by-line".
    reader: str = "line-by-line"

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "lines": self.lines,
            "stored": self.stored,
            "sessions": self.sessions,
            "dropped": self.dropped,
            "rejected": self.rejected,
            "errors": [{"line": n, "error": e} for n, e in self.errors],
        }


@dataclass(frozen=True, slots=True)
class Enrichers:
    """The live pipeline's enrichment functions, reused per distinct value."""

    user_agents: UserAgentParser
    geo: GeoLocator
    sources: SourceClassifier


Progress = Callable[[str], None]


def _read_batches(path: Path, batch_bytes: int) -> Iterator[pa.RecordBatch]:
    """Streams the file as one string column per line, blank lines included (for numbering)."""
    reader = pcsv.open_csv(
        path,
        read_options=pcsv.ReadOptions(column_names=["line"], block_size=batch_bytes),
        # JSON text never holds a raw 0x1f, so every line is exactly one field.
        parse_options=pcsv.ParseOptions(
            delimiter="\x1f",
            quote_char=False,
            escape_char=False,
            newlines_in_values=False,
            ignore_empty_lines=False,
        ),
        convert_options=pcsv.ConvertOptions(
            column_types={"line": pa.string()}, strings_can_be_null=False
        ),
    )
    yield from reader


def _read_batches_slow(path: Path, batch_lines: int) -> Iterator[pa.RecordBatch]:
    """Fallback for files the fast reader refuses (control characters, invalid UTF-8)."""
    with path.open("r", encoding="utf-8", errors="replace", newline="\n") as handle:
        chunk: list[str] = []
        for raw in handle:
            chunk.append(raw.rstrip("\r\n"))
            if len(chunk) >= batch_lines:
                yield pa.record_batch([pa.array(chunk, pa.string())], names=["line"])
                chunk = []
        if chunk:
            yield pa.record_batch([pa.array(chunk, pa.string())], names=["line"])


def _count_lines(path: Path) -> int:
    """Lines in the file, a last line without a newline included."""
    count = 0
    last = b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (0 if last == b"\n" else 1)


class DuckDBImporter:
    """Imports NDJSON files into a `DuckDBEventStore` for one site."""

    def __init__(
        self,
        store: DuckDBEventStore,
        *,
        enrichers: Enrichers,
        salts: SaltRing,
        reserve_session_ids: Callable[[int], int],
        reserve_visitor_numbers: Callable[[int], int],
        batch_bytes: int = 64 << 20,
    ) -> None:
        self._store = store
        self._enrich = enrichers
        self._salts = salts
        self._reserve = reserve_session_ids
        self._reserve_visitors = reserve_visitor_numbers
        self._batch_bytes = batch_bytes

    def import_file(
        self, path: Path, *, site_id: int, domain: str, progress: Progress | None = None
    ) -> ImportReport:
        """Imports one NDJSON file.

        Args:
            path: The file; every line one JSON object.
            site_id: The site the events belong to.
            domain: The site's domain (part of the visitor hash).
            progress: Called with the name of each stage as it starts.

        Returns:
            Counts, and the first rejected lines with their reasons.
        """
        step = progress or (lambda _stage: None)
        report = ImportReport()
        # A cursor of the store's own database: staging lives in TEMP tables private to it, and
        # the final INSERT moves rows inside the engine. Live commits go on meanwhile (DuckDB
        # appends from several connections concurrently).
        with self._store.cursor(pooled=False) as con:
            step("reading")
            self._stage_lines(con, path, report)
            step("validating")
            self._validate(con, report)
            step("enriching")
            self._enrich_distinct(con, domain)
            step("sessionising")
            self._sessionise(con, site_id, report)
            step("writing")
            self._write(con, site_id, report)
        # Imports bypass the journal: only the database file keeps them if the WAL is lost.
        try:
            self._store.checkpoint()
        except StoreError:  # stored all the same; a failure here must not invite a re-import
            log.exception("checkpoint after an import failed; it is in the WAL until the next")
        return report

    # -- stages ---------------------------------------------------------------------------

    def _stage_lines(
        self, con: duckdb.DuckDBPyConnection, path: Path, report: ImportReport
    ) -> None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE parsed (line_no UBIGINT, r {_STRUCT_SQL})")
        con.execute("CREATE OR REPLACE TEMP TABLE rejected (line_no UBIGINT, error VARCHAR)")
        if self._load_whole_file(con, path, report):
            return
        try:
            self._load(con, _read_batches(path, self._batch_bytes), report)
        except (pa.ArrowInvalid, UnicodeDecodeError):
            con.execute("DELETE FROM parsed")
            con.execute("DELETE FROM rejected")
            report.lines = 0
            self._load(con, _read_batches_slow(path, 500_000), report)

    @staticmethod
    def _load_whole_file(con: duckdb.DuckDBPyConnection, path: Path, report: ImportReport) -> bool:
        """The fast path for a clean file: DuckDB's parallel NDJSON reader, all in one go.

        Line numbers are only knowable when every line became exactly one row: the reader
        stops at the first malformed line and skips blank ones, so a file with either takes
        the line-by-line path instead (False). A table filled in file order numbers its rows
        in that order, which is what makes `rowid + 1` the line number.
        """
        literal = "'" + str(path).replace("'", "''") + "'"
        try:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _whole AS SELECT * FROM read_json("
                f"{literal}, format = 'newline_delimited', columns = {_COLUMNS_SQL})"
            )
        except Exception:
            # Any trouble means a line the careful path must judge. (DuckDB's error message
            # quotes the line cut at a byte offset; when that splits a character even the
            # message fails to decode, as UnicodeDecodeError.)
            return False
        counted = con.execute("SELECT count(*) FROM _whole").fetchone()
        rows = int(counted[0]) if counted else 0
        if rows != _count_lines(path):
            con.execute("DROP TABLE _whole")
            return False
        fields = ", ".join(f"'{name}': {name}" for name in _FIELD_NAMES)
        con.execute(f"INSERT INTO parsed SELECT rowid + 1, {{{fields}}} FROM _whole")
        con.execute("DROP TABLE _whole")
        report.lines = rows
        report.reader = "whole-file"
        return True

    @staticmethod
    def _load(
        con: duckdb.DuckDBPyConnection, batches: Iterator[pa.RecordBatch], report: ImportReport
    ) -> None:
        offset = 0
        for batch in batches:
            # offset+1 .. offset+n, built in Arrow rather than from a Python range.
            numbers = pc.add(
                pc.cumulative_sum(pa.nulls(batch.num_rows, pa.uint64()).fill_null(1)), offset
            )
            offset += batch.num_rows
            chunk = pa.Table.from_batches([batch]).append_column("line_no", numbers)
            con.register("_chunk", chunk)
            # One JSON parse per line: TRY turns unparseable text into NULL; arrays and scalars
            # are caught by their first character.
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _lines AS SELECT line_no, "
                f"try(json_transform(line, '{_FIELDS}')) AS r, "
                "starts_with(ltrim(line), '{') AS is_object "
                "FROM _chunk WHERE trim(line) <> ''"
            )
            con.unregister("_chunk")
            con.execute(
                "INSERT INTO rejected SELECT line_no, 'not a JSON object' "
                "FROM _lines WHERE r IS NULL OR NOT is_object"
            )
            con.execute(
                "INSERT INTO parsed SELECT line_no, r FROM _lines WHERE r IS NOT NULL AND is_object"
            )
        row = con.execute("SELECT count(*) FROM parsed").fetchone()
        bad = con.execute("SELECT count(*) FROM rejected").fetchone()
        report.lines = (int(row[0]) if row else 0) + (int(bad[0]) if bad else 0)
        con.execute("DROP TABLE IF EXISTS _lines")

    def _validate(self, con: duckdb.DuckDBPyConnection, report: ImportReport) -> None:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE checked AS
            SELECT line_no, r.*, date_trunc('second', try_cast(r.timestamp AS TIMESTAMPTZ)
                       AT TIME ZONE 'UTC') AS ts,
                   CASE
                     WHEN r.timestamp IS NULL THEN 'timestamp is required'
                     WHEN try_cast(r.timestamp AS TIMESTAMPTZ) IS NULL
                       THEN 'timestamp is not an ISO-8601 date-time'
                     -- Historical events only: a future one would count as a current visitor.
                     WHEN try_cast(r.timestamp AS TIMESTAMPTZ) > now() + INTERVAL 1 DAY
                       THEN 'timestamp is more than a day in the future'
                     WHEN r.name IS NULL OR r.name = '' THEN 'name is required'
                     WHEN length(r.name) > {MAX_NAME_CHARS}
                       THEN 'name should be at most {MAX_NAME_CHARS} characters'
                     WHEN r.url IS NULL THEN 'url is required'
                     WHEN strlen(r.url) > {MAX_URL_BYTES} THEN 'url must be a valid url'
                     WHEN lower(r.url) LIKE 'data:%' THEN 'url scheme is not allowed'
                   END AS error
            FROM parsed
        """)
        con.execute("DROP TABLE parsed")
        con.execute(
            "INSERT INTO rejected SELECT line_no, error FROM checked WHERE error IS NOT NULL"
        )
        con.execute("DELETE FROM checked WHERE error IS NOT NULL")
        # Props: cleaned by the live pipeline's own function, once per distinct JSON text.
        distinct = con.execute(
            "SELECT DISTINCT props FROM checked WHERE props IS NOT NULL"
        ).fetchall()
        texts, keys, values, too_long = [], [], [], []
        for (text,) in distinct:
            try:
                raw = orjson.loads(text)
            except orjson.JSONDecodeError:
                raw = None
            props, long = parse_props(raw)
            texts.append(text)
            keys.append([k for k, _ in props])
            values.append([v for _, v in props])
            too_long.append(long)
        con.register(
            "_props",
            pa.table(
                {
                    "props": pa.array(texts, pa.string()),
                    "keys": pa.array(keys, pa.list_(pa.string())),
                    "vals": pa.array(values, pa.list_(pa.string())),
                    "too_long": pa.array(too_long, pa.bool_()),
                }
            ),
        )
        con.execute(f"""
            INSERT INTO rejected SELECT c.line_no, 'props: {PROPS_ERROR}'
            FROM checked c JOIN _props p ON c.props::VARCHAR = p.props WHERE p.too_long
        """)
        con.execute("""
            CREATE OR REPLACE TEMP TABLE valid AS
            SELECT c.line_no, c.ts, c.name, c.url, coalesce(c.referrer, '') AS referrer,
                   coalesce(c.user_agent, '') AS user_agent, coalesce(c.ip, '') AS ip,
                   c.visitor_id, coalesce(c.interactive, true) AS interactive,
                   coalesce(p.keys, []::VARCHAR[]) AS props_keys,
                   coalesce(p.vals, []::VARCHAR[]) AS props_values
            FROM checked c LEFT JOIN _props p ON c.props::VARCHAR = p.props
            WHERE p.too_long IS NOT true
        """)
        con.unregister("_props")
        con.execute("DROP TABLE checked")
        total = con.execute("SELECT count(*) FROM rejected").fetchone()
        report.rejected = int(total[0]) if total else 0
        report.errors = [
            (int(n), str(e))
            for n, e in con.execute(
                f"SELECT line_no, error FROM rejected ORDER BY line_no LIMIT {MAX_REPORTED_ERRORS}"
            ).fetchall()
        ]

    def _enrich_distinct(self, con: duckdb.DuckDBPyConnection, domain: str) -> None:
        ua_parser, geo, sources = self._enrich.user_agents, self._enrich.geo, self._enrich.sources
        # URLs -> hostname, pathname, root domain and the query parameters that name a source.
        urls = [u for (u,) in con.execute("SELECT DISTINCT url FROM valid").fetchall()]
        hosts, paths, roots, qkeys = [], [], [], []
        for url in urls:
            page = parse_page_url(url)
            hosts.append(page.hostname)
            paths.append(page.pathname)
            roots.append(root_domain(page.hostname))
            subset = {k: page.query[k] for k in SOURCE_PARAMS if k in page.query}
            qkeys.append(orjson.dumps(subset).decode() if subset else "")
        con.register(
            "_urls",
            pa.table(
                {"url": urls, "hostname": hosts, "pathname": paths, "root": roots, "qkey": qkeys}
            ),
        )
        con.execute("CREATE OR REPLACE TEMP TABLE url_info AS SELECT * FROM _urls")
        con.unregister("_urls")

        # User agents.
        agents = [u for (u,) in con.execute("SELECT DISTINCT user_agent FROM valid").fetchall()]
        infos = [ua_parser.parse(u) for u in agents]
        con.register(
            "_ua",
            pa.table(
                {
                    "user_agent": agents,
                    "device": [i.device for i in infos],
                    "browser": [i.browser for i in infos],
                    "browser_version": [i.browser_version for i in infos],
                    "os": [i.os for i in infos],
                    "os_version": [i.os_version for i in infos],
                    "is_bot": [i.is_bot for i in infos],
                }
            ),
        )
        con.execute("CREATE OR REPLACE TEMP TABLE ua_info AS SELECT * FROM _ua")
        con.unregister("_ua")

        # Countries: dotted IPv4 addresses are joined to the network ranges in the engine;
        # anything else (IPv6, odd forms) is looked up here, once per distinct address.
        self._register_ipv4_ranges(con)
        con.execute(r"""
            CREATE OR REPLACE TEMP TABLE ip_numbers AS
            SELECT ip, CASE WHEN regexp_full_match(ip, '\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}')
                            THEN try_cast(split_part(ip, '.', 1) AS UBIGINT) * 16777216
                               + try_cast(split_part(ip, '.', 2) AS UBIGINT) * 65536
                               + try_cast(split_part(ip, '.', 3) AS UBIGINT) * 256
                               + try_cast(split_part(ip, '.', 4) AS UBIGINT) END AS n
            FROM (SELECT DISTINCT ip FROM valid)
        """)
        con.execute("""
            CREATE OR REPLACE TEMP TABLE ip_v4 AS
            SELECT i.ip, CASE WHEN i.n <= r.last THEN r.country ELSE '' END AS country
            FROM (SELECT * FROM ip_numbers WHERE n IS NOT NULL) i
            ASOF LEFT JOIN _ipv4 r ON i.n >= r.first
        """)
        others = [
            ip for (ip,) in con.execute("SELECT ip FROM ip_numbers WHERE n IS NULL").fetchall()
        ]
        con.register(
            "_ip",
            pa.table(
                {
                    "ip": pa.array(others, pa.string()),
                    "country": pa.array([geo.country(ip) for ip in others], pa.string()),
                }
            ),
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE ip_info AS "
            "SELECT ip, coalesce(country, '') AS country FROM ip_v4 "
            "UNION ALL SELECT ip, country FROM _ip"
        )
        con.unregister("_ip")
        con.unregister("_ipv4")
        con.execute("DROP TABLE ip_numbers")
        con.execute("DROP TABLE ip_v4")

        # Sources, per distinct (referrer, page host, source parameters).
        combos = con.execute("""
            SELECT DISTINCT v.referrer, u.hostname, u.qkey
            FROM valid v JOIN url_info u USING (url)
        """).fetchall()
        columns: dict[str, list[Any]] = {
            c: [] for c in ("referrer_in", "hostname", "qkey", "spam", *_VISIT_SOURCE_COLUMNS)
        }
        for referrer, hostname, qkey in combos:
            query = orjson.loads(qkey) if qkey else {}
            found = sources.classify(referrer=referrer or None, page_hostname=hostname, query=query)
            columns["referrer_in"].append(referrer)
            columns["hostname"].append(hostname)
            columns["qkey"].append(qkey)
            columns["spam"].append(is_spam_referrer(referrer or None))
            for name in _VISIT_SOURCE_COLUMNS:
                columns[name].append(getattr(found, name))
        con.register("_src", pa.table(columns))
        con.execute("CREATE OR REPLACE TEMP TABLE src_info AS SELECT * FROM _src")
        con.unregister("_src")

        # Visitor ids under the current salt, per distinct identity, computed in the engine
        # with the same construction as footfall.ingest.visitor.visitor_id. An explicit visitor
        # id replaces (UA, IP); its marker keeps the two spaces of identities apart.
        identity = (
            "CASE WHEN given IS NULL THEN user_agent || chr(0) || ip "
            "ELSE $marker || chr(0) || given END"
        )
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE visitor_info AS
            SELECT user_agent, ip, given, root,
                   (('0x' || left(sha256($salt || chr(0) || {identity} || chr(0) || $domain
                                         || chr(0) || root), 16))::UBIGINT >> 1) AS visitor_id
            FROM (SELECT DISTINCT v.user_agent, v.ip, v.visitor_id AS given, u.root
                  FROM valid v JOIN url_info u USING (url))
            """,
            {"salt": self._salts.current.hex(), "domain": domain, "marker": VISITOR_ID_MARKER},
        )

    @staticmethod
    def _register_ipv4_ranges(con: duckdb.DuckDBPyConnection) -> None:
        global _IPV4_TABLE
        if _IPV4_TABLE is None:
            firsts, lasts, countries = ipv4_ranges()
            _IPV4_TABLE = pa.table(
                {
                    "first": pa.array(firsts, pa.uint64()),
                    "last": pa.array(lasts, pa.uint64()),
                    "country": pa.array(countries, pa.string()),
                }
            )
        con.register("_ipv4", _IPV4_TABLE)

    def _sessionise(
        self, con: duckdb.DuckDBPyConnection, site_id: int, report: ImportReport
    ) -> None:
        # Only what the session rule needs travels through the sort: the visit attributes are
        # joined once per session (from its first event) instead of once per event.
        con.execute("""
            CREATE OR REPLACE TEMP TABLE base AS
            SELECT v.line_no, v.ts, vi.visitor_id, v.name, v.interactive, u.hostname,
                   u.pathname, v.props_keys, v.props_values
            FROM valid v
            JOIN url_info u USING (url)
            JOIN visitor_info vi ON vi.user_agent = v.user_agent AND vi.ip = v.ip
                                AND vi.given IS NOT DISTINCT FROM v.visitor_id AND vi.root = u.root
            WHERE v.name <> 'engagement'
              AND v.user_agent NOT IN (SELECT user_agent FROM ua_info WHERE is_bot)
              AND v.referrer NOT IN (SELECT referrer_in FROM src_info WHERE spam)
        """)
        counts = con.execute("SELECT (SELECT count(*) FROM valid), count(*) FROM base").fetchone()
        report.dropped = int(counts[0]) - int(counts[1]) if counts else 0
        # The 30-minute rule: a new session when more than 30 whole minutes passed since the
        # visitor's previous event (footfall.sessions.rule.continues).
        con.execute("""
            CREATE OR REPLACE TEMP TABLE sequenced AS
            SELECT *, sum(starts) OVER (PARTITION BY visitor_id ORDER BY ts, line_no
                                         ROWS UNBOUNDED PRECEDING) AS seq
            FROM (
              SELECT *, CASE WHEN prev IS NULL
                               OR floor(date_diff('second', prev, ts) / 60) > 30
                             THEN 1 ELSE 0 END AS starts
              FROM (SELECT *, lag(ts) OVER (PARTITION BY visitor_id ORDER BY ts, line_no)
                      AS prev
                    FROM base)
            )
        """)
        con.execute("DROP TABLE base")
        con.execute("""
            CREATE OR REPLACE TEMP TABLE grouped AS
            SELECT visitor_id, seq, min(ts) AS start, max(ts) AS last, count(*) AS events,
                   count(*) FILTER (WHERE name = 'pageview') AS pageviews,
                   coalesce(bool_or(name <> 'pageview' AND interactive), false) AS engaged,
                   coalesce(arg_min(pathname, ord) FILTER (WHERE name = 'pageview'), '')
                     AS entry_page,
                   coalesce(arg_max(pathname, ord) FILTER (WHERE name = 'pageview'), '')
                     AS exit_page,
                   coalesce(arg_min(hostname, ord) FILTER (WHERE name = 'pageview'), '')
                     AS hostname,
                   coalesce(arg_max(hostname, ord) FILTER (WHERE name = 'pageview'), '')
                     AS exit_hostname,
                   arg_min(line_no, ord) AS first_line
            FROM (SELECT *, epoch_us(ts)::HUGEINT * 4294967296 + line_no AS ord FROM sequenced)
            GROUP BY visitor_id, seq
            -- Session ids follow start time (they compress well next to time-ordered events);
            -- numbering here sorts narrow rows, before the visit attributes are joined.
            ORDER BY start, visitor_id, seq
        """)
        count = con.execute("SELECT count(*) FROM grouped").fetchone()
        report.sessions = int(count[0]) if count else 0
        base = self._reserve(report.sessions) if report.sessions else 0
        self._number_visitors(con, site_id)
        source_cols = ", ".join(f"s.{c}" for c in _VISIT_SOURCE_COLUMNS)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE new_sessions AS
            SELECT {site_id}::UINTEGER AS site_id,
                   ({base} + g.rowid)::UBIGINT AS session_id,
                   g.visitor_id, n.visitor, g.start, g.last AS timestamp,
                   date_diff('second', g.start, g.last)::UINTEGER AS duration,
                   g.pageviews::UINTEGER AS pageviews, g.events::UINTEGER AS events,
                   g.pageviews < 2 AND NOT g.engaged AS is_bounce,
                   g.entry_page, g.exit_page, g.hostname, g.exit_hostname,
                   f.props_keys AS entry_props_keys, f.props_values AS entry_props_values,
                   {source_cols}, i.country, '' AS region, 0::UINTEGER AS city,
                   a.device, a.browser, a.browser_version, a.os, a.os_version, g.seq
            FROM grouped g
            JOIN visitor_numbers n USING (visitor_id)
            JOIN valid f ON f.line_no = g.first_line
            JOIN url_info u ON u.url = f.url
            JOIN src_info s ON s.referrer_in = f.referrer AND s.hostname = u.hostname
                           AND s.qkey = u.qkey
            JOIN ip_info i ON i.ip = f.ip
            JOIN ua_info a ON a.user_agent = f.user_agent
        """)
        for table in (
            "grouped",
            "valid",
            "url_info",
            "ua_info",
            "ip_info",
            "src_info",
            "visitor_info",
            "visitor_numbers",
        ):
            con.execute(f"DROP TABLE {table}")

    def _number_visitors(self, con: duckdb.DuckDBPyConnection, site_id: int) -> None:
        """Gives each visitor hash of the import its visitor number (docs/adr/0007).

        A hash the site's stored sessions already have keeps its number; the others get a
        block reserved from the live path's counter, in order of first appearance, so the
        import's visitors occupy a narrow band of numbers.
        """
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE import_visitors AS
            SELECT v.visitor_id, v.first_seen, k.visitor AS known
            FROM (SELECT visitor_id, min(start) AS first_seen FROM grouped GROUP BY visitor_id) v
            LEFT JOIN (SELECT visitor_id, min(visitor) AS visitor FROM sessions
                       WHERE site_id = $site AND visitor_id IN (SELECT visitor_id FROM grouped)
                       GROUP BY visitor_id) k USING (visitor_id)
            """,
            {"site": site_id},
        )
        row = con.execute(
            "SELECT count(*) FILTER (WHERE known IS NULL) FROM import_visitors"
        ).fetchone()
        new = int(row[0]) if row else 0
        first = self._reserve_visitors(new) if new else 0
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE visitor_numbers AS
            SELECT visitor_id, known AS visitor FROM import_visitors WHERE known IS NOT NULL
            UNION ALL
            SELECT visitor_id,
                   ({first} - 1 + row_number() OVER (ORDER BY first_seen, visitor_id))::UINTEGER
            FROM import_visitors WHERE known IS NULL
        """)
        con.execute("DROP TABLE import_visitors")

    def _write(self, con: duckdb.DuckDBPyConnection, site_id: int, report: ImportReport) -> None:
        session_visit = ", ".join(f"n.{c}" for c in VISIT_COLUMNS)
        con.begin()
        try:
            sessions = ", ".join(SESSION_COLUMNS)
            con.execute(
                f"INSERT INTO sessions ({sessions}) SELECT {sessions} "
                "FROM new_sessions ORDER BY session_id"
            )
            # Events go in time order: it is the order queries filter on, and it compresses.
            con.execute(f"""
                INSERT INTO events ({", ".join(EVENT_COLUMNS)})
                SELECT {site_id}::UINTEGER, e.ts, e.name, e.hostname, e.pathname, e.visitor_id,
                       n.visitor, n.session_id, e.props_keys, e.props_values,
                       {NO_SCROLL_DEPTH}::UTINYINT, 0::UINTEGER, e.interactive, {session_visit}
                FROM sequenced e
                JOIN new_sessions n ON n.visitor_id = e.visitor_id AND n.seq = e.seq
                ORDER BY e.ts, n.session_id
            """)
            stored = con.execute("SELECT count(*) FROM sequenced").fetchone()
            con.commit()
        except duckdb.Error:
            con.rollback()
            raise
        report.stored = int(stored[0]) if stored else 0
        con.execute("DROP TABLE sequenced")
        con.execute("DROP TABLE new_sessions")
