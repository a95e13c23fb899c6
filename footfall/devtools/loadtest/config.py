"""A load test's settings, light enough for the command line to import at start-up."""

from __future__ import annotations

import urllib.parse
from dataclasses import asdict, dataclass
from typing import Any

from footfall.errors import FootfallError

MAX_DURATION = 3600.0
# The query mixes: single panel requests drawn by weight (`mix.py`), or whole dashboards for
# varied periods and filters (`dashboards.py`).
MIXES = ("panels", "dashboards")


class LoadTestError(FootfallError):
    """The run could not start: the server is unreachable or refused the key."""


@dataclass(frozen=True)
class LoadConfig:
    """One run's settings (the command's options)."""

    url: str
    key: str
    site: str
    users: int = 10
    duration: float = 30.0
    think_ms: float = 1000.0
    ingest_rate: float = 0.0
    max_requests: int | None = None
    timeout: float = 10.0
    seed: int = 0
    ramp_up: float = 0.0
    metrics_token: str | None = None
    mix: str = "panels"

    def public(self) -> dict[str, Any]:
        """The settings for the report, without the secrets."""
        out = asdict(self)
        del out["key"], out["metrics_token"]
        return out


def check_url(url: str) -> str:
    """`url` without a trailing slash.

    Raises:
        ValueError: `url` is not an http:// or https:// URL with a host.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{url} is not an http:// or https:// URL")
    return url.rstrip("/")
