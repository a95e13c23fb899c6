"""Rate-limited logging for failures that repeat on every request (a full disk, a lost store)."""

from __future__ import annotations

import logging
import threading
import time

LOG_INTERVAL_S = 60.0


class QuietLog:
    """Logs a recurring failure once per interval per kind, with how many were not logged.

    A full disk fails every write: one line (let alone a traceback) per failure would fill
    what is left of it and bury the first report.
    """

    def __init__(self, logger: logging.Logger, interval_s: float = LOG_INTERVAL_S) -> None:
        self._logger = logger
        self._interval = interval_s
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def warning(self, kind: str, message: str, *args: object) -> None:
        """Logs `message` at WARNING unless one of this `kind` was logged within the interval."""
        self._log(logging.WARNING, kind, message, args, None)

    def exception(self, kind: str, message: str, *args: object, exc: BaseException) -> None:
        """Logs `message` at ERROR with `exc`'s traceback, at most once per interval per kind."""
        self._log(logging.ERROR, kind, message, args, exc)

    def _log(
        self,
        level: int,
        kind: str,
        message: str,
        args: tuple[object, ...],
        exc: BaseException | None,
    ) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(kind, -self._interval) < self._interval:
                self._skipped[kind] = self._skipped.get(kind, 0) + 1
                return
            self._last[kind] = now
            skipped = self._skipped.pop(kind, 0)
        suffix = f" ({skipped} more like it since the last report)" if skipped else ""
        self._logger.log(level, message + suffix, *args, exc_info=exc)
