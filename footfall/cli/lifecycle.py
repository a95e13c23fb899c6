"""``footfall import``: the data lifecycle commands (export, backup and restore join it)."""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import click

from footfall.cli.common import data_dir_option, handle_errors, settings_from
from footfall.errors import FootfallError
from footfall.text.quantities import noun, plural


@click.command("import")
@click.option("--site", "domain", required=True, help="Domain of the site the events belong to.")
@click.argument("file", type=click.Path(allow_dash=True, dir_okay=False, path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="Import the file even if the same file was imported into the site before "
    "(its events are then counted twice).",
)
@data_dir_option
@handle_errors
def import_cmd(domain: str, file: Path, force: bool, data_dir: Path | None) -> None:
    """Import historical events from an NDJSON FILE ('-' for stdin).

    A file whose bytes were already imported into the site is refused, unless --force.
    """
    from footfall.lifecycle.importing import AlreadyImportedError, import_ndjson
    from footfall.lifecycle.spool import spool
    from footfall.meta.sites import get_site
    from footfall.services import Services

    settings = settings_from(data_dir=data_dir)
    services = Services.open(settings)
    try:
        found = get_site(services.meta, domain)
        with contextlib.ExitStack() as stack:
            if str(file) == "-":
                file, handle = stack.enter_context(spool(settings.data_dir))
                shutil.copyfileobj(sys.stdin.buffer, handle)
                handle.close()
            elif not file.is_file():
                raise FootfallError(f"no such file: {file}")
            try:
                report = import_ndjson(
                    services, site=found, path=file, progress=_progress(), force=force
                )
            except AlreadyImportedError as exc:
                raise FootfallError(f"{exc}; add --force to import them a second time") from None
    finally:
        services.close()
    for line_no, error in report.errors[:20]:
        click.echo(f"line {line_no}: {error}", err=True)
    if report.rejected > 20:
        click.echo(f"… and {plural(report.rejected - 20, 'more rejected line')}", err=True)
    # Bare numbers (no separators): scripts read the count of stored events from this line.
    click.echo(
        f"imported {report.stored} {noun(report.stored, 'event')} in {report.sessions} "
        f"{noun(report.sessions, 'visit')} from {report.lines} {noun(report.lines, 'line')} "
        f"({report.dropped} dropped as bots/spam, {report.rejected} rejected)"
    )
    if report.rejected:
        click.echo(
            f"error: {plural(report.rejected, 'line')} rejected; the other lines were imported",
            err=True,
        )
        sys.exit(1)


def _progress() -> Callable[[str], None] | None:
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    stages = ["reading", "validating", "enriching", "sessionising", "writing"]
    bar = tqdm(total=len(stages), unit="stage", file=sys.stderr, leave=False)

    def advance(stage: str) -> None:
        bar.set_description(stage)
        if stage != stages[0]:
            bar.update(1)
        if stage == stages[-1]:
            bar.update(1)

    return advance


@click.command("migrate-events")
@click.option(
    "--to",
    "url",
    required=True,
    metavar="URL",
    help="The store to copy to: chdb:///PATH, clickhouse://USER:PASS@HOST:8123/DB, "
    "https://USER:PASS@HOST:8443/DB or duckdb:///PATH.",
)
@data_dir_option
@handle_errors
def migrate_events_cmd(url: str, data_dir: Path | None) -> None:
    """Copy the event history to another event store, then compare the counts.

    Copies day by day from the store FOOTFALL_EVENTS_URL names (the DuckDB file in the data
    directory by default); run it again after an interruption to go on where it stopped.
    Stop the server first. Then point FOOTFALL_EVENTS_URL at URL.
    """
    from footfall.lifecycle.migrate_events import migrate_events
    from footfall.services import open_event_store, open_event_store_at
    from footfall.settings import redact_url

    settings = settings_from(data_dir=data_dir)
    shown = redact_url(url)
    source = open_event_store(settings, read_only=True)
    try:
        target = open_event_store_at(url)
        try:
            report = migrate_events(source, target, progress=_day_progress())
        finally:
            target.close()
    finally:
        source.close()
    click.echo(
        f"copied {report.events} events and {report.sessions} visits over {report.copied_days} "
        f"days to {shown} ({report.skipped_days} days were already there)"
    )
    if report.mismatches:
        for site_id, day, want, got in report.mismatches[:20]:
            click.echo(f"site {site_id}, {day}: {want} events here, {got} there", err=True)
        raise FootfallError(f"the counts of {len(report.mismatches)} site-days disagree")
    click.echo("verified: the events per site and day agree")


def _day_progress() -> Callable[[int, int], None] | None:
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = tqdm(unit="day", file=sys.stderr, leave=False)

    def advance(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return advance
