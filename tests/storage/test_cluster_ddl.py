"""`footfall migrate --cluster NAME`: the schema on a ClickHouse cluster, checked by its parser;
and `footfall backup --clickhouse-to`: ClickHouse's own BACKUP and RESTORE, checked the same way.

No cluster (Keeper, shards, replicas) runs here, so every statement is parsed by ClickHouse
itself (``formatQuery``, chdb in-process): a typo in the generated DDL fails here, not on the
operator's cluster.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from footfall.storage.clickhouse import migrations
from footfall.storage.clickhouse.backup_sql import backup_statements
from footfall.storage.clickhouse.cluster import SHARDING_KEY, cluster_statements
from tests.cluster.harness import environment
from tests.conftest import FOOTFALL
from tests.services import chdb_store


@pytest.fixture(scope="module")
def parser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    store = chdb_store(tmp_path_factory.mktemp("parser") / "chdb")
    try:
        yield store
    finally:
        store.close()


def _formatted(parser: Any, statement: str) -> str:
    """ClickHouse's own formatting of `statement` (raises on a syntax error)."""
    return str(parser.query("SELECT formatQuery($1)", [statement], timeout=10, tag="test")[0][0])


def test_every_cluster_statement_parses(parser: Any) -> None:
    statements = cluster_statements("analytics")
    assert len(statements) == 6
    for statement in statements:
        formatted = _formatted(parser, statement)
        assert "ON CLUSTER analytics" in formatted


def test_a_syntax_error_is_caught_by_the_parser(parser: Any) -> None:
    from footfall.errors import StoreError

    with pytest.raises(StoreError, match="Syntax error"):
        _formatted(parser, "CREATE TABLE t ON CLUSTER c (a UInt8 ENGINE = MergeTree ORDER BY a")


def test_sharded_tables_are_replicated_locally_and_distributed_by_visitor(parser: Any) -> None:
    by_table = {s.split()[5]: s for s in cluster_statements("analytics")}
    assert set(by_table) == {
        "events_local",
        "events",
        "sessions_local",
        "sessions",
        "store_info",
        "footfall_migrations",
    }
    events_local = _formatted(parser, by_table["events_local"])
    assert (
        "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/events_local'"
        in events_local
    )
    assert "ORDER BY (site_id, toDate(timestamp), name, visitor)" in events_local
    assert "non_replicated_deduplication_window" not in events_local
    sessions_local = _formatted(parser, by_table["sessions_local"])
    assert "ReplicatedVersionedCollapsingMergeTree(" in sessions_local
    assert sessions_local.rstrip().endswith(
        "ORDER BY (site_id, toDate(start), visitor, session_id)"
    )
    assert "'{replica}', sign, version)" in sessions_local
    for table in ("events", "sessions"):
        distributed = _formatted(parser, by_table[table])
        assert f"AS {table}_local" in distributed
        assert (
            f"Distributed(analytics, currentDatabase(), {table}_local, {SHARDING_KEY})"
            in distributed
        )
    # Small tables are copied to every node of every shard: no {shard} in their path.
    for table in ("store_info", "footfall_migrations"):
        assert f"'/clickhouse/tables/all/{{database}}/{table}'" in by_table[table]


def test_the_local_tables_keep_the_single_server_columns() -> None:
    """Rewritten from the single-server migrations: the columns cannot drift apart."""
    single = {s.split()[5]: s for m in migrations.MIGRATIONS for s in m.up}
    cluster = {s.split()[5]: s for s in cluster_statements("c")}
    for table in ("events", "sessions"):
        columns = single[table].split("(", 1)[1].split(") ENGINE", 1)[0]
        assert columns in cluster[f"{table}_local"]


def test_a_cluster_name_that_is_not_an_identifier_is_refused() -> None:
    with pytest.raises(ValueError, match="not a cluster name"):
        cluster_statements("prod`; DROP TABLE events; --")


