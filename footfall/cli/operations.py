"""``footfall migrate`` and ``footfall settings``: the schema and the settings registry."""

from __future__ import annotations

from pathlib import Path

import click

from footfall.cli.common import data_dir_option, handle_errors, settings_from
from footfall.settings import Settings, describe


@click.command()
@click.option(
    "--revision",
    default="head",
    show_default=True,
    help="Target schema revision (older ones downgrade).",
)
@click.option(
    "--cluster",
    default=None,
    metavar="NAME",
    help="Also create the event store's schema on the ClickHouse cluster NAME (replicated "
    "local tables ON CLUSTER, distributed tables sharded by visitor) at FOOTFALL_EVENTS_URL.",
)
@click.option(
    "--print",
    "print_only",
    is_flag=True,
    help="With --cluster: print the statements instead of running them.",
)
@data_dir_option
@handle_errors
def migrate(revision: str, cluster: str | None, print_only: bool, data_dir: Path | None) -> None:
    """Apply metadata database migrations (also done at every start).

    With a ClickHouse event store (FOOTFALL_EVENTS_URL), its schema is brought up to date too.
    """
    if cluster is not None and print_only:
        _print_cluster_schema(cluster)
        return
    if print_only:
        raise click.UsageError("--print goes with --cluster NAME")
    from footfall.errors import StoreBusyError
    from footfall.meta import db
    from footfall.services import open_event_store

    settings = settings_from(data_dir=data_dir)
    if cluster is not None:
        _check_cluster_target(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.create_engine(settings.metadata_url)
    current = db.migrate(engine, revision)
    click.echo(f"metadata schema at revision {current or 'base'}")
    if cluster is not None:
        version = _migrate_cluster(settings, cluster)
        click.echo(f"event store schema at version {version} on cluster {cluster}")
    elif settings.events_url and not settings.events_url.startswith("duckdb:"):
        # Opening a ClickHouse store applies its missing migrations.
        try:
            open_event_store(settings).close()
        except StoreBusyError:
            # chdb opens in one process at a time; the server migrated it when it started.
            click.echo("event store schema up to date (the running server holds it)")
            return
        click.echo("event store schema up to date")


def _print_cluster_schema(cluster: str) -> None:
    from footfall.storage.clickhouse.cluster import cluster_statements

    try:
        statements = cluster_statements(cluster)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(";\n\n".join(statements) + ";")


def _check_cluster_target(settings: Settings) -> None:
    from footfall.cluster.config import shared_event_store
    from footfall.errors import ConfigError

    if not shared_event_store(settings):
        raise ConfigError(
            "--cluster needs FOOTFALL_EVENTS_URL to name a ClickHouse server of the cluster "
            "(clickhouse://USER:PASS@HOST:8123/DB)"
        )


def _migrate_cluster(settings: Settings, cluster: str) -> int:
    """Creates the event store's schema on a ClickHouse cluster; returns its version."""
    from footfall.storage.clickhouse.cluster import create_on_cluster

    try:
        return create_on_cluster(settings.events_url or "", cluster)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@click.command("settings")
@click.option("--markdown", is_flag=True, help="Print the registry as a Markdown table.")
@data_dir_option
@handle_errors
def settings_cmd(markdown: bool, data_dir: Path | None) -> None:
    """List every setting with its help text and current value (secrets redacted)."""
    current = settings_from(data_dir=data_dir)
    if markdown:
        click.echo("| variable | default | description |\n| --- | --- | --- |")
        for setting, _ in describe(Settings()):
            default = "(empty)" if setting.default == "" else str(setting.default)
            click.echo(f"| `{setting.env_var}` | `{default}` | {setting.help} |")
        return
    for setting, shown in describe(current):
        secret = " (secret; also FOOTFALL_*_FILE)" if setting.secret else ""
        click.echo(f"{setting.env_var}={shown}\n    {setting.help}{secret}")
