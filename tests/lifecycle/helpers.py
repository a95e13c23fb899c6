"""Data directories with realistic history, and the Stats API answers two of them must share."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from footfall.clock import FixedClock
from footfall.lifecycle.importing import import_ndjson
from footfall.meta.keys import create_key
from footfall.meta.sites import add_site, get_site
from footfall.services import Services, open_meta
from footfall.settings import Settings, load_settings
from footfall.web.app import create_app
from tests.stats_harness import demo_file

NOW = dt.datetime(2026, 11, 12, 12, 0, tzinfo=dt.UTC)
DOMAIN = "example.com"
# The ten whole days of history before NOW.
FIRST_DAY = "2026-11-02"
LAST_DAY = "2026-11-11"


def data_dir_with_site(path: Path, *, timezone: str = "UTC") -> tuple[Settings, str]:
    """Settings for a new data directory with example.com registered, and a reading key."""
    settings = load_settings({"data_dir": path}, environ={})
    meta = open_meta(settings)
    add_site(meta, domain=DOMAIN, timezone=timezone)
    key = create_key(meta, name="reader", scopes=("stats:read",))[1]
    meta.dispose()
    return settings, key


def import_file(settings: Settings, path: Path) -> int:
    """Imports a file into example.com (through the real import); returns the events stored."""
    services = Services.open(settings, clock=FixedClock(NOW))
    try:
        report = import_ndjson(services, site=get_site(services.meta, DOMAIN), path=path)
    finally:
        services.close()
    assert report.rejected == 0, report.errors[:5]
    return report.stored


def seeded(
    path: Path, tmp: Path, *, events: int = 3000, timezone: str = "UTC"
) -> tuple[Settings, str]:
    """A data directory holding ten days of demo traffic for example.com."""
    settings, key = data_dir_with_site(path, timezone=timezone)
    source = demo_file(
        tmp / f"{path.name}-demo.ndjson", events=events, days=10, end=NOW - dt.timedelta(hours=12)
    )
    import_file(settings, source)
    return settings, key


# Questions whose answers depend only on what an export keeps (not on countries or devices).
QUESTIONS: list[dict[str, Any]] = [
    {
        "metrics": [
            "visitors",
            "visits",
            "pageviews",
            "events",
            "views_per_visit",
            "bounce_rate",
            "visit_duration",
        ]
    },
    {"metrics": ["visitors", "pageviews"], "dimensions": ["time:day"]},
    {"metrics": ["visitors", "pageviews", "bounce_rate"], "dimensions": ["event:page"]},
    {"metrics": ["visitors", "visits", "bounce_rate"], "dimensions": ["visit:source"]},
    {"metrics": ["visitors", "visits"], "dimensions": ["visit:channel"]},
    {"metrics": ["visitors"], "dimensions": ["visit:utm_source"]},
    {"metrics": ["visitors", "visits"], "dimensions": ["visit:entry_page"]},
    {"metrics": ["visitors", "visits"], "dimensions": ["visit:exit_page"]},
    {"metrics": ["visitors", "events"], "dimensions": ["event:name"]},
]


def answers(
    settings: Settings,
    key: str,
    *,
    date_range: Any = (FIRST_DAY, LAST_DAY),
    questions: list[dict[str, Any]] = QUESTIONS,
) -> list[Any]:
    """The Stats API v2 answers to `questions` over `date_range`, from the app in-process."""
    found = []
    with TestClient(create_app(settings, clock=FixedClock(NOW))) as client:
        for question in questions:
            body = {
                "site_id": DOMAIN,
                "date_range": list(date_range) if isinstance(date_range, tuple) else date_range,
                "order_by": [[question["metrics"][0], "desc"]],
                "pagination": {"limit": 1000},
                **question,
            }
            if "dimensions" in question:
                body["order_by"].append([question["dimensions"][0], "asc"])
            response = client.post(
                "/api/v2/query", json=body, headers={"authorization": f"Bearer {key}"}
            )
            assert response.status_code == 200, response.text
            found.append(response.json()["results"])
    return found
