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
@data_dir_option
@handle_errors
def migrate(revision: str, data_dir: Path | None) -> None:
    """Apply metadata database migrations (also done at every start).

    With a ClickHouse event store (FOOTFALL_EVENTS_URL), its schema is brought up to date too.
    """
    from footfall.meta import db
    from footfall.services import open_event_store

    settings = settings_from(data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.create_engine(settings.metadata_url)
    current = db.migrate(engine, revision)
    click.echo(f"metadata schema at revision {current or 'base'}")
    if settings.events_url and not settings.events_url.startswith("duckdb:"):
        # Opening a ClickHouse store applies its missing migrations.
        open_event_store(settings).close()
        click.echo("event store schema up to date")


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
