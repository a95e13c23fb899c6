"""What a load test measured: latency samples, errors, server figures, the report and budgets.

Latency percentiles are exact, from every sample (nearest-rank: the smallest sample with at
least p % of the samples at or below it), so p50 <= p95 <= p99 <= max always holds.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from footfall.devtools.loadtest.mix import EVENT

PERCENTILES = (50, 95, 99)
# The metric names /metrics exposes (footfall.monitoring.metrics; prometheus_client adds _total).
CACHE_HITS = "footfall_query_cache_hits_total"
CACHE_MISSES = "footfall_query_cache_misses_total"
RSS = "process_resident_memory_bytes"
MIB = 1024 * 1024


def percentile(ordered: Sequence[float], p: float) -> float:
    """The nearest-rank `p`-th percentile of `ordered` (sorted ascending, not empty).

    Args:
        ordered: The samples, sorted.
        p: The percentile, 0 to 100; 100 is the maximum.

    Raises:
        ValueError: `ordered` is empty or `p` is out of range.
    """
    if not ordered:
        raise ValueError("no samples")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} is not between 0 and 100")
    # Fraction: 0.29 * 100 in floats is 28.999..., which would pick the wrong rank.
    rank = math.ceil(Fraction(str(p)) * len(ordered) / 100)
    return ordered[max(rank, 1) - 1]


def latency_summary(samples: Iterable[float]) -> dict[str, float] | None:
    """p50, p95, p99, max and mean of latencies in seconds, in milliseconds (None if none)."""
    ordered = sorted(samples)
    if not ordered:
        return None
    out = {f"p{p}": round(percentile(ordered, p) * 1000, 3) for p in PERCENTILES}
    out["max"] = round(ordered[-1] * 1000, 3)
    out["mean"] = round(sum(ordered) / len(ordered) * 1000, 3)
    return out


@dataclass
class Series:
    """The outcomes of one group of requests (an endpoint or a query kind)."""

    # Seconds, 8 bytes a sample: an hour at a few thousand requests/s stays in tens of MB.
    latencies: array[float] = field(default_factory=lambda: array("d"))
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        """Requests answered or failed."""
        return len(self.latencies)

    def summary(self, elapsed: float) -> dict[str, Any]:
        """The group's figures for the report."""
        return {
            "requests": self.requests,
            "errors": sum(self.errors.values()),
            "errors_by_status": dict(sorted(self.errors.items())),
            "throughput_rps": round(self.requests / elapsed, 3) if elapsed > 0 else 0.0,
            "latency_ms": latency_summary(self.latencies),
        }


class Recorder:
    """Collects every request's latency and outcome, by endpoint and by query kind.

    `error` is None for an expected answer, else the status code as text, ``timeout`` or
    ``connection``. Failed requests count in the latency figures too (a timeout took that
    long for the user who waited).
    """

    def __init__(self, *, window: float = 5.0) -> None:
        self.endpoints: dict[str, Series] = {}
        self.kinds: dict[str, Series] = {}
        self.total = 0
        self.failed = 0
        self.window = window
        self._recent: deque[tuple[float, float]] = deque()

    def record(
        self, endpoint: str, kind: str, seconds: float, error: str | None, *, at: float
    ) -> None:
        """Records one request that ended at monotonic time `at`."""
        for groups, name in ((self.endpoints, endpoint), (self.kinds, kind)):
            series = groups.get(name)
            if series is None:
                series = groups[name] = Series()
            series.latencies.append(seconds)
            if error is not None:
                series.errors[error] += 1
        self.total += 1
        if error is not None:
            self.failed += 1
        self._recent.append((at, seconds))
        self._forget(at)

    def _forget(self, now: float) -> None:
        while self._recent and self._recent[0][0] < now - self.window:
            self._recent.popleft()

    def recent(self, now: float) -> list[float]:
        """Latencies of the requests that ended in the last `window` seconds."""
        self._forget(now)
        return [seconds for _, seconds in self._recent]

    def overall(self, *, stats_api: bool | None = None) -> Series:
        """Every request merged; only the Stats API's (True) or ingest's (False) if asked."""
        merged = Series()
        for endpoint, series in self.endpoints.items():
            if stats_api is not None and (endpoint != EVENT) != stats_api:
                continue
            merged.latencies.extend(series.latencies)
            merged.errors.update(series.errors)
        return merged


