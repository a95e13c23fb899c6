"""What every command shares: settings from flags, --data-dir, the audit actor, one-line errors.

Exit codes: 0 success, 1 failure (one line on stderr), 2 usage error (click's own).
"""

from __future__ import annotations

import functools
import getpass
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from footfall.errors import FootfallError
from footfall.settings import Settings, load_settings

if TYPE_CHECKING:
    import sqlalchemy as sa

    from footfall.meta.audit import Actor

F = TypeVar("F", bound=Callable[..., Any])


def settings_from(**flags: Any) -> Settings:
    """Settings from the command's flags, then the environment, then defaults."""
    return load_settings(flags)


def open_meta_for(data_dir: Path | None) -> sa.Engine:
    """The migrated metadata store of the data directory a command names."""
    from footfall.meta.opening import open_meta

    return open_meta(settings_from(data_dir=data_dir))


def data_dir_option(func: F) -> F:
    """Adds --data-dir to a command."""
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Data directory (default ./footfall-data, or FOOTFALL_DATA_DIR).",
    )(func)


def actor() -> Actor:
    """The audit log's actor for a command: ``cli:<os user>``, or ``cli`` when none is known."""
    from footfall.meta.audit import Actor

    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment nor the password database
        return Actor("cli")
    return Actor(f"cli:{user}" if user else "cli")


def one_line(exc: BaseException) -> str:
    """An exception's message on one line."""
    return " ".join(str(exc).split())


def handle_errors(func: F) -> F:
    """Turns footfall's errors into one line on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(click.get_current_context().find_root().params.get("debug"))
        try:
            return func(*args, **kwargs)
        except FootfallError as exc:
            if debug:
                traceback.print_exc()
            click.echo(f"error: {one_line(exc)}", err=True)
            sys.exit(1)
        except BrokenPipeError:
            # The reader went away (`footfall settings | head`): nothing left to say.
            sys.stderr.close()
            sys.exit(0)
        except (click.ClickException, click.exceptions.Exit, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            if debug:
                traceback.print_exc()
            click.echo(
                f"error: unexpected {exc.__class__.__name__}: {one_line(exc)} (run with "
                "--debug for the traceback)",
                err=True,
            )
            sys.exit(1)

    return wrapper  # type: ignore[return-value]
