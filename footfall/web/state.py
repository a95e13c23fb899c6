"""What the web layer keeps between requests."""

from __future__ import annotations

from dataclasses import dataclass

from footfall.service import Services
from footfall.settings import Settings
from footfall.stats.engine import StatsEngine
from footfall.storage.writer import GroupCommitWriter
from footfall.web.metrics import Metrics
from footfall.web.ratelimit import RateLimits
from footfall.web.signing import Signer


@dataclass
class AppState:
    """Built in the lifespan: services, writer, stats engine, rate limits, signer, metrics."""

    settings: Settings
    services: Services
    writer: GroupCommitWriter
    stats: StatsEngine
    rate_limits: RateLimits
    signer: Signer
    metrics: Metrics
