"""What an import did: counts, and the first rejected lines with their reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The report lists at most this many rejected lines (all of them are counted).
MAX_REPORTED_ERRORS = 1000


@dataclass(slots=True)
class ImportReport:
    """What an import did. `errors` lists the first rejected lines with their reasons."""

    lines: int = 0
    stored: int = 0
    sessions: int = 0
    dropped: int = 0
    rejected: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    # Which reader parsed the file: "whole-file" when every part of it was clean enough for
    # the fast reader, "line-by-line" when any part needed the careful one.
    reader: str = "line-by-line"

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "lines": self.lines,
            "stored": self.stored,
            "sessions": self.sessions,
            "dropped": self.dropped,
            "rejected": self.rejected,
            "errors": [{"line": n, "error": e} for n, e in self.errors],
        }
