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
