"""Schema upgrades of the DuckDB event store, and the visitor numbering they share.

A store of an older schema version is upgraded in place when it is opened for writing
(`footfall.storage.duckdb.store.DuckDBEventStore`); a restored snapshot of an older version is
upgraded the same way, because the restore first rebuilds the store exactly as it was.
"""

from __future__ import annotations

import duckdb


def from_1(con: duckdb.DuckDBPyConnection, new_version: str) -> None:
    """Adds the `visitor` column to both tables and numbers every stored visitor.

    One transaction: on failure it is rolled back and the store stays at version 1.

    Args:
        con: The store's writing connection.
        new_version: The schema version recorded once the upgrade is done.

    Raises:
        duckdb.Error: The upgrade failed (rolled back).
    """
    con.begin()
    try:
        for table in ("events", "sessions"):
            # Added columns go last; the DEFAULT fills existing rows, then is dropped so that
            # every later insert must supply a number, as in a new store.
            con.execute(f"ALTER TABLE {table} ADD COLUMN visitor UINTEGER NOT NULL DEFAULT 0")
        number_visitors(con)
        for table in ("events", "sessions"):
            con.execute(f"ALTER TABLE {table} ALTER COLUMN visitor DROP DEFAULT")
        con.execute("UPDATE store_info SET value = ? WHERE key = 'schema_version'", [new_version])
        con.commit()
    except duckdb.Error:
        con.rollback()
        raise


def number_visitors(con: duckdb.DuckDBPyConnection) -> None:
    """Gives rows whose `visitor` is 0 (not yet numbered) their visitor number.

    A (site_id, visitor_id) that already has a number elsewhere keeps it; the others get
    new numbers after the largest in use, in order of their first appearance. Runs inside
    the caller's transaction.
    """
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _unnumbered AS
        SELECT site_id, visitor_id, min(first_seen) AS first_seen FROM (
          SELECT site_id, visitor_id, min(start) AS first_seen FROM sessions
          WHERE visitor = 0 GROUP BY site_id, visitor_id
          UNION ALL
          SELECT site_id, visitor_id, min(timestamp) FROM events
          WHERE visitor = 0 GROUP BY site_id, visitor_id)
        GROUP BY site_id, visitor_id
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _known AS
        SELECT site_id, visitor_id, min(visitor) AS visitor FROM (
          SELECT site_id, visitor_id, visitor FROM sessions WHERE visitor <> 0
          UNION ALL
          SELECT site_id, visitor_id, visitor FROM events WHERE visitor <> 0)
        SEMI JOIN _unnumbered USING (site_id, visitor_id)
        GROUP BY site_id, visitor_id
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _numbers AS
        SELECT site_id, visitor_id, visitor FROM _known
        UNION ALL
        SELECT u.site_id, u.visitor_id,
               (m.top + row_number() OVER (ORDER BY u.first_seen, u.site_id, u.visitor_id))
                 ::UINTEGER
        FROM _unnumbered u ANTI JOIN _known k USING (site_id, visitor_id),
             (SELECT greatest((SELECT coalesce(max(visitor), 0) FROM events),
                              (SELECT coalesce(max(visitor), 0) FROM sessions)) AS top) m
    """)
    for table in ("events", "sessions"):
        con.execute(f"""
            UPDATE {table} SET visitor = n.visitor FROM _numbers n
            WHERE {table}.visitor = 0 AND {table}.site_id = n.site_id
              AND {table}.visitor_id = n.visitor_id
        """)
    for table in ("_unnumbered", "_known", "_numbers"):
        con.execute(f"DROP TABLE {table}")
