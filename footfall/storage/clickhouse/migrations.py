"""The ClickHouse schema, as numbered migrations applied in order and recorded in the database.

Learned from Plausible's `events_v2` and `sessions_v2`: events in a `MergeTree` partitioned by
month and sorted by (site, day, name, visitor), so that one site's day range is a few
contiguous granules; repeated strings as `LowCardinality`; time columns delta-coded. Sessions
change while a visit goes on, and ClickHouse does not update rows: each change is written as a
cancel row (the previous state with ``sign = -1``) and the new state (``sign = 1``, the next
``version``) into a `VersionedCollapsingMergeTree`, whose merges drop the pairs. Queries read
``sum(sign * x)``, which is exact whether or not the merge has happened yet.

A migration's statements never change once released; a later change is a new migration.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

log = logging.getLogger(__name__)

_VISIT_COLUMNS = """
  referrer String CODEC(ZSTD(3)),
  referrer_source LowCardinality(String),
  channel LowCardinality(String),
  utm_medium LowCardinality(String),
  utm_source LowCardinality(String),
  utm_campaign String CODEC(ZSTD(3)),
  utm_content String CODEC(ZSTD(3)),
  utm_term String CODEC(ZSTD(3)),
  click_id_param LowCardinality(String),
  country LowCardinality(String),
  region LowCardinality(String),
  city UInt32 CODEC(T64, ZSTD(1)),
  device LowCardinality(String),
  browser LowCardinality(String),
  browser_version LowCardinality(String),
  os LowCardinality(String),
  os_version LowCardinality(String)"""

_EVENTS = f"""
CREATE TABLE IF NOT EXISTS events (
  site_id UInt32,
  timestamp DateTime64(6, 'UTC') CODEC(Delta(8), ZSTD(1)),
  name LowCardinality(String),
  hostname LowCardinality(String),
  pathname LowCardinality(String),
  visitor_id UInt64,
  visitor UInt32 CODEC(Delta(4), ZSTD(1)),
  session_id UInt64 CODEC(ZSTD(1)),
  props_keys Array(LowCardinality(String)),
  props_values Array(String) CODEC(ZSTD(3)),
  scroll_depth UInt8,
  engagement_time UInt32 CODEC(T64, ZSTD(1)),
  interactive Bool,{_VISIT_COLUMNS},
  batch UInt64 CODEC(Delta(8), ZSTD(1))
) ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
-- Not the raw timestamp as a last key column: ClickHouse would then test time ranges against it
-- instead of toDate(timestamp), and prune no granule of a site's range by day.
ORDER BY (site_id, toDate(timestamp), name, visitor)
SETTINGS non_replicated_deduplication_window = 1000
"""

_SESSIONS = f"""
CREATE TABLE IF NOT EXISTS sessions (
  site_id UInt32,
  session_id UInt64 CODEC(ZSTD(1)),
  visitor_id UInt64,
  visitor UInt32 CODEC(Delta(4), ZSTD(1)),
  start DateTime64(6, 'UTC') CODEC(Delta(8), ZSTD(1)),
  timestamp DateTime64(6, 'UTC') CODEC(Delta(8), ZSTD(1)),
  duration UInt32 CODEC(T64, ZSTD(1)),
  pageviews UInt32 CODEC(T64, ZSTD(1)),
  events UInt32 CODEC(T64, ZSTD(1)),
  is_bounce Bool,
  entry_page LowCardinality(String),
  exit_page LowCardinality(String),
  hostname LowCardinality(String),
  exit_hostname LowCardinality(String),
  entry_props_keys Array(LowCardinality(String)),
  entry_props_values Array(String) CODEC(ZSTD(3)),{_VISIT_COLUMNS},
  sign Int8,
  version UInt32,
  batch UInt64 CODEC(Delta(8), ZSTD(1)),
  -- Sessions are sorted by start; their last event's time follows it closely, so a min/max
  -- index on it skips the granules of visits that ended before a range.
  INDEX last_event timestamp TYPE minmax GRANULARITY 1,
  -- A session's rows by id, for writing the cancel row of a state this process did not write.
  INDEX session session_id TYPE bloom_filter(0.01) GRANULARITY 4
) ENGINE = VersionedCollapsingMergeTree(sign, version)
PARTITION BY toYYYYMM(start)
ORDER BY (site_id, toDate(start), visitor, session_id)
SETTINGS non_replicated_deduplication_window = 1000
"""

_STORE_INFO = """
CREATE TABLE IF NOT EXISTS store_info (
  key String,
  value String,
  seq UInt64
) ENGINE = ReplacingMergeTree(seq)
ORDER BY key
"""


@dataclass(frozen=True)
class Migration:
    """One step of the schema.

    Attributes:
        version: Its number; migrations apply in increasing order.
        name: What it does, in a few words.
        up: The statements that apply it.
        down: The statements that undo it.
    """

    version: int
    name: str
    up: tuple[str, ...]
    down: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "events, sessions (versioned collapsing) and store_info",
        (_EVENTS, _SESSIONS, _STORE_INFO),
        (
            "DROP TABLE IF EXISTS store_info",
            "DROP TABLE IF EXISTS sessions",
            "DROP TABLE IF EXISTS events",
        ),
    ),
)
LATEST = MIGRATIONS[-1].version

_LEDGER = """
CREATE TABLE IF NOT EXISTS footfall_migrations (
  version UInt32,
  name String,
  applied_at DateTime('UTC'),
  applied Int8
) ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version
"""
LEDGER = _LEDGER


def applied_version(client: Client) -> int:
    """The highest migration applied to the client's database (0 for none)."""
    client.command(_LEDGER)
    rows = client.query(
        "SELECT version FROM footfall_migrations FINAL WHERE applied = 1 "
        "ORDER BY version DESC LIMIT 1"
    ).result_rows
    return int(rows[0][0]) if rows else 0


def _record(client: Client, migration: Migration, applied: bool) -> None:
    # The ledger's version column is its key: a later row for the same version replaces it.
    client.insert(
        "footfall_migrations",
        [[migration.version, migration.name, int(time.time()), int(applied)]],
        column_names=["version", "name", "applied_at", "applied"],
    )


def migrate(client: Client, *, target: int = LATEST) -> int:
    """Applies (or undoes) migrations until the database is at `target`.

    Returns:
        The version the database is at afterwards.

    Raises:
        ValueError: The database is newer than this footfall knows (`target` is unknown).
    """
    current = applied_version(client)
    if current > LATEST:
        raise ValueError(
            f"the ClickHouse schema is at version {current}; this footfall knows up to {LATEST}"
        )
    for migration in MIGRATIONS:
        if current < migration.version <= target:
            log.info("ClickHouse schema: applying %d (%s)", migration.version, migration.name)
            for statement in migration.up:
                client.command(statement)
            _record(client, migration, True)
    for migration in reversed(MIGRATIONS):
        if target < migration.version <= current:
            log.info("ClickHouse schema: undoing %d (%s)", migration.version, migration.name)
            for statement in migration.down:
                client.command(statement)
            _record(client, migration, False)
    return applied_version(client)
