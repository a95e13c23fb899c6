"""Error tracking: unexpected exceptions grouped by type and code location.

Every 500 the web layer answers goes through `ErrorTracker.record`. Exceptions of one type
raised at one place in the code form a group, with a count, when it was first and last seen,
and the latest traceback with secrets scrubbed. The number of groups is bounded: past
`max_groups` the group seen longest ago is dropped (and counted), so a flood of distinct
errors cannot grow memory.

The location is the innermost frame of our own code (where our code went wrong, even when a
library raised it): a frame in the footfall package, or in any file outside the standard
library and the installed packages. Where none is ours, it is the innermost frame of all.
"""

from __future__ import annotations

import ipaddress
import re
import sysconfig
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import footfall

DEFAULT_MAX_GROUPS = 200
_MAX_TRACEBACK_CHARS = 20_000
_PACKAGE_DIR = Path(footfall.__file__).resolve().parent
_LIBRARY_ROOTS = tuple(
    {
        Path(sysconfig.get_paths()[name]).resolve()
        for name in ("stdlib", "platstdlib", "purelib", "platlib")
    }
)
REDACTED = "********"

# What a traceback must not show: footfall API keys, credentials in URLs, values given to
# secret-looking names, and IP addresses (footfall never keeps a visitor's raw address).
_SCRUBBERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bff_[A-Za-z0-9_-]{20,}"), "ff_" + REDACTED),
    (re.compile(r"(?i)\bbearer\s+[^\s'\",]+"), "Bearer " + REDACTED),
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]*:)[^\s@/'\"]+@"), r"\1" + REDACTED + "@"),
    (
        re.compile(
            r"(?i)((?:password|passwd|secret|token|api[_-]?key|authorization|cookie)"
            r"[\w-]*['\"]?\s*[:=]\s*['\"]?)[^\s'\",}&]+"
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), "<ip>"),
)
# IPv6 candidates; only those that parse as addresses are masked (not times like 10:00:00).
_IPV6_CANDIDATE = re.compile(r"(?i)(?<![\w:])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])")


def _mask_ipv6(match: re.Match[str]) -> str:
    try:
        ipaddress.IPv6Address(match.group(0))
    except ValueError:
        return match.group(0)
    return "<ip>"


def scrub(text: str) -> str:
    """`text` with API keys, URL credentials, secret-named values and IP addresses masked."""
    for pattern, replacement in _SCRUBBERS:
        text = pattern.sub(replacement, text)
    return _IPV6_CANDIDATE.sub(_mask_ipv6, text)


@dataclass(frozen=True, slots=True)
class ErrorGroup:
    """One kind of failure: an exception type raised at one code location.

    Attributes:
        error_type: The exception's qualified class name, e.g. ``builtins.ZeroDivisionError``.
        location: ``path/to/module.py:LINE in function``, relative to the package's parent.
        count: How many times it happened since the process started.
        first_seen: Unix time of the first occurrence.
        last_seen: Unix time of the latest occurrence.
        last_route: The route template of the latest occurrence.
        last_error_id: The id the latest 500 answer carried (it is also in the log).
        last_message: The latest exception message, scrubbed and cut to 500 characters.
        last_traceback: The latest traceback, scrubbed.
    """

    error_type: str
    location: str
    count: int
    first_seen: float
    last_seen: float
    last_route: str
    last_error_id: str
    last_message: str
    last_traceback: str


def _qualified_name(exc: BaseException) -> str:
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


def _relative(filename: str) -> str:
    path = Path(filename)
    try:
        return path.resolve().relative_to(_PACKAGE_DIR.parent).as_posix()
    except (ValueError, OSError):
        return path.name  # a library's file: its name says enough, its full path says too much


def _is_ours(filename: str) -> bool:
    """True for footfall's code and code outside the libraries (a plug-in route, a script)."""
    path = Path(filename).resolve()
    if path.is_relative_to(_PACKAGE_DIR):
        return True
    return not any(path.is_relative_to(root) for root in _LIBRARY_ROOTS)


def location_of(exc: BaseException) -> str:
    """Where `exc` belongs: its innermost frame of our code, else its innermost frame."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown"
    ours = [f for f in frames if _is_ours(f.filename)]
    frame = (ours or frames)[-1]
    return f"{_relative(frame.filename)}:{frame.lineno} in {frame.name}"


class ErrorTracker:
    """Groups unexpected exceptions; thread-safe, bounded.

    Args:
        max_groups: The most groups kept; the least recently seen one goes first.
        clock: Wall-clock time in seconds (injected for tests).
    """

    def __init__(
        self, *, max_groups: int = DEFAULT_MAX_GROUPS, clock: Callable[[], float] = time.time
    ) -> None:
        self.max_groups = max_groups
        self._clock = clock
        self._lock = threading.Lock()
        self._groups: OrderedDict[tuple[str, str], ErrorGroup] = OrderedDict()
        self.total = 0
        self.evictions = 0

    def record(self, exc: BaseException, *, route: str, error_id: str) -> ErrorGroup:
        """Counts `exc` in its group and keeps its traceback as the group's latest.

        Args:
            exc: The exception, with its traceback.
            route: The route template of the request that failed (or its path's kind).
            error_id: The id of the 500 answer, to find the log line.

        Returns:
            The group after counting.
        """
        key = (_qualified_name(exc), location_of(exc))
        text = "".join(traceback.format_exception(exc))[-_MAX_TRACEBACK_CHARS:]
        message = scrub(str(exc))[:500]
        trace = scrub(text)
        now = self._clock()
        with self._lock:
            self.total += 1
            group = self._groups.pop(key, None)
            if group is None:
                group = ErrorGroup(key[0], key[1], 0, now, now, route, error_id, message, trace)
            group = replace(
                group,
                count=group.count + 1,
                last_seen=now,
                last_route=route,
                last_error_id=error_id,
                last_message=message,
                last_traceback=trace,
            )
            self._groups[key] = group  # most recent last
            while len(self._groups) > self.max_groups:
                self._groups.popitem(last=False)
                self.evictions += 1
        return group

    def groups(self) -> list[ErrorGroup]:
        """Every kept group, the most recently seen first."""
        with self._lock:
            return list(reversed(self._groups.values()))
