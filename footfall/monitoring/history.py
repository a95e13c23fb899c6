"""A small bounded time-series store for footfall's own figures.

It lets the ops dashboards show the last hours and days without Prometheus. Two tiers,
each a ring buffer:

- fine: every sample as taken (every 10 s by default), for the last `fine_seconds` (6 h);
- coarse: `coarse_step` (5 min) buckets holding each figure's mean over the bucket, and its
  maximum under ``<name>:max``, for the last `coarse_seconds` (7 days).

A figure is any float keyed by a name such as ``rss_bytes`` or ``p95:/sites/{domain}``. Memory
is bounded by the ring sizes times the number of names; names are bounded by their producers
(route templates, query endpoints). The store can be written to a JSON file at shutdown and
read back at start, so a restart does not blank the dashboards.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_FINE_SECONDS = 6 * 3600.0
DEFAULT_COARSE_STEP = 300.0
DEFAULT_COARSE_SECONDS = 7 * 86400.0
_FORMAT = 1


@dataclass(frozen=True, slots=True)
class Sample:
    """The figures taken at one moment (Unix time in seconds)."""

    at: float
    values: Mapping[str, float]


class _Bucket:
    __slots__ = ("maxima", "n", "start", "sums")

    def __init__(self, start: float) -> None:
        self.start = start
        self.n: dict[str, int] = {}
        self.sums: dict[str, float] = {}
        self.maxima: dict[str, float] = {}

    def add(self, values: Mapping[str, float]) -> None:
        for name, value in values.items():
            self.n[name] = self.n.get(name, 0) + 1
            self.sums[name] = self.sums.get(name, 0.0) + value
            self.maxima[name] = max(self.maxima.get(name, value), value)

    def sample(self) -> Sample:
        values = {name: self.sums[name] / count for name, count in self.n.items()}
        values.update({f"{name}:max": value for name, value in self.maxima.items()})
        return Sample(self.start, values)


class History:
    """Samples in two bounded tiers (see the module docstring).

    Args:
        interval: The expected time between samples, which sizes the fine ring.
        fine_seconds: How long every sample is kept.
        coarse_step: The width of a coarse bucket.
        coarse_seconds: How long coarse buckets are kept.
    """

    def __init__(
        self,
        *,
        interval: float = 10.0,
        fine_seconds: float = DEFAULT_FINE_SECONDS,
        coarse_step: float = DEFAULT_COARSE_STEP,
        coarse_seconds: float = DEFAULT_COARSE_SECONDS,
    ) -> None:
        if interval <= 0 or coarse_step <= 0:
            raise ValueError("interval and coarse_step must be positive")
        self.interval = interval
        self.fine_seconds = fine_seconds
        self.coarse_step = coarse_step
        self.coarse_seconds = coarse_seconds
        self._fine: deque[Sample] = deque(maxlen=max(1, math.ceil(fine_seconds / interval)))
        self._coarse: deque[Sample] = deque(maxlen=max(1, math.ceil(coarse_seconds / coarse_step)))
        self._bucket: _Bucket | None = None

    def add(self, at: float, values: Mapping[str, float]) -> None:
        """Stores the figures taken at `at`; non-finite values are left out."""
        clean = {k: float(v) for k, v in values.items() if math.isfinite(v)}
        if self._fine and at < self._fine[-1].at:
            return  # a clock step backwards: keep the series ordered
        self._fine.append(Sample(at, clean))
        start = at - at % self.coarse_step
        if self._bucket is not None and self._bucket.start != start:
            self._coarse.append(self._bucket.sample())
            self._bucket = None
        if self._bucket is None:
            self._bucket = _Bucket(start)
        self._bucket.add(clean)

    def __len__(self) -> int:
        return len(self._fine)

    def latest(self) -> Sample | None:
        """The newest sample, if any."""
        return self._fine[-1] if self._fine else None

    def samples(self, since: float, now: float) -> list[Sample]:
        """The samples from `since` on.

        Every sample when the fine tier reaches back that far, else the coarse buckets (the
        current, unfinished one included).
        """
        if now - since <= self.fine_seconds:
            return [s for s in self._fine if s.at >= since]
        coarse = [s for s in self._coarse if s.at >= since - self.coarse_step]
        if self._bucket is not None:
            coarse.append(self._bucket.sample())
        return coarse

    def names(self) -> set[str]:
        """Every figure name in the fine tier."""
        return {name for sample in self._fine for name in sample.values}

    # -- persistence ------------------------------------------------------------------------

    def dump(self, path: Path) -> None:
        """Writes both tiers to `path` as JSON (atomically: a temporary file, then a rename)."""
        coarse = list(self._coarse)
        if self._bucket is not None:
            coarse.append(self._bucket.sample())
        data = {
            "format": _FORMAT,
            "fine": [[s.at, dict(s.values)] for s in self._fine],
            "coarse": [[s.at, dict(s.values)] for s in coarse],
        }
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, separators=(",", ":")))
        temporary.replace(path)

    def load(self, path: Path, *, now: float) -> int:
        """Reads what `dump` wrote, dropping samples older than each tier keeps.

        A missing, unreadable or foreign file is ignored (the history is only a convenience).

        Returns:
            The number of fine samples restored.
        """
        try:
            data: Any = json.loads(path.read_text())
        except (OSError, ValueError):
            return 0
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            return 0
        fine = _samples(data.get("fine"), since=now - self.fine_seconds)
        coarse = _samples(data.get("coarse"), since=now - self.coarse_seconds)
        self._fine.extend(fine)
        self._coarse.extend(coarse)
        return len(fine)


def _samples(raw: Any, *, since: float) -> list[Sample]:
    out = []
    for item in raw if isinstance(raw, list) else ():
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], dict)):
            continue
        at, values = item
        if isinstance(at, int | float) and at >= since:
            clean = {
                str(k): float(v)
                for k, v in values.items()
                if isinstance(v, int | float) and math.isfinite(v)
            }
            out.append(Sample(float(at), clean))
    out.sort(key=lambda s: s.at)
    return out
