"""``footfall import``, ``export``, ``backup`` and ``restore``: the data lifecycle commands.

``backup`` and ``export`` need the event store: with ``footfall serve`` running on the data
directory they ask that server through its control socket (`footfall.cli.control`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from footfall.cli.common import actor, data_dir_option, handle_errors, settings_from
from footfall.errors import FootfallError
from footfall.text.quantities import noun, plural

if TYPE_CHECKING:
    from footfall.settings import Settings

_EXPORT_FORMATS = ("csv", "ndjson", "parquet")


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
    """Import historical events from an NDJSON (or Parquet) FILE ('-' for stdin).

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


@contextlib.contextmanager
def _byte_bar(description: str, total: int | None) -> Iterator[Callable[[int], None] | None]:
    """A progress bar of bytes on a terminal's stderr; None elsewhere."""
    if not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(
        total=total, unit="B", unit_scale=True, desc=description, file=sys.stderr, leave=False
    ) as bar:
        yield bar.update


def _mib(size: int) -> str:
    return f"{size / 1048576:.1f} MiB"


@click.command()
@click.argument("dest", type=click.Path(path_type=Path), required=False)
@click.option(
    "--no-metadata",
    is_flag=True,
    help="Leave the metadata database out (back a PostgreSQL one up with its own tools).",
)
@click.option(
    "--clickhouse-to",
    metavar="DESTINATION",
    default=None,
    help="Print ClickHouse's own BACKUP and RESTORE statements of the event store's tables "
    "to DESTINATION, e.g. \"Disk('backups', 'footfall.zip')\", instead of writing an archive.",
)
@click.option("--cluster", default=None, help="With --clickhouse-to: the cluster (ON CLUSTER).")
@data_dir_option
@handle_errors
def backup(
    dest: Path | None,
    no_metadata: bool,
    clickhouse_to: str | None,
    cluster: str | None,
    data_dir: Path | None,
) -> None:
    """Write a consistent backup archive of the data directory to DEST (a file or directory).

    Works while the server runs: it takes the snapshot itself and streams it here.
    """
    if clickhouse_to is not None:
        _print_clickhouse_backup(settings_from(data_dir=data_dir), clickhouse_to, cluster)
        return
    if dest is None:
        raise click.UsageError("give DEST, the archive or the directory to write it in")
    if cluster is not None:
        raise click.UsageError("--cluster goes with --clickhouse-to")
    from footfall.cli.control import here_or_on_server, lifecycle_settings, raise_for_answer
    from footfall.lifecycle import archive
    from footfall.lifecycle.backup import backup_to_file, partial_file, target_path
    from footfall.services import Services

    settings = lifecycle_settings(settings_from(data_dir=data_dir))
    who = actor()
    target = target_path(dest, dt.datetime.now(dt.UTC))

    def here() -> dict[str, Any]:
        services = Services.open(settings)
        try:
            with _byte_bar("backup", None) as progress:
                return backup_to_file(
                    services, target, progress=progress, metadata=not no_metadata, actor=who
                )[1]
        finally:
            services.close()

    def there(client: Any) -> dict[str, Any]:
        click.echo("asking the running server for a snapshot…", err=True)
        params = {"metadata": "false"} if no_metadata else {}
        # Where the archive goes, for the server's audit entry (any characters: as a parameter).
        params["to"] = str(target)
        with client.stream("POST", "/api/v1/admin/backup", params=params) as response:
            raise_for_answer(response)
            total = int(response.headers.get("content-length") or 0) or None
            with partial_file(target) as out, _byte_bar("backup", total) as progress:
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
                    if progress is not None:
                        progress(len(chunk))
        with target.open("rb") as written:
            return archive.verify(written)

    manifest = here_or_on_server(settings, here=here, there=there, actor=who.name)
    store = manifest["event_store"]
    click.echo(
        f"backup written to {target}: {store['events']} events of {len(manifest['sites'])} "
        f"site(s) at journal position {store['journal_seq']}, {_mib(target.stat().st_size)}"
    )


def _print_clickhouse_backup(settings: Settings, destination: str, cluster: str | None) -> None:
    """Prints the BACKUP and RESTORE statements of the ClickHouse store the settings name."""
    from footfall.services import event_store_backend
    from footfall.storage.clickhouse.backup_sql import backup_statements
    from footfall.storage.clickhouse.connection import parse_url

    if event_store_backend(settings) != "clickhouse" or not settings.events_url:
        raise click.UsageError(
            "--clickhouse-to needs FOOTFALL_EVENTS_URL to name a ClickHouse store"
        )
    database = parse_url(settings.events_url).database
    try:
        backup_sql, restore_sql = backup_statements(database, destination, cluster=cluster)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"-- back up (the server writes to the destination itself)\n{backup_sql};")
    click.echo(f"-- restore into an empty database of the same schema\n{restore_sql};")


