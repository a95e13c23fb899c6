"""ClickHouse's own ``BACKUP`` and ``RESTORE`` of footfall's tables, for a server or a cluster.

``footfall backup`` copies a ClickHouse store by reading it (`snapshots.py`), which works on any
server and on chdb. A large server is better backed up by ClickHouse itself, which copies the
data parts without reading them, to a disk the server allows (``backups.allowed_disk``) or to
S3. ``footfall backup --clickhouse-to DESTINATION`` prints the statements for the database the
settings name; they are checked with ClickHouse's own parser in the tests.
"""

from __future__ import annotations

import re

from footfall.storage.clickhouse.cluster import SHARDED, check_cluster_name

# Every table footfall keeps in the database, the migration ledger included.
TABLES = ("events", "sessions", "store_info", "footfall_migrations")
# A destination as ClickHouse writes one: Disk('name', 'path'), S3('url', ...), File('path').
_DESTINATION = re.compile(r"(Disk|S3|File|AzureBlobStorage)\(\s*'.*'\s*\)", re.DOTALL)
_DATABASE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def backup_statements(
    database: str, destination: str, *, cluster: str | None = None
) -> tuple[str, str]:
    """The ``BACKUP`` statement for footfall's tables and the ``RESTORE`` that reverses it.

    On a cluster the replicated local tables are the ones holding data: each shard backs up
    its own part (``ON CLUSTER``), and the distributed tables are recreated by the migration.

    Args:
        database: The database footfall's tables are in.
        destination: Where ClickHouse writes, e.g. ``Disk('backups', 'footfall.zip')`` or
            ``S3('https://bucket.s3.amazonaws.com/footfall/2026-12-07', 'KEY', 'SECRET')``.
        cluster: The cluster's name in ``remote_servers``, or None for one server.

    Raises:
        ValueError: The database, destination or cluster name is not one ClickHouse takes.
    """
    if not _DATABASE.fullmatch(database):
        raise ValueError(f"{database!r} is not a plain database name")
    if not _DESTINATION.fullmatch(destination.strip()):
        raise ValueError(
            f"{destination!r} is not a ClickHouse backup destination such as "
            "Disk('backups', 'footfall.zip') or S3('https://…', 'KEY', 'SECRET')"
        )
    names = [f"{name}_local" if cluster and name in SHARDED else name for name in TABLES]
    tables = ", ".join(f"TABLE {database}.{name}" for name in names)
    on = f" ON CLUSTER {check_cluster_name(cluster)}" if cluster else ""
    where = destination.strip()
    return (
        f"BACKUP {tables}{on} TO {where}",
        f"RESTORE {tables}{on} FROM {where}",
    )
