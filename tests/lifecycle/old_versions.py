"""Data as earlier releases left it: an event store of schema version 1, metadata at any
revision, filled with a row in every table that revision has."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import duckdb
import sqlalchemy as sa

# Version 1's visit columns, as it wrote them (frozen: later schemas may add or change some).
_V1_VISIT = """
  referrer VARCHAR NOT NULL, referrer_source VARCHAR NOT NULL, channel VARCHAR NOT NULL,
  utm_medium VARCHAR NOT NULL, utm_source VARCHAR NOT NULL, utm_campaign VARCHAR NOT NULL,
  utm_content VARCHAR NOT NULL, utm_term VARCHAR NOT NULL, click_id_param VARCHAR NOT NULL,
  country VARCHAR NOT NULL, region VARCHAR NOT NULL, city UINTEGER NOT NULL,
  device VARCHAR NOT NULL, browser VARCHAR NOT NULL, browser_version VARCHAR NOT NULL,
  os VARCHAR NOT NULL, os_version VARCHAR NOT NULL"""
_V1_DDL = f"""
CREATE TABLE events (
  site_id UINTEGER NOT NULL, timestamp TIMESTAMP NOT NULL, name VARCHAR NOT NULL,
  hostname VARCHAR NOT NULL, pathname VARCHAR NOT NULL, visitor_id UBIGINT NOT NULL,
  session_id UBIGINT NOT NULL, props_keys VARCHAR[] NOT NULL, props_values VARCHAR[] NOT NULL,
  scroll_depth UTINYINT NOT NULL, engagement_time UINTEGER NOT NULL,
  interactive BOOLEAN NOT NULL, {_V1_VISIT});
CREATE TABLE sessions (
  site_id UINTEGER NOT NULL, session_id UBIGINT NOT NULL, visitor_id UBIGINT NOT NULL,
  start TIMESTAMP NOT NULL, timestamp TIMESTAMP NOT NULL, duration UINTEGER NOT NULL,
  pageviews UINTEGER NOT NULL, events UINTEGER NOT NULL, is_bounce BOOLEAN NOT NULL,
  entry_page VARCHAR NOT NULL, exit_page VARCHAR NOT NULL, hostname VARCHAR NOT NULL,
  exit_hostname VARCHAR NOT NULL, entry_props_keys VARCHAR[] NOT NULL,
  entry_props_values VARCHAR[] NOT NULL, {_V1_VISIT});
CREATE TABLE store_info (key VARCHAR PRIMARY KEY, value VARCHAR);
"""
# The visit columns' values of every v1 row here: a desktop Chrome visit from GB.
VISIT_VALUES = ", '', '', '', '', '', '', '', '', '', 'GB', '', 0, 'Desktop', 'Chrome', '', '', ''"


def create_v1_tables(con: duckdb.DuckDBPyConnection, *, clean_shutdown: bool = True) -> None:
    """The tables of a version-1 store, empty, marked as shut down cleanly or not."""
    con.execute(_V1_DDL)
    con.execute(
        "INSERT INTO store_info VALUES ('schema_version', '1'), ('clean_shutdown', ?)",
        ["true" if clean_shutdown else "false"],
    )


DAY = dt.datetime(2026, 11, 2, 9, 0)


def write_v1_store(con: duckdb.DuckDBPyConnection, *, pageviews: int = 3) -> None:
    """A version-1 store (no visitor numbers) holding one visit of `pageviews` page views."""
    create_v1_tables(con)
    for minute in range(pageviews):
        con.execute(
            "INSERT INTO events VALUES (1, ? , 'pageview', 'example.com', '/old', 7, 1, [], [], "
            "255, 0, true" + VISIT_VALUES + ")",
            [DAY + dt.timedelta(minutes=minute)],
        )
    con.execute(
        "INSERT INTO sessions VALUES (1, 1, 7, ?, ?, ?, ?, ?, false, '/old', '/old', "
        "'example.com', 'example.com', [], []" + VISIT_VALUES + ")",
        [
            DAY,
            DAY + dt.timedelta(minutes=pageviews - 1),
            60 * (pageviews - 1),
            pageviews,
            pageviews,
        ],
    )


def v1_store_file(path: Path, *, pageviews: int = 3) -> Path:
    """`write_v1_store` into a new file at `path`."""
    con = duckdb.connect(str(path))
    try:
        write_v1_store(con, pageviews=pageviews)
    finally:
        con.close()
    return path


_CREATED = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
# A row for every table of every revision, by column; only the columns a revision has are used.
SAMPLES: dict[str, dict[str, Any]] = {
    "sites": {
        "id": 1,
        "domain": "example.com",
        "timezone": "Europe/Berlin",
        "created_at": _CREATED,
    },
    "users": {
        "id": 1,
        "email": "admin@example.com",
        "role": "admin",
        "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        "created_at": _CREATED,
    },
    "api_keys": {
        "id": 1,
        "name": "reader",
        "prefix": "ff_abcd",
        "key_hash": hashlib.sha256(b"ff_abcd-secret").hexdigest(),
        "scopes": "stats:read",
        "created_at": _CREATED,
    },
    "salts": {"id": 1, "salt": b"0123456789abcdef", "created_at": _CREATED},
    "goals": {
        "id": 1,
        "site_id": 1,
        "event_name": "Signup",
        "display_name": "Signup",
        "custom_props": "{}",
        "created_at": _CREATED,
    },
    "audit_log": {
        "id": 1,
        "at": _CREATED,
        "actor": "cli:alice",
        "action": "site.add",
        "target": "example.com",
    },
    "login_sessions": {
        "token_hash": "f" * 64,
        "user_id": 1,
        "created_at": _CREATED,
        "last_seen_at": _CREATED,
        "expires_at": _CREATED + dt.timedelta(days=365),
    },
    "user_sites": {"user_id": 1, "site_id": 1, "created_at": _CREATED},
    "shared_links": {
        "id": 1,
        "site_id": 1,
        "slug": "s" * 22,
        "name": "Board",
        "created_at": _CREATED,
    },
}


def fill(engine: sa.Engine) -> dict[str, int]:
    """Inserts the sample row into every footfall table the database has; returns the counts."""
    found = sa.MetaData()
    found.reflect(engine)
    counts = {}
    with engine.begin() as conn:
        for name, values in SAMPLES.items():  # in an order the foreign keys allow
            table = found.tables.get(name)
            if table is None:
                continue
            conn.execute(table.insert().values({k: v for k, v in values.items() if k in table.c}))
            if engine.dialect.name == "postgresql" and "id" in table.c:
                # Rows inserted with explicit ids: move the sequence past them.
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )
                )
            counts[name] = 1
    return counts
