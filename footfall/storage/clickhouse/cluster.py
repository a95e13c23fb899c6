"""The schema on a ClickHouse cluster: replicated local tables and distributed tables over them.

``footfall migrate --cluster NAME`` creates, ``ON CLUSTER NAME``:

* ``events_local`` and ``sessions_local`` on every node, as the ``Replicated`` form of the
  single-server engines (the same columns, codecs, partitions and sort keys), replicated
  within each shard through ClickHouse Keeper at ``/clickhouse/tables/{shard}/{database}/…``;
* ``events`` and ``sessions`` as ``Distributed`` tables over them, sharded by
  ``cityHash64(site_id, visitor_id)``: every row of a visitor — events, session states and the
  cancel rows that collapse them — lands on one shard, so a shard's
  `VersionedCollapsingMergeTree` sees every version of its sessions and ``sum(sign * x)`` per
  shard adds up across shards;
* ``store_info`` and the migration ledger as tables replicated to every node of every shard
  (one Keeper path without ``{shard}``): they are tiny and every node reads them.

footfall reads and writes ``events`` and ``sessions`` as on one server, so nothing else
changes. The statements come from the single-server migrations (`migrations.py`), rewritten,
so the two schemas cannot drift apart; tests check every statement with ClickHouse's own
parser (``formatQuery``), as no cluster runs where they do.
"""

from __future__ import annotations

import re
import time

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from footfall.errors import StoreError
from footfall.storage.clickhouse import migrations
from footfall.storage.clickhouse.connection import connect, parse_url

# A cluster name as it appears in the server's remote_servers configuration.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_CREATE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) \(")
_ENGINE = re.compile(r"ENGINE = (\w+)(?:\(([^)]*)\))?")
_SETTINGS = re.compile(r"\nSETTINGS non_replicated_deduplication_window = \d+")
# Tables split into shards (by visitor); the others are copied to every node.
SHARDED = ("events", "sessions")
SHARDING_KEY = "cityHash64(site_id, visitor_id)"


def check_cluster_name(name: str) -> str:
    """The name, checked to be a plain identifier (it is spliced into DDL).

    Raises:
        ValueError: It is not.
    """
    if not _NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a cluster name (letters, digits, _ . -)")
    return name


def _replicated(statement: str, table: str, path: str) -> str:
    """The statement with its engine replaced by the engine's Replicated form at `path`."""

    def engine(match: re.Match[str]) -> str:
        args = f"'{path}', '{{replica}}'"
        if match.group(2):
            args += f", {match.group(2)}"
        return f"ENGINE = Replicated{match.group(1)}({args})"

    return _SETTINGS.sub("", _ENGINE.sub(engine, statement, count=1))


def cluster_statements(cluster: str) -> list[str]:
    """Every statement that creates the current schema on `cluster`, in order.

    Raises:
        ValueError: The cluster name is not a plain identifier.
    """
    name = check_cluster_name(cluster)
    out: list[str] = []
    for migration in migrations.MIGRATIONS:
        for statement in migration.up:
            found = _CREATE.search(statement)
            if found is None:
                raise ValueError(f"cannot tell the table of {statement[:60]!r}")
            table = found.group(1)
            if table in SHARDED:
                local = f"{table}_local"
                text = _CREATE.sub(
                    f"CREATE TABLE IF NOT EXISTS {local} ON CLUSTER `{name}` (", statement
                )
                out.append(
                    _replicated(text, local, f"/clickhouse/tables/{{shard}}/{{database}}/{local}")
                )
                out.append(
                    f"CREATE TABLE IF NOT EXISTS {table} ON CLUSTER `{name}` AS {local}\n"
                    f"ENGINE = Distributed(`{name}`, currentDatabase(), {local}, {SHARDING_KEY})"
                )
            else:
                text = _CREATE.sub(
                    f"CREATE TABLE IF NOT EXISTS {table} ON CLUSTER `{name}` (", statement
                )
                out.append(_replicated(text, table, f"/clickhouse/tables/all/{{database}}/{table}"))
    ledger = _CREATE.sub(
        f"CREATE TABLE IF NOT EXISTS footfall_migrations ON CLUSTER `{name}` (",
        migrations.LEDGER,
    )
    out.append(
        _replicated(
            ledger, "footfall_migrations", "/clickhouse/tables/all/{database}/footfall_migrations"
        )
    )
    return [statement.strip() for statement in out]


def migrate_cluster(client: Client, cluster: str) -> int:
    """Creates the schema on `cluster` (tables that exist are left alone) and records it.

    Returns:
        The schema version the cluster is at.

    Raises:
        ValueError: The cluster name is not a plain identifier.
        ClickHouseError: A statement failed (the cluster, Keeper or a node is unreachable).
    """
    for statement in cluster_statements(cluster):
        client.command(statement)
    for migration in migrations.MIGRATIONS:
        client.insert(
            "footfall_migrations",
            [[migration.version, migration.name, int(time.time()), 1]],
            column_names=["version", "name", "applied_at", "applied"],
        )
    return migrations.applied_version(client)


def create_on_cluster(url: str, cluster: str) -> int:
    """Connects to the server at `url` and creates the schema on `cluster` (`migrate_cluster`).

    Raises:
        ValueError: The cluster name is not a plain identifier.
        StoreError: The server or a statement failed (the message shows no password).
    """
    check_cluster_name(cluster)
    target = parse_url(url)
    client = connect(target)
    try:
        return migrate_cluster(client, cluster)
    except ClickHouseError as exc:
        raise StoreError(
            f"creating the schema on cluster {cluster} at {target.shown} failed: "
            f"{target.scrub(str(exc))}"
        ) from None
    finally:
        client.close()
