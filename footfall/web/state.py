"""What the web layer keeps between requests."""

from __future__ import annotations

from dataclasses import dataclass

from footfall.service import Services
from footfall.settings import Settings
from footfall.stats.engine import StatsEngine
from footfall.storage.writer import GroupCommitWriter
from footfall.web.ratelimit import RateLimits


@dataclass
class AppState:
    """Built in the lifespan: the services, the writer, the stats engine and the rate limits."""

    settings: Settings
    services: Services
    writer: GroupCommitWriter
    stats: StatsEngine
    rate_limits: RateLimits
