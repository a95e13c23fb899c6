"""The `footfall` command group: every command, one module per command group.

Exit codes: 0 success, 1 failure (one line on stderr), 2 usage error (click's own).
"""

from __future__ import annotations

import click

from footfall.cli.alerts import alert
from footfall.cli.audit import audit_cmd
from footfall.cli.data import capacity, demo_data
from footfall.cli.debug import debug, profile
from footfall.cli.goals import goal
from footfall.cli.healthcheck import healthcheck
from footfall.cli.keys import key
from footfall.cli.lifecycle import (
    backup,
    export_cmd,
    import_cmd,
    migrate_events_cmd,
    restore_cmd,
)
from footfall.cli.loadtest import loadtest
from footfall.cli.operations import migrate, settings_cmd
from footfall.cli.reports import report
from footfall.cli.serve import serve
from footfall.cli.sites import site
from footfall.cli.users import user


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(package_name="footfall")
def main(debug: bool) -> None:
    """footfall: self-hosted, privacy-first web analytics compatible with Plausible's APIs."""


for _command in (
    serve,
    site,
    key,
    user,
    goal,
    alert,
    report,
    audit_cmd,
    import_cmd,
    export_cmd,
    backup,
    restore_cmd,
    migrate_events_cmd,
    migrate,
    settings_cmd,
    healthcheck,
    debug,
    profile,
    demo_data,
    capacity,
    loadtest,
):
    main.add_command(_command)