@click.command("restore")
@click.argument("src", type=click.Path(allow_dash=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace what the data directory already holds.")
@data_dir_option
@handle_errors
def restore_cmd(src: Path, force: bool, data_dir: Path | None) -> None:
    """Restore a backup archive SRC ('-' for stdin) into an empty data directory."""
    from footfall.cli.control import lifecycle_settings
    from footfall.lifecycle.restore import restore

    settings = lifecycle_settings(settings_from(data_dir=data_dir))
    with contextlib.ExitStack() as stack:
        if str(src) == "-":
            source: IO[bytes] = sys.stdin.buffer
            total = None
        else:
            try:
                source = stack.enter_context(src.open("rb"))
            except OSError as exc:
                raise FootfallError(f"cannot read {src}: {exc.strerror or exc}") from exc
            total = src.stat().st_size
        progress = stack.enter_context(_byte_bar("restore", total))
        report = restore(settings, source, force=force, progress=progress, actor=actor())
    manifest = report.manifest
    click.echo(
        f"restored the backup of {manifest.get('created_at')} (footfall "
        f"{manifest.get('footfall_version')}) into {settings.data_dir}"
    )
    for domain, count in report.events.items():
        click.echo(f"{domain}\t{count} events")
    if report.removed_orphans:
        click.echo(f"removed {report.removed_orphans} events of sites deleted during the backup")


@click.command("export")
@click.option("--site", "domain", required=True, help="Domain of the site to export.")
@click.option("--from", "first", default=None, help="First day (YYYY-MM-DD, the site's zone).")
@click.option("--to", "last", default=None, help="Last day (YYYY-MM-DD), inclusive.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(_EXPORT_FORMATS),
    required=True,
    help="csv: Plausible's export zip; ndjson, parquet: raw events in the import format.",
)
@click.argument("out", type=click.Path(allow_dash=True, path_type=Path))
@data_dir_option
@handle_errors
def export_cmd(
    domain: str, first: str | None, last: str | None, fmt: str, out: Path, data_dir: Path | None
) -> None:
    """Export a site's events to OUT (a file, a directory, or '-' for stdout)."""
    from footfall.cli.control import here_or_on_server, lifecycle_settings, raise_for_answer
    from footfall.lifecycle.backup import partial_file
    from footfall.lifecycle.export import parse_date, plan_export, write_export
    from footfall.meta.audit import record
    from footfall.meta.sites import get_site
    from footfall.services import Services

    settings = lifecycle_settings(settings_from(data_dir=data_dir))
    who = actor()
    first_day, last_day = parse_date(first, "--from"), parse_date(last, "--to")

    @contextlib.contextmanager
    def destination(name: str) -> Iterator[IO[bytes]]:
        if str(out) == "-":
            yield sys.stdout.buffer
            return
        with partial_file(out / name if out.is_dir() else out) as handle:
            yield handle

    def here() -> int:
        services = Services.open(settings)
        try:
            site = get_site(services.meta, domain)
            plan = plan_export(
                services.store,
                site,
                fmt=fmt,
                first=first_day,
                last=last_day,
                now=services.clock.now(),
            )
            with destination(plan.filename) as handle:
                written = write_export(services.store, plan, handle)
            record(
                services.meta,
                actor=who.name,
                action="site.export",
                target=site.domain,
                after={"format": fmt, "from": str(plan.first), "to": str(plan.last)},
            )
            return written
        finally:
            services.close()

    def there(client: Any) -> int:
        params = {"site_id": domain, "format": fmt, "from": first or "", "to": last or ""}
        with client.stream("GET", "/api/v1/admin/export", params=params) as response:
            raise_for_answer(response)
            name = response.headers.get("x-footfall-filename") or f"export.{fmt}"
            with destination(Path(name).name) as handle:
                for chunk in response.iter_bytes(1 << 20):
                    handle.write(chunk)
        return -1  # counted by the server, which streamed before it knew

    written = here_or_on_server(settings, here=here, there=there, actor=who.name)
    if str(out) != "-":
        unit = "rows" if fmt == "csv" else "events"
        counted = f"{written} {unit}" if written >= 0 else "the export"
        click.echo(f"exported {counted} of {domain} to {out}", err=True)


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