# -- /metrics ------------------------------------------------------------------------------


def parse_metrics(text: str, names: Iterable[str]) -> dict[str, float]:
    """The values of unlabelled samples `names` in a Prometheus text exposition.

    Samples with labels are summed under their name; names absent from `text` are absent
    from the result.
    """
    wanted = set(names)
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_end = min((i for i in (line.find("{"), line.find(" ")) if i >= 0), default=-1)
        if name_end < 0 or line[:name_end] not in wanted:
            continue
        # The value follows the (possibly labelled) name; an optional timestamp may follow it.
        rest = line[line.rfind("}") + 1 :] if line[name_end] == "{" else line[name_end:]
        try:
            value = float(rest.split()[0])
        except (IndexError, ValueError):
            continue
        out[line[:name_end]] = out.get(line[:name_end], 0.0) + value
    return out


@dataclass
class ServerFigures:
    """What the server's ``/metrics`` said before, during and after the run."""

    before: dict[str, float] | None = None
    after: dict[str, float] | None = None
    rss_peak: float | None = None
    error: str | None = None

    def observe_rss(self, sample: Mapping[str, float]) -> None:
        """Keeps the highest RSS seen."""
        rss = sample.get(RSS)
        if rss is not None and (self.rss_peak is None or rss > self.rss_peak):
            self.rss_peak = rss

    def summary(self) -> dict[str, Any]:
        """Cache hits, misses and hit rate over the run, and RSS; None where unknown."""
        out: dict[str, Any] = {
            "metrics_available": self.before is not None and self.after is not None,
            "metrics_error": self.error,
            "cache_hits": None,
            "cache_misses": None,
            "cache_hit_rate": None,
            "rss_start_bytes": None,
            "rss_end_bytes": None,
            "rss_peak_bytes": None,
        }
        if self.before is None or self.after is None:
            return out
        if CACHE_HITS in self.after and CACHE_MISSES in self.after:
            hits = int(self.after[CACHE_HITS] - self.before.get(CACHE_HITS, 0))
            misses = int(self.after[CACHE_MISSES] - self.before.get(CACHE_MISSES, 0))
            out["cache_hits"], out["cache_misses"] = hits, misses
            if hits + misses > 0:
                out["cache_hit_rate"] = round(hits / (hits + misses), 4)
        for key, sample in (("rss_start_bytes", self.before), ("rss_end_bytes", self.after)):
            if RSS in sample:
                out[key] = int(sample[RSS])
        if self.rss_peak is not None:
            out["rss_peak_bytes"] = int(self.rss_peak)
        return out


# -- the report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Budgets:
    """Limits that fail the run: overall p95 in milliseconds, and the number of errors."""

    p95_max_ms: float | None = None
    max_errors: int | None = None


def evaluate_budgets(recorder: Recorder, budgets: Budgets) -> list[dict[str, Any]]:
    """Each budget set, with the measured value and whether it held.

    The p95 budget applies to all Stats API requests together (ingest requests are background
    traffic and excluded, unless they are all the run sent); the error budget to every request.
    """
    out: list[dict[str, Any]] = []
    if budgets.p95_max_ms is not None:
        scope, series = "stats_api", recorder.overall(stats_api=True)
        if series.requests == 0:
            scope, series = "ingest", recorder.overall(stats_api=False)
        summary = latency_summary(series.latencies)
        value = summary["p95"] if summary else None
        out.append(
            {
                "name": "p95_ms",
                "scope": scope,
                "limit": budgets.p95_max_ms,
                "value": value,
                "passed": value is not None and value <= budgets.p95_max_ms,
            }
        )
    if budgets.max_errors is not None:
        out.append(
            {
                "name": "errors",
                "scope": "all",
                "limit": budgets.max_errors,
                "value": recorder.failed,
                "passed": recorder.failed <= budgets.max_errors,
            }
        )
    return out


