"""Memory leak detection from resident set size (RSS) samples.

The rule (also in docs/operations.md): a leak is suspected when, over the samples of the last
`window_seconds`,

1. there are at least `min_samples` of them, spanning at least `min_span_fraction` of the
   window (a second of samples says nothing about a trend over ten minutes),
2. the least-squares slope of RSS against time exceeds `growth_fraction` of the window's first
   sample per window (by default +5 % of the starting RSS per 10 minutes), and
3. the median of the newest quarter of the samples is above the largest sample of the first
   half.

The slope alone would fire on one large spike late in the window; the second test asks that
memory *stayed* above everything seen earlier, which a spike that is freed again does not do,
and which flat-but-noisy memory does not do either.
"""

from __future__ import annotations

import os
import statistics
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_WINDOW_SECONDS = 600.0
DEFAULT_MIN_SAMPLES = 12
DEFAULT_GROWTH_FRACTION = 0.05
DEFAULT_MIN_SPAN_FRACTION = 0.15
SAMPLE_INTERVAL_SECONDS = 10.0


def current_rss() -> int:
    """This process's resident set size in bytes (psutil, else /proc/self/statm; 0 if neither)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency; kept for odd installs
        try:
            pages = int(Path("/proc/self/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            return 0
        return pages * os.sysconf("SC_PAGE_SIZE")
    return int(psutil.Process().memory_info().rss)


@dataclass(frozen=True, slots=True)
class RssSample:
    """One measurement: RSS in bytes at a monotonic time in seconds."""

    at: float
    rss: int


def _slope(samples: list[RssSample]) -> float:
    """Least-squares slope of RSS over time, in bytes per second (0 for a degenerate series)."""
    n = len(samples)
    mean_t = sum(s.at for s in samples) / n
    mean_r = sum(s.rss for s in samples) / n
    var = sum((s.at - mean_t) ** 2 for s in samples)
    if var == 0:
        return 0.0
    return sum((s.at - mean_t) * (s.rss - mean_r) for s in samples) / var


class LeakDetector:
    """Flags sustained RSS growth over a sliding window (the rule is in the module docstring).

    Not thread-safe: feed it from one task or thread.
    """

    def __init__(
        self,
        *,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        min_samples: int = DEFAULT_MIN_SAMPLES,
        growth_fraction: float = DEFAULT_GROWTH_FRACTION,
        min_span_fraction: float = DEFAULT_MIN_SPAN_FRACTION,
    ) -> None:
        """Creates an empty detector.

        Args:
            window_seconds: How far back samples count.
            min_samples: Fewest samples in the window before anything is flagged.
            growth_fraction: Growth per window, as a fraction of the window's first sample,
                above which the slope counts as growth.
            min_span_fraction: Fewest seconds the samples must span, as a fraction of the
                window, before anything is flagged.
        """
        if window_seconds <= 0 or min_samples < 4 or growth_fraction <= 0:
            raise ValueError(
                "window_seconds and growth_fraction must be positive, min_samples >= 4"
            )
        self.window_seconds = window_seconds
        self.min_samples = min_samples
        self.growth_fraction = growth_fraction
        self.min_span_fraction = min_span_fraction
        self._samples: deque[RssSample] = deque()

    def add(self, rss: int, at: float) -> None:
        """Records one sample and forgets those older than the window.

        Args:
            rss: Resident set size in bytes.
            at: Monotonic time of the measurement, in seconds.
        """
        self._samples.append(RssSample(at, rss))
        while self._samples and self._samples[0].at < at - self.window_seconds:
            self._samples.popleft()

    @property
    def samples(self) -> list[RssSample]:
        """The samples in the window, oldest first."""
        return list(self._samples)

    def slope(self) -> float:
        """The least-squares RSS growth in bytes per second (0 with fewer than two samples)."""
        samples = self.samples
        return _slope(samples) if len(samples) >= 2 else 0.0

    def leak_suspected(self) -> bool:
        """Whether the window shows sustained growth by the module's rule."""
        samples = self.samples
        if len(samples) < self.min_samples:
            return False
        if samples[-1].at - samples[0].at < self.min_span_fraction * self.window_seconds:
            return False
        threshold = self.growth_fraction * samples[0].rss / self.window_seconds
        if _slope(samples) <= threshold:
            return False
        first_half_max = max(s.rss for s in samples[: len(samples) // 2])
        newest = samples[-max(1, len(samples) // 4) :]
        return statistics.median(s.rss for s in newest) > first_half_max

    def status(self) -> dict[str, Any]:
        """A JSON-ready summary for probes and metrics.

        Returns:
            ``leak_suspected``, ``slope_bytes_per_s``, ``window`` (seconds), ``samples`` (in the
            window), ``min_samples`` and ``rss_bytes`` (newest sample, or null).
        """
        samples = self.samples
        return {
            "leak_suspected": self.leak_suspected(),
            "slope_bytes_per_s": round(self.slope(), 3),
            "window": self.window_seconds,
            "samples": len(samples),
            "min_samples": self.min_samples,
            "rss_bytes": samples[-1].rss if samples else None,
        }
