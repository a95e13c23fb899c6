"""When a footfall process shares its state with others, and what running several needs.

Several workers can answer as one only when everything they remember lives outside them:
events in a ClickHouse server, metadata in PostgreSQL, and live sessions, id counters, the
query cache, rate limits and job leases in Redis. The embedded stores (the DuckDB file, chdb,
SQLite in the data directory) open in one process only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from footfall.errors import ConfigError
from footfall.settings import Settings

# Event-store URL schemes of a ClickHouse server (several processes may write to it).
SERVER_SCHEMES = ("clickhouse", "http", "https")


def shared_event_store(settings: Settings) -> bool:
    """True when the event store is a ClickHouse server rather than a file of this machine."""
    return bool(settings.events_url) and urlsplit(settings.events_url or "").scheme in (
        SERVER_SCHEMES
    )


def shares_state(settings: Settings) -> bool:
    """True when live sessions, id counters and job leases live in Redis.

    That is so when Redis is configured and the events go to a ClickHouse server: then other
    processes, on this machine or others, may be ingesting for the same sites.
    """
    return bool(settings.redis_url) and shared_event_store(settings)


def missing_for_workers(settings: Settings) -> list[str]:
    """What must be configured before several workers can run, one hint per missing store."""
    missing = []
    if not shared_event_store(settings):
        missing.append("FOOTFALL_EVENTS_URL (a ClickHouse server: clickhouse://… or https://…)")
    if not settings.metadata_url.startswith("postgresql"):
        missing.append("FOOTFALL_DATABASE_URL (PostgreSQL: postgresql+psycopg://…)")
    if not settings.redis_url:
        missing.append("FOOTFALL_REDIS_URL (redis://…)")
    return missing


def check_workers(settings: Settings, workers: int) -> None:
    """Refuses more than one worker on stores that open in one process only.

    Raises:
        ConfigError: In one line, naming every setting still needed.
    """
    if workers <= 1:
        return
    missing = missing_for_workers(settings)
    if missing:
        raise ConfigError(
            f"--workers {workers} needs stores every worker shares; the embedded DuckDB, "
            f"chdb and SQLite stores open in one process only: set {', '.join(missing)}"
        )