def test_the_command_prints_the_statements(parser: Any, tmp_path: Path) -> None:
    result = subprocess.run(
        [*FOOTFALL, "migrate", "--cluster", "analytics", "--print"],
        capture_output=True,
        text=True,
        env=environment(FOOTFALL_DATA_DIR=str(tmp_path)),
        timeout=60,
        check=True,
    )
    printed = [s for s in result.stdout.split(";\n\n") if s.strip()]
    assert [s.strip().rstrip(";") for s in printed] == cluster_statements("analytics")
    assert not (tmp_path / "meta.sqlite3").exists()  # printing touches nothing


def test_the_command_needs_a_clickhouse_server(tmp_path: Path) -> None:
    result = subprocess.run(
        [*FOOTFALL, "migrate", "--cluster", "analytics"],
        capture_output=True,
        text=True,
        env=environment(FOOTFALL_DATA_DIR=str(tmp_path)),
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "--cluster needs FOOTFALL_EVENTS_URL" in line


# -- ClickHouse's own BACKUP and RESTORE (`footfall backup --clickhouse-to`) ------------------


def test_backup_statements_parse_for_a_server_and_a_cluster(parser: Any) -> None:
    destination = "S3('https://bucket.s3.example.com/footfall/2026-12-07', 'KEY', 'SECRET')"
    backup, restore = backup_statements("analytics", destination)
    for statement in (backup, restore):
        formatted = _formatted(parser, statement)
        for table in ("events", "sessions", "store_info", "footfall_migrations"):
            assert f"TABLE analytics.{table}" in formatted
    assert backup.startswith("BACKUP ") and restore.startswith("RESTORE ")
    on_cluster, _ = backup_statements("analytics", "Disk('backups', 'f.zip')", cluster="main")
    formatted = _formatted(parser, on_cluster)
    # Each shard backs up its own rows: the local tables, not the distributed ones over them.
    assert "analytics.events_local" in formatted and "analytics.sessions_local" in formatted
    assert "analytics.events," not in formatted and "ON CLUSTER main" in formatted


def test_backup_statements_refuse_what_clickhouse_would_not_take() -> None:
    for database, destination, cluster in (
        ("analytics; DROP TABLE x", "Disk('b', 'f.zip')", None),
        ("analytics", "/var/backups/footfall.zip", None),
        ("analytics", "Disk('b', 'f.zip')", "main cluster"),
    ):
        with pytest.raises(ValueError):
            backup_statements(database, destination, cluster=cluster)


def test_the_backup_command_prints_them_for_the_configured_store(tmp_path: Path) -> None:
    url = "clickhouse://footfall:pw@127.0.0.1:9/analytics"  # printed, never connected to
    done = subprocess.run(
        [*FOOTFALL, "backup", "--clickhouse-to", "Disk('backups', 'f.zip')", "--cluster", "main"],
        capture_output=True,
        text=True,
        env=environment(FOOTFALL_DATA_DIR=str(tmp_path), FOOTFALL_EVENTS_URL=url),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "BACKUP TABLE analytics.events_local" in done.stdout
    assert "ON CLUSTER main TO Disk('backups', 'f.zip');" in done.stdout
    assert "RESTORE TABLE analytics.events_local" in done.stdout and "pw" not in done.stdout
    embedded = subprocess.run(
        [*FOOTFALL, "backup", "--clickhouse-to", "Disk('backups', 'f.zip')"],
        capture_output=True,
        text=True,
        env=environment(FOOTFALL_DATA_DIR=str(tmp_path)),
        check=False,
    )
    assert embedded.returncode == 2 and "needs FOOTFALL_EVENTS_URL" in embedded.stderr
    missing = subprocess.run(
        [*FOOTFALL, "backup"],
        capture_output=True,
        text=True,
        env=environment(FOOTFALL_DATA_DIR=str(tmp_path)),
        check=False,
    )
    assert missing.returncode == 2 and "give DEST" in missing.stderr
