"""Several server processes on one port: the parent binds, forks the workers and watches them.

``footfall serve --workers N`` binds the listening sockets once, then forks N children that
inherit them; each child opens its own services and runs the server on the shared sockets, and
the kernel hands every new connection to one of them. The parent opens nothing else and runs
no request: it restarts a child that dies (after a pause that grows while children keep dying
young, so a worker that cannot start does not spin), and on SIGTERM or SIGINT it forwards
SIGTERM to every child, waits for them to finish their requests and flush, and kills those that
take longer than `stop_seconds`.

Forking, not spawning: the parent holds no thread, connection or open store when it forks (it
only checked the configuration and bound the port), so a child starts from a clean copy
without importing footfall again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

log = logging.getLogger(__name__)

# How often the parent looks at its children.
_POLL_SECONDS = 0.1
# A child that lived at least this long was healthy: the restart pause starts over.
_HEALTHY_SECONDS = 30.0
_FIRST_PAUSE = 0.5
_LONGEST_PAUSE = 30.0


@dataclass
class _Child:
    index: int
    started: float


@dataclass
class WorkerPool:
    """The children of one ``serve --workers N`` and what the parent knows of them.

    Attributes:
        count: How many workers run at once.
        run: Runs one worker in the child, given its index (0 to count - 1); returns when the
            worker has stopped. The child exits 0 after it, 1 when it raises.
        stop_seconds: How long the children get to stop before they are killed.
        restarts: Workers started again after dying, since the pool started.
    """

    count: int
    run: Callable[[int], None]
    stop_seconds: float = 30.0
    restarts: int = 0
    _children: dict[int, _Child] = field(default_factory=dict)
    _pending: dict[int, float] = field(default_factory=dict)  # index -> when to restart
    _pauses: dict[int, float] = field(default_factory=dict)
    _stopping: bool = False

    @property
    def pids(self) -> dict[int, int]:
        """The PID of each running worker, by index."""
        return {child.index: pid for pid, child in self._children.items()}

    def serve(self) -> int:
        """Starts the workers and supervises them until SIGTERM or SIGINT; returns 0.

        Must run in the main thread (it installs signal handlers).
        """
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            for index in range(self.count):
                self._spawn(index)
            while self._children or (self._pending and not self._stopping):
                self._reap()
                self._restart_due()
                time.sleep(_POLL_SECONDS)
                if self._stopping:
                    self._stop_children()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def stop(self) -> None:
        """Asks every worker to stop (as SIGTERM to the parent does)."""
        self._stopping = True
        self._signal_children(signal.SIGTERM)

    # -- inside -----------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if not self._stopping:
            log.info("stopping %d workers (%s)", len(self._children), signal.Signals(signum).name)
        self.stop()

    def _signal_children(self, sig: int) -> None:
        for pid in list(self._children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def _spawn(self, index: int) -> None:
        pid = os.fork()
        if pid == 0:  # the child: never returns into the parent's code
            code = 1
            self._children.clear()  # the siblings are the parent's to signal, not this copy's
            try:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    signal.signal(sig, signal.SIG_DFL)
                self.run(index)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                log.exception("worker %d failed", index)
            finally:
                logging.shutdown()
                os._exit(code)
        self._children[pid] = _Child(index=index, started=time.monotonic())
        log.debug("worker %d started (PID %d)", index, pid)

    def _reap(self) -> None:
        while self._children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self._children.clear()
                return
            if pid == 0:
                return
            child = self._children.pop(pid, None)
            if child is None or self._stopping:
                continue
            lived = time.monotonic() - child.started
            pause = self._pauses.get(child.index, 0.0)
            pause = _FIRST_PAUSE if lived >= _HEALTHY_SECONDS or not pause else pause * 2
            pause = min(pause, _LONGEST_PAUSE)
            self._pauses[child.index] = pause
            self._pending[child.index] = time.monotonic() + pause
            log.warning(
                "worker %d (PID %d) %s; starting it again in %g s",
                child.index,
                pid,
                _describe(status),
                pause,
            )

    def _restart_due(self) -> None:
        if self._stopping:
            self._pending.clear()
            return
        now = time.monotonic()
        for index, when in list(self._pending.items()):
            if when <= now:
                del self._pending[index]
                self.restarts += 1
                self._spawn(index)

    def _stop_children(self) -> None:
        deadline = time.monotonic() + self.stop_seconds
        while self._children and time.monotonic() < deadline:
            self._reap()
            time.sleep(_POLL_SECONDS)
        if self._children:
            log.warning(
                "%d workers did not stop within %g s; killing them",
                len(self._children),
                self.stop_seconds,
            )
            self._signal_children(signal.SIGKILL)
            while self._children:
                self._reap()
                time.sleep(_POLL_SECONDS)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"
