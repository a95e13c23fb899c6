"""An app on a frozen clock with alerting configured to deliver to local receivers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from footfall.alerts.rounds import Alerting
from footfall.meta.keys import create_key
from footfall.meta.sites import add_site
from footfall.services import Services, open_meta
from footfall.settings import Settings, load_settings
from tests.stats_harness import StatsHarness, serve

SECRET = "webhook-signing-secret"


def alert_settings(data_dir: Path, *, smtp_port: int | None = None, **extra: Any) -> Settings:
    """Settings whose alerts sign webhooks and send email to a local server, never on their own."""
    flags: dict[str, Any] = {
        "data_dir": data_dir,
        "alert_webhook_secret": SECRET,
        "alert_interval_s": 3600.0,  # rounds run when the test says
        **extra,
    }
    if smtp_port is not None:
        flags |= {
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_security": "none",
            "smtp_from": "footfall@example.org",
        }
    return load_settings(flags, environ={})


@contextmanager
def alert_harness(
    settings: Settings, *, now: dt.datetime, timezone: str = "UTC"
) -> Iterator[tuple[StatsHarness, Services]]:
    """example.com served in-process on a clock frozen at `now`, and its services."""
    meta = open_meta(settings)
    add_site(meta, domain="example.com", timezone=timezone)
    key = create_key(meta, name="reader", scopes=("stats:read",))[1]
    meta.dispose()
    with serve(settings, key, now=now) as harness:
        yield harness, harness.client.app.state.footfall  # type: ignore[attr-defined]


def alerting_of(services: Services) -> Alerting:
    return services.alerting()
