"""footfall's commands run in the test's own process, answered as `subprocess.run` answers.

A `footfall` process spends half a second or more importing before it does anything, and the
command suites run hundreds of commands; in the test's process the imports are paid once. The
command is the same code either way: click parses the same arguments, the command reads the
same environment and stdin, and its exit status is what the process's would be. An exception
no command handles is raised in the test rather than turned into status 1.

Tests that need what only a real process gives start one: a terminal (`pty`), a signal, the
server, or chdb, which opens one data directory per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from click.testing import CliRunner

from footfall.cli import main


def footfall(
    *args: str,
    data_dir: Path | None = None,
    env: Mapping[str, str | None] | None = None,
    stdin: str | None = None,
    clean_env: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Runs ``footfall ARGS`` in this process.

    Args:
        args: The command line after ``footfall``.
        data_dir: Sets ``FOOTFALL_DATA_DIR`` for the command.
        env: Variables to set (a value of None unsets one) for the command's duration.
        stdin: What the command reads on stdin (empty when None).
        clean_env: Unset every ``FOOTFALL_*`` variable of the test's environment first.

    Returns:
        The exit status, stdout and stderr, as `subprocess.run` with ``capture_output`` gives.
    """
    overrides: dict[str, str | None] = {}
    if clean_env:
        overrides.update({name: None for name in os.environ if name.startswith("FOOTFALL_")})
    if data_dir is not None:
        overrides["FOOTFALL_DATA_DIR"] = str(data_dir)
    overrides.update(env or {})
    result = CliRunner().invoke(main, list(args), input=stdin, env=overrides)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(
        ["footfall", *args], result.exit_code, result.stdout, result.stderr
    )


def footfall_process(
    *args: str, data_dir: Path, python_flags: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Runs ``footfall ARGS`` as its own process (``python_flags`` go to the interpreter).

    For what only a separate process shows: its imports, or a second process using the data
    directory while the test's app has it open.
    """
    return subprocess.run(
        [sys.executable, *python_flags, "-m", "footfall", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "FOOTFALL_DATA_DIR": str(data_dir)},
    )