def build_report(
    *,
    config: Mapping[str, Any],
    stopped_by: str,
    recorder: Recorder,
    server: ServerFigures,
    elapsed: float,
    budgets: Budgets,
) -> dict[str, Any]:
    """The run's report as one JSON-ready object (its fields are in docs/operations.md)."""
    checked = evaluate_budgets(recorder, budgets)
    return {
        "config": dict(config),
        "elapsed_s": round(elapsed, 3),
        "stopped_by": stopped_by,
        "endpoints": {
            name: recorder.endpoints[name].summary(elapsed) for name in sorted(recorder.endpoints)
        },
        "queries": {name: recorder.kinds[name].summary(elapsed) for name in sorted(recorder.kinds)},
        "stats_api": recorder.overall(stats_api=True).summary(elapsed),
        "totals": recorder.overall().summary(elapsed),
        "server": server.summary(),
        "budgets": checked,
        "passed": all(b["passed"] for b in checked),
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _errors(by_status: Mapping[str, int]) -> str:
    return ", ".join(f"{status}: {count}" for status, count in by_status.items()) or "none"


def _row(name: str, figures: Mapping[str, Any]) -> list[str]:
    latency = figures["latency_ms"] or {}
    return [
        name,
        str(figures["requests"]),
        f"{figures['throughput_rps']:.1f}",
        *(_ms(latency.get(k)) for k in ("p50", "p95", "p99", "max")),
        str(figures["errors"]),
    ]


def budget_line(budget: Mapping[str, Any]) -> str:
    """One budget as text, e.g. ``p95 of Stats API requests 12.0 ms <= 100.0 ms: PASS``."""
    verdict = "PASS" if budget["passed"] else "FAIL"
    if budget["name"] == "p95_ms":
        scope = "Stats API" if budget["scope"] == "stats_api" else "ingest"
        return (
            f"p95 of {scope} requests {_ms(budget['value'])} ms <= {budget['limit']} ms: {verdict}"
        )
    return f"errors {budget['value']} <= {budget['limit']}: {verdict}"


def format_table(report: Mapping[str, Any]) -> str:
    """The report as a readable table: one row per endpoint, totals, server, budgets."""
    config = report["config"]
    header = ["endpoint", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"]
    rows = [_row(name, figures) for name, figures in report["endpoints"].items()]
    rows.append(_row("total", report["totals"]))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    stopped = "" if report["stopped_by"] == "duration" else f" (stopped by {report['stopped_by']})"
    out = [
        f"footfall loadtest: {config['url']} site {config['site']}, {config['users']} users, "
        f"think {config['think_ms']:g} ms, ingest {config['ingest_rate']:g}/s, "
        f"{report['elapsed_s']:.1f} s{stopped}",
        "",
        line(header),
        *(line(row) for row in rows[:-1]),
        line(["-" * w for w in widths]),
        line(rows[-1]),
        "",
        f"errors by status: {_errors(report['totals']['errors_by_status'])}",
    ]
    server = report["server"]
    if not server["metrics_available"]:
        out.append(f"server metrics: unavailable ({server['metrics_error']})")
    else:
        rate = server["cache_hit_rate"]
        hits = f"{server['cache_hits']} hits, {server['cache_misses']} misses"
        shown = "-" if rate is None else f"{rate * 100:.1f} %"
        out.append(f"query cache hit rate: {shown} ({hits})")
        end, peak = server["rss_end_bytes"], server["rss_peak_bytes"]
        if end is not None:
            out.append(f"server RSS: {end / MIB:.1f} MiB at the end, peak {peak / MIB:.1f} MiB")
    for budget in report["budgets"]:
        out.append("budget: " + budget_line(budget))
    return "\n".join(out)


def progress_line(
    *, elapsed: float, total: float, requests: int, rate: float, errors: int, p95: float | None
) -> str:
    """One line of live progress (p95 over the last few seconds, in milliseconds)."""
    shown = "-" if p95 is None else f"{p95:.1f} ms"
    return (
        f"{elapsed:5.1f}/{total:g} s  {requests} requests  {rate:.1f} req/s  "
        f"{errors} errors  p95 {shown}"
    )
