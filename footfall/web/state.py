"""What the web layer keeps between requests."""

from __future__ import annotations

from dataclasses import dataclass, field

from footfall.monitoring.gcstats import GcStats
from footfall.monitoring.history import History
from footfall.monitoring.leaks import LeakDetector
from footfall.monitoring.metrics import Metrics
from footfall.monitoring.readiness import WriterWatch
from footfall.monitoring.tracing import MemoryTracer
from footfall.security.ratelimit import RateLimits
from footfall.security.signing import Signer
from footfall.services import Services
from footfall.settings import Settings
from footfall.stats.engine import StatsEngine
from footfall.storage.writer import GroupCommitWriter


@dataclass
class AppState:
    """Built in the lifespan: services, writer, stats engine, rate limits, signer, metrics.

    The last four are self-monitoring: RSS samples for leak detection, the writer's counters
    as the readiness probe last saw them, the allocation snapshots of /api/v1/debug/memory,
    and the sampled figures the ops dashboards draw.
    """

    settings: Settings
    services: Services
    writer: GroupCommitWriter
    stats: StatsEngine
    rate_limits: RateLimits
    signer: Signer
    metrics: Metrics
    leaks: LeakDetector = field(default_factory=LeakDetector)
    writer_watch: WriterWatch = field(default_factory=WriterWatch)
    tracer: MemoryTracer = field(default_factory=MemoryTracer)
    history: History = field(default_factory=History)
    # GC collections and pauses per generation (`collections`, `pause_seconds` lists).
    gc_stats: GcStats = field(default_factory=GcStats)
