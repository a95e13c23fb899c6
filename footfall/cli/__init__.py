"""The `footfall` command line: one module per command group."""

from footfall.cli.main import main

__all__ = ["main"]
